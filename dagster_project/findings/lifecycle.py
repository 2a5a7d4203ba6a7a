"""Finding lifecycle across runs in one output folder: first seen, last seen, resolved.

A finding keeps its `first_seen` from the first run that observed it and takes `last_seen` from
the current inventory capture. A finding that was open (or suppressed) in the last known state
and is no longer observed is published once more, in the month being evaluated, as `resolved`
with the `last_seen` of its last observation. Re-running a month with the same inputs gives the
same rows: a finding already resolved in that month stays resolved there.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dagster_project.findings.rules import FINDINGS_SCHEMA


def apply_history(current: pl.DataFrame, history: pl.DataFrame, billing_month: date) -> pl.DataFrame:
    """Merge the current evaluation with the previous state (see the module docstring)."""
    if history.height == 0:
        return current
    # DuckDB hands back its session zone (e.g. Etc/UTC); the findings schema is UTC.
    history = history.with_columns(
        pl.col(c).dt.convert_time_zone("UTC") for c in ("first_seen", "last_seen", "first_seen_ever"))
    first_seen = history.select("finding_id", pl.col("first_seen_ever").alias("_first_seen_ever"))
    merged = current.join(first_seen, on="finding_id", how="left").with_columns(
        pl.min_horizontal("first_seen", "_first_seen_ever").alias("first_seen")
    ).drop("_first_seen_ever")
    gone = history.filter(~pl.col("finding_id").is_in(current["finding_id"].implode()))
    resolved = gone.filter(
        pl.col("status").is_in(["open", "suppressed"])
        | ((pl.col("status") == "resolved") & (pl.col("billing_month") == billing_month))
    ).with_columns(
        pl.lit(billing_month).alias("billing_month"),
        pl.col("first_seen_ever").alias("first_seen"),
        pl.lit("resolved").alias("status"),
        pl.lit(None, dtype=pl.String).alias("suppression_reason"),
    ).select(list(FINDINGS_SCHEMA.names()))
    return pl.concat([merged.select(list(FINDINGS_SCHEMA.names())), resolved.cast(dict(FINDINGS_SCHEMA))])
