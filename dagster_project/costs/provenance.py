"""The `export_runs` rows of a month: which runs were loaded, superseded or skipped, and why."""

from __future__ import annotations

from datetime import date

import polars as pl

from dagster_project.costs.discovery import Discovery, ExportRun
from dagster_project.costs.load import LoadResult

EXPORT_RUNS_SCHEMA = {
    "billing_month": pl.Date, "export_name": pl.String, "export_folder": pl.String, "run_id": pl.String,
    "submitted_time": pl.Datetime("us"), "export_type": pl.String, "data_version": pl.String,
    "manifest": pl.String, "status": pl.String, "files": pl.Int32, "line_items": pl.Int64,
    "rejected_rows": pl.Int64, "note": pl.String,
}


def _row(month: date, run: ExportRun, status: str, result: LoadResult | None, note: str | None) -> dict:
    files = {b.relative for b in run.blobs}
    loads = [b for b in result.blobs if b.source_file in files] if result else []
    submitted = run.submitted_time.replace(tzinfo=None) if run.submitted_time else None
    return {
        "billing_month": month, "export_name": run.export_name, "export_folder": run.export_key or None,
        "run_id": run.run_id, "submitted_time": submitted, "export_type": run.export_type,
        "data_version": run.data_version, "manifest": run.manifest_relative, "status": status,
        "files": len(run.blobs),
        "line_items": sum(b.rows_loaded for b in loads) if result else None,
        "rejected_rows": sum(b.rows_rejected for b in loads) if result else None, "note": note,
    }


def export_runs_frame(month: date, found: Discovery, loaded: list[ExportRun], result: LoadResult) -> pl.DataFrame:
    rows = [_row(month, run, "loaded", result, None) for run in loaded]
    rows += [_row(month, run, "superseded", None, "a newer complete run of this export counts")
             for run in found.superseded if run.month == month]
    rows += [{"billing_month": month, "export_name": s.export_name, "export_folder": None, "run_id": None,
              "submitted_time": None, "export_type": None, "data_version": None, "manifest": s.where,
              "status": "skipped", "files": 0, "line_items": None, "rejected_rows": None, "note": s.reason}
             for s in found.skipped if s.month == month]
    return pl.DataFrame(rows, schema=EXPORT_RUNS_SCHEMA)
