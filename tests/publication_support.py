"""Helpers of the publication tests: run the CLI, hash everything a run published, re-deliver a month."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from dagster_project.catalog import INVENTORY_TABLES, MONTHLY_TABLES

CLI = [sys.executable, "-m", "dagster_project.cli"]
SEPTEMBER = date(2026, 9, 1)
OCTOBER = date(2026, 10, 1)


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def state(out: Path) -> dict[str, str]:
    """A content hash of everything published under `out`: every public table, every Parquet
    file (by content, not bytes), and the packs (file names, and the content of CSV and Markdown)."""
    hashes: dict[str, str] = {}
    db = out / "finops.duckdb"
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            present = {r[0] for r in con.execute(  # tables and views (per-month tables are views)
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
            for table in (*MONTHLY_TABLES, *INVENTORY_TABLES):
                if table in present:
                    rows = sorted(repr(r) for r in con.execute(f"SELECT * FROM main.{table}").fetchall())  # noqa: S608
                    hashes[f"table:{table}"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    for parquet in sorted((out / "parquet").glob("*/**/*.parquet")):
        rows = sorted(repr(r) for r in duckdb.sql(f"SELECT * FROM read_parquet('{parquet}')").fetchall())  # noqa: S608
        hashes[f"parquet:{parquet.relative_to(out)}"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    for file in sorted((out / "reports").rglob("*")):
        if file.is_file():
            content = file.read_bytes() if file.suffix in (".csv", ".md") else b""
            hashes[f"pack:{file.relative_to(out)}"] = hashlib.sha256(content).hexdigest()
    return hashes


def month_totals(out: Path, month: date) -> Decimal:
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        return con.execute("SELECT coalesce(sum(effective_cost), 0) FROM cost_line_items WHERE billing_month = ?",
                           [month]).fetchall()[0][0]


def newer_run_without_last_row(exports: Path, month: date) -> Decimal:
    """Deliver a newer run of one export for `month` that lacks the last data row of one file;
    returns the effective cost removed."""
    export = sorted(p for p in exports.iterdir() if p.is_dir())[0]
    range_dir = next(export.glob(f"{month:%Y%m%d}-*"))
    runs = sorted(range_dir.iterdir(), key=lambda d: json.loads((d / "manifest.json").read_text())["runInfo"]["submittedTime"])
    newest = runs[-1]
    new_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rerun-{newest.name}"))
    target = range_dir / new_id
    shutil.copytree(newest, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["runInfo"]["runId"] = new_id
    manifest["runInfo"]["submittedTime"] = "2026-11-20T00:00:00.0000000Z"
    blob = manifest["blobs"][0]
    blob["blobName"] = blob["blobName"].replace(newest.name, new_id)
    part = target / blob["blobName"].rsplit("/", 1)[-1]
    lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
    removed = next(csv.DictReader(io.StringIO(lines[0] + lines[-1])))
    part.write_text("".join(lines[:-1]), encoding="utf-8")
    blob["dataRowCount"] -= 1
    blob["byteCount"] = part.stat().st_size
    (target / "manifest.json").write_text(json.dumps(manifest))
    return Decimal(removed["EffectiveCost"])
