"""A content hash of the demo's published output, to prove that a refactor leaves it unchanged.

Used by `tests/test_demo_hashes.py` (compare) and `scripts/record_demo_hashes.py` (re-record).

What is hashed, per public DuckDB table (schema `main`) and per Parquet file under `parquet/`:
- `schema:<name>`: the column names and types, in order;
- `rows:<name>`: the rows, each rendered canonically (`repr` of the tuple), sorted, so that the
  hash does not depend on row order.

What is excluded or normalised, and why:
- the output folder's absolute path: `source_file`, `export_folder` and `manifest` name files under
  the temporary demo folder, which differs on every run; every occurrence of that folder is
  replaced by `<out>` before hashing (the rest of the path is kept and hashed);
- the `staging` schema (internal: empty after every publication) and the publication journal;
- the `month_tables` schema as such: its months are hashed through their public view;
- nothing else: the demo is deterministic for a seed (timestamps such as `captured_at`,
  `first_seen` and `last_seen` come from the generated snapshot, not from the clock).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from dagster_project.month_tables import PER_MONTH_TABLES

DEMO_SEED = 42
DEMO_MONTHS = 3


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _relation_hashes(con, relation: str, key: str, out: Path) -> dict[str, str]:
    root = str(out)
    columns = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()  # noqa: S608 (relation from the catalog/filesystem)
    schema = [f"{c[0]} {c[1]}" for c in columns]
    rows = sorted(repr(row).replace(root, "<out>") for row in con.execute(f"SELECT * FROM {relation}").fetchall())  # noqa: S608
    return {f"schema:{key}": _digest(schema), f"rows:{key}": _digest(rows), f"count:{key}": str(len(rows))}


def demo_hashes(out: Path) -> dict[str, str]:
    """{entry: hash} over every public table of `out/finops.duckdb` and every Parquet file."""
    out = Path(out)
    hashes: dict[str, str] = {}
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        # The per-month tables (cost_line_items) are public under their view's name.
        tables = sorted([r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()] + list(PER_MONTH_TABLES))
        for table in tables:
            hashes.update(_relation_hashes(con, f'main."{table}"', f"table/{table}", out))
    with duckdb.connect() as con:
        for parquet in sorted((out / "parquet").rglob("*.parquet")):
            relative = parquet.relative_to(out).as_posix()
            relation = f"read_parquet('{parquet.as_posix()}', hive_partitioning = false)"
            hashes.update(_relation_hashes(con, relation, relative, out))
    return dict(sorted(hashes.items()))


def run_demo(root: Path) -> Path:
    """The demo as `aml-finops demo` runs it (default seed and months), into `root`; returns the output folder."""
    from dagster_project.demo.generate import generate_demo
    from dagster_project.runner import run_pipeline

    paths = generate_demo(root / "demo-tenant", seed=DEMO_SEED, months=DEMO_MONTHS)
    out = root / "out"
    run_pipeline(paths.exports, paths.inventory, out)
    return out
