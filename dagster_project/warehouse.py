"""The published DuckDB file and its Parquet mirror: one writer at a time, whole months at a time.

Only one process may write a DuckDB file, so every writer takes an exclusive lock file next to it
(`finops.duckdb.lock`); a Dagster backfill running months in parallel processes queues on it.

A month is replaced atomically: its Parquet is written to a temporary folder first, the DuckDB
rows are replaced in one transaction, and only then does the new Parquet folder take the place of
the old one. A failure at any step leaves the previous month as it was.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from dagster_project.sql import load_sql

# Tables this project publishes and owns the DDL of (sql/schema/<table>.sql). Only these names
# are ever formatted into SQL text, and only after this check.
OWNED_TABLES = ("cost_allocation", "aml_resource_usage", "project_spend_monthly", "findings")
MONTHLY_TABLES = ("cost_line_items", "cost_rejects", *OWNED_TABLES)
INVENTORY_TABLES = (
    "inventory_workspaces",
    "inventory_computes",
    "inventory_asset_versions",
    "inventory_endpoints",
    "inventory_deployments",
    "inventory_jobs",
    "inventory_resource_groups",
    "inventory_subscriptions",
)


PARQUET_COMPRESSION = "zstd"


def swap_directory(staging: Path, final: Path) -> Path:
    """Put a fully written folder in place of `final` with renames, so readers never see a half."""
    old = None
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _identifier(name: str) -> str:
    if not name.replace("_", "a").isalnum():
        raise ValueError(f"bad relation name {name!r}")
    return name


def _checked(table: str) -> str:
    if table not in MONTHLY_TABLES and table not in INVENTORY_TABLES:
        raise ValueError(f"not a published table: {table!r}")
    return table


@dataclass(frozen=True)
class Warehouse:
    """Where outputs go: `<out>/finops.duckdb` and `<out>/parquet/<table>/…`."""

    out_dir: Path
    memory_limit: str = "1GB"
    threads: int | None = None

    @property
    def database_path(self) -> Path:
        return self.out_dir / "finops.duckdb"

    @property
    def parquet_root(self) -> Path:
        return self.out_dir / "parquet"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the DuckDB file; writers hold an exclusive lock for its lifetime."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self.database_path.with_suffix(".duckdb.lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH if read_only else fcntl.LOCK_EX)
            try:
                if read_only and not self.database_path.exists():
                    raise FileNotFoundError(f"{self.database_path}: no outputs yet; run the pipeline first")
                config = {"memory_limit": self.memory_limit, "preserve_insertion_order": "false"}
                if self.threads:
                    config["threads"] = str(self.threads)
                temp_dir = self.out_dir / ".duckdb_tmp"
                config["temp_directory"] = str(temp_dir)
                con = duckdb.connect(str(self.database_path), read_only=read_only, config=config)
                try:
                    if not read_only:
                        ensure_schema(con)
                    yield con
                finally:
                    con.close()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- Parquet -------------------------------------------------------------------------------

    def month_parquet_dir(self, table: str, month: date) -> Path:
        return self.parquet_root / _checked(table) / f"billing_month={month.isoformat()}"

    def stage_parquet(self, relation: duckdb.DuckDBPyRelation, table: str, month: date | None) -> Path:
        """Write a relation to a temporary folder beside its final place; `publish_parquet` swaps it in."""
        final = self.month_parquet_dir(table, month) if month else self.parquet_root / _checked(table)
        staging = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True, exist_ok=True)
        # zstd: about 5x smaller than the default snappy on cost rows, and no slower to write.
        relation.write_parquet(str(staging / "data.parquet"), compression=PARQUET_COMPRESSION)
        return staging

    def publish_parquet(self, staging: Path, table: str, month: date | None) -> Path:
        final = self.month_parquet_dir(table, month) if month else self.parquet_root / _checked(table)
        return swap_directory(staging, final)

    def discard_staging(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def publish_month(self, con: duckdb.DuckDBPyConnection, month: date, sources: dict[str, str]) -> dict[str, int]:
        """Replace `month` in each table (key) by the rows of a staged relation (value), all or nothing.

        Parquet is written to staging folders first; the DuckDB rows of every table are replaced in
        one transaction; only after the commit do the new Parquet folders replace the old ones.
        """
        staged: dict[str, Path] = {}
        try:
            for table, relation in sources.items():
                staged[table] = self.stage_parquet(con.sql(f"SELECT * FROM {_identifier(relation)}"), table, month)  # noqa: S608 (identifier from a fixed list)
        except BaseException:
            self._discard(staged)
            raise
        return self._replace_then_swap(
            con, staged, month, lambda: {t: replace_month(con, t, month, r) for t, r in sources.items()})

    def mirror_month(self, con: duckdb.DuckDBPyConnection, month: date, tables: list[str]) -> None:
        """Rewrite the Parquet mirror of `month` for tables already replaced in DuckDB."""
        staged = {table: self.stage_parquet(month_relation(con, table, month), table, month) for table in tables}
        for table, path in staged.items():
            self.publish_parquet(path, table, month)

    def publish_snapshot_tables(self, con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
        """Replace whole snapshot tables (the inventory) from Polars frames, all or nothing."""
        staged: dict[str, Path] = {}
        try:
            for table, frame in frames.items():
                staging = self.parquet_root / f".staging-{_checked(table)}-{uuid.uuid4().hex[:8]}"
                staging.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(staging / "data.parquet", compression=PARQUET_COMPRESSION)
                staged[table] = staging
        except BaseException:
            self._discard(staged)
            raise
        return self._replace_then_swap(
            con, staged, None, lambda: {t: replace_table_from_frame(con, t, f) for t, f in frames.items()})

    def _discard(self, staged: dict[str, Path]) -> None:
        for path in staged.values():
            self.discard_staging(path)

    def _replace_then_swap(self, con: duckdb.DuckDBPyConnection, staged: dict[str, Path], month: date | None,
                           replace: Callable[[], dict[str, int]]) -> dict[str, int]:
        """Run `replace` in one transaction; on commit swap the staged Parquet in, else discard it."""
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                counts = replace()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except BaseException:
            self._discard(staged)
            raise
        for table, path in staged.items():
            self.publish_parquet(path, table, month)
        return counts


VIEWS = ("owner_spend_monthly", "cost_center_spend_monthly")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables and views this project owns when missing (ingestion creates the cost tables)."""
    for table in OWNED_TABLES:
        con.execute(load_sql(f"schema/{table}"))
    for view in VIEWS:
        con.execute(load_sql(f"schema/{view}"))


def replace_month(con: duckdb.DuckDBPyConnection, table: str, month: date, relation_name: str) -> int:
    """Replace `table`'s rows of `month` by those of a relation/view, inside the caller's transaction."""
    table = _checked(table)
    relation_name = _identifier(relation_name)
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    column_list = ", ".join(f'"{c}"' for c in columns)
    con.execute(f"DELETE FROM {table} WHERE billing_month = $month", {"month": month})  # noqa: S608 (identifier from a fixed list)
    con.execute(f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {relation_name}")  # noqa: S608 (identifier from a fixed list)
    return con.execute(f"SELECT count(*) FROM {table} WHERE billing_month = $month", {"month": month}).fetchall()[0][0]  # noqa: S608 (identifier from a fixed list)


def replace_table_from_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Replace a snapshot table (inventory) with a Polars frame, keeping the frame's schema."""
    table = _checked(table)
    view = f"_frame_{uuid.uuid4().hex[:8]}"
    con.register(view, frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {view}")  # noqa: S608 (identifier from a fixed list)
    finally:
        con.unregister(view)
    return frame.height


def stage_frame(con: duckdb.DuckDBPyConnection, relation_name: str, frame: pl.DataFrame) -> None:
    """Copy a Polars frame into a temporary table, ready for `Warehouse.publish_month`."""
    relation_name = _identifier(relation_name)
    view = f"_frame_{uuid.uuid4().hex[:8]}"
    con.register(view, frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {relation_name} AS SELECT * FROM {view}")  # noqa: S608 (identifier from a fixed list)
    finally:
        con.unregister(view)


def month_relation(con: duckdb.DuckDBPyConnection, table: str, month: date) -> duckdb.DuckDBPyRelation:
    return con.sql(f"SELECT * FROM {_checked(table)} WHERE billing_month = $month", params={"month": month})  # noqa: S608 (identifier from a fixed list)
