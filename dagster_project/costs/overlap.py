"""Overlapping exports: two export definitions delivering the same spend must never be summed.

Cost Management lets several exports cover one scope: a FOCUS and an ActualCost export of the
same subscription, a manual one-off beside the scheduled one, a re-run delivered under a new
export name, a billing-account export beside a subscription export. Each wins its own export ×
month, so loading all of them counts the same charges twice. The data says so: files of two
different exports hold rows of the same sub account (subscription) on the same charge day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from dagster_project.costs.discovery import ExportRun
from dagster_project.sql import load_sql


@dataclass(frozen=True)
class Overlap:
    """Two (or more) exports that both deliver one sub account's spend on some days."""

    exports: tuple[str, ...]
    sub_account_id: str
    first_day: date
    last_day: date
    days: int

    def message(self) -> str:
        scope = f"sub account {self.sub_account_id}" if self.sub_account_id else "rows without a sub account"
        span = f"{self.first_day}" if self.days == 1 else f"{self.days} days, {self.first_day} to {self.last_day}"
        names = " and ".join(self.exports)
        return (f"exports {names} both deliver {scope} ({span}): they would be counted twice; "
                f"keep one with exports.exclude in finops.yaml")


def overlapping_exports(con: duckdb.DuckDBPyConnection, month: date, runs: list[ExportRun]) -> list[Overlap]:
    """The overlaps in staged `month`, from the files of `runs` (their export of origin)."""
    export_of = {blob.relative: run.export_key or run.export_name for run in runs for blob in run.blobs}
    name_of = {run.export_key or run.export_name: run.export_name for run in runs}
    if len(name_of) < 2:
        return []
    names = list(name_of.values())
    # Two folders can hold exports of one name (a copied or re-delivered export): name the folder.
    name_of = {key: (name if names.count(name) == 1 else f"{name} (folder {key})") for key, name in name_of.items()}
    coverage = con.sql(load_sql("staging/cost_line_items_coverage"), params={"billing_month": month}).pl()
    if coverage.height == 0:
        return []
    files = pl.DataFrame({"source_file": list(export_of), "export": list(export_of.values())},
                         schema={"source_file": pl.String, "export": pl.String})
    per_day = (coverage.join(files, on="source_file", how="left")
               .with_columns(pl.col("export").fill_null(pl.col("source_file")))
               .group_by("sub_account_id", "charge_day")
               .agg(pl.col("export").unique().sort().alias("exports"))
               .filter(pl.col("exports").list.len() > 1))
    if per_day.height == 0:
        return []
    grouped = (per_day.with_columns(pl.col("exports").list.join("\u0000").alias("key"))
               .group_by("key", "sub_account_id")
               .agg(pl.col("charge_day").min().alias("first"), pl.col("charge_day").max().alias("last"),
                    pl.len().alias("days"))
               .sort("sub_account_id", "key"))
    return [Overlap(tuple(name_of.get(e, e) for e in row["key"].split("\u0000")), row["sub_account_id"],
                    row["first"], row["last"], row["days"]) for row in grouped.iter_rows(named=True)]
