"""Where a month's numbers come from: the export runs loaded, the inventory snapshot, when the pack
was generated and by which version — the "Sources" sheet of the workbook and the provenance block
of the report.

Export runs come from the warehouse's `export_runs` table (the run loaded per export, the runs it
superseded, the ones skipped) when it has rows for the month; otherwise from the files the line
items were loaded from (`cost_line_items.source_file`, one run folder per export run in Azure's
layout). The generation time is the wall clock in UTC, or `SOURCE_DATE_EPOCH` when set (for
byte-identical rebuilds).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from dagster_project import __version__
from dagster_project.sql import Relations, load_sql, relations

# The version of the public tables' contract is the one docs/tables.md states on its first line
# (read from the source tree); an installed wheel, which has no docs, falls back to this one.
CONTRACT_VERSION = "1.5"
_TABLES_DOC = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def contract_version() -> str:
    """`1.3` from `# Public tables (output contract, version 1.3)`, else `CONTRACT_VERSION`."""
    try:
        first = _TABLES_DOC.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return CONTRACT_VERSION
    found = re.search(r"version (\d+(?:\.\d+)+)", first)
    return found.group(1) if found else CONTRACT_VERSION
EXPORT_RUN_COLUMNS = ("billing_month", "export_name", "run_id", "submitted_time", "manifest", "status", "files",
                      "line_items", "note")
RUN_COLUMNS = {"billing_month": pl.Date, "export_name": pl.String, "status": pl.String, "run_id": pl.String,
               "submitted_time": pl.Datetime("us"), "manifest": pl.String, "files": pl.Int64,
               "line_items": pl.Int64, "note": pl.String}
LOADED = "loaded"


def _empty_runs() -> pl.DataFrame:
    return pl.DataFrame(schema=RUN_COLUMNS)


@dataclass(frozen=True)
class Provenance:
    """The sources of one month's pack."""

    runs: pl.DataFrame = field(default_factory=_empty_runs)  # one row per export run loaded
    runs_from: str = "none"  # "export_runs" (the table) | "source files" | "none"
    snapshot_captured_at: datetime | None = None
    snapshot_first_captured_at: datetime | None = None
    subscriptions: int = 0
    workspaces: int = 0
    computes: int = 0
    endpoints: int = 0
    generated_at: datetime = field(default_factory=lambda: generated_at())
    tool_version: str = __version__
    contract_version: str = field(default_factory=lambda: contract_version())

    def items(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a key–value block, in reading order."""
        snapshot = "no inventory snapshot in the warehouse"
        if self.snapshot_captured_at is not None:
            snapshot = _when(self.snapshot_captured_at)
            if self.snapshot_first_captured_at not in (None, self.snapshot_captured_at):
                snapshot = f"{_when(self.snapshot_first_captured_at)} to {snapshot}"
        loaded = self.runs.filter(pl.col("status") == LOADED)
        runs, others = loaded.height, self.runs.height - loaded.height
        files = int(loaded["files"].sum() or 0) if runs else 0
        items = int(loaded["line_items"].sum() or 0) if runs else 0
        source = {"export_runs": "table export_runs", "source files": "cost_line_items.source_file"}.get(
            self.runs_from, "nothing loaded")
        not_counted = f"; {others} other run{'s' if others != 1 else ''} superseded or skipped" if others else ""
        return [
            ("Export runs loaded", f"{runs} run{'s' if runs != 1 else ''}, {files} file{'s' if files != 1 else ''}, "
                                   f"{items:,} line items{not_counted} (from {source})"),
            ("Inventory snapshot captured", snapshot),
            ("Inventory", f"{self.subscriptions} subscriptions, {self.workspaces} workspaces, {self.computes} computes, "
                          f"{self.endpoints} online endpoints"),
            ("Generated at", _when(self.generated_at)),
            ("Tool", f"aml-finops {self.tool_version}"),
            ("Contract version", f"{self.contract_version} (docs/tables.md)"),
        ]


def _when(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def generated_at() -> datetime:
    """Now in UTC to the second, or `SOURCE_DATE_EPOCH` when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def read_export_runs(con: duckdb.DuckDBPyConnection, month: date,
                     present: Relations | None = None) -> tuple[pl.DataFrame, str]:
    """The month's export runs and where they were read from (`present`: the connection's
    `relations`, when the caller has read them)."""
    params = {"billing_month": month}
    present = present or relations(con)
    frame, origin = _empty_runs(), "none"
    if set(EXPORT_RUN_COLUMNS) <= present.columns_of("export_runs"):
        frame, origin = con.sql(load_sql("reports/finance_export_runs"), params=params).pl(), "export_runs"
    if frame.height == 0 and "source_file" in present.columns_of("cost_line_items"):
        frame, origin = con.sql(load_sql("reports/finance_source_files"), params=params).pl(), "source files"
    frame = frame.select([pl.col(c).cast(t) for c, t in RUN_COLUMNS.items()])
    return frame, origin if frame.height else "none"


def read_provenance(con: duckdb.DuckDBPyConnection, month: date, present: Relations | None = None) -> Provenance:
    present = present or relations(con)
    runs, origin = read_export_runs(con, month, present)
    snapshot = {}
    if all(present.columns_of(t) for t in ("inventory_workspaces", "inventory_computes", "inventory_endpoints")):
        snapshot = con.sql(load_sql("reports/finance_snapshot")).pl().row(0, named=True)
    return Provenance(
        runs=runs, runs_from=origin,
        snapshot_captured_at=snapshot.get("captured_at"),
        snapshot_first_captured_at=snapshot.get("first_captured_at"),
        subscriptions=snapshot.get("subscriptions") or 0, workspaces=snapshot.get("workspaces") or 0,
        computes=snapshot.get("computes") or 0, endpoints=snapshot.get("endpoints") or 0,
    )
