"""Finding history across captures: first seen, last seen, resolved, carried forward.

Every published finding row records the capture its month was judged against
(`snapshot_captured_at` in its evidence). A month judged against the capture at T is compared
with what **earlier captures** showed (rows of other months judged before T), never with later
ones, so months can be run or re-run in any order:

* `first_seen` is the capture time of the first capture that showed the finding (the earliest
  `first_seen` of any row not later than T, else T);
* a finding whose latest earlier state is open (or suppressed) and that the capture at T no longer
  shows is published in the month as `resolved`, with `resolved_at` = T in its evidence and the
  `last_seen` of its last observation; a later evaluation of the same month (month to date)
  keeps it there as resolved, a later month does not publish it again;
* except when its workspace (or its subscription) failed to list at T: then its absence proves
  nothing, and it is published as it was, still open, with a `carried_forward` note naming the
  failed call; it is never resolved by a failed listing.

Two months judged against the same capture (no capture after the later one yet) compare nothing
with each other: the same capture cannot show a change.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import polars as pl

from dagster_project.azure_ids import ArmId
from dagster_project.findings.model import FINDINGS_SCHEMA
from dagster_project.inventory.history import failure_of, month_end, utc_text

_TIMES = ("first_seen", "last_seen", "judged_at")


def _with_evidence(frame: pl.DataFrame, update) -> pl.DataFrame:
    texts = [json.dumps(update(json.loads(text) if text else {}, row), sort_keys=True, default=str)
             for text, row in zip(frame["evidence"], frame.iter_rows(named=True), strict=True)]
    return frame.with_columns(pl.Series("evidence", texts, dtype=pl.String))


def apply_history(current: pl.DataFrame, history: pl.DataFrame, billing_month: date, captured_at: datetime,
                  failed: dict[tuple[str, str | None], str] | None = None,
                  snapshot_note: str | None = None) -> pl.DataFrame:
    """Merge the month's evaluation (judged at `captured_at`) with the earlier captures' findings.

    `history` holds the published rows with a `judged_at` column
    (sql/intermediate/finding_history.sql); `failed` is `inventory.history.failed_workspaces` of the
    capture (see the module docstring); `snapshot_note` is that capture's note for the month
    (`Selection.note`): a resolved or carried-forward row is stamped with the capture that judged
    it, so its note is that capture's, not the one of its last observation."""
    if history.height == 0:
        return current
    failed = failed or {}
    # DuckDB hands back its session zone (e.g. Etc/UTC); the findings schema is UTC.
    history = history.with_columns(pl.col(c).dt.convert_time_zone("UTC") for c in _TIMES if c in history.columns)
    earliest = history.filter(pl.col("first_seen") <= captured_at).group_by("finding_id").agg(
        pl.col("first_seen").min().alias("_first_seen_ever"))
    merged = current.join(earliest, on="finding_id", how="left").with_columns(
        pl.min_horizontal("first_seen", "_first_seen_ever").alias("first_seen")
    ).drop("_first_seen_ever")
    # A row is two facts: its state when judged, and — when it was last observed earlier (a
    # resolved or carried-forward row) — the state it was observed in then. A re-run at the same
    # capture thus finds the state before it even after its own rows replaced the month's.
    observed = history.filter(pl.col("last_seen") < pl.col("judged_at")).with_columns(
        pl.when(pl.col("status") == "resolved").then(pl.lit("open")).otherwise(pl.col("status")).alias("status"),
        pl.col("last_seen").alias("judged_at"))
    # At one moment a row judged then outweighs a state inferred from a later row.
    facts = pl.concat([history.with_columns(pl.lit(1).alias("_weight")),
                       observed.select(history.columns).with_columns(pl.lit(0).alias("_weight"))])
    prior = (facts.filter(pl.col("judged_at") < captured_at)
             .sort(["judged_at", "_weight", "billing_month", "status"])
             .group_by("finding_id", maintain_order=True).last())
    absent = prior.filter(~pl.col("finding_id").is_in(current["finding_id"].implode()))
    # Resolved by an earlier evaluation of this same month (month to date): it stays resolved there.
    kept = absent.filter((pl.col("status") == "resolved") & (pl.col("billing_month") == billing_month))
    gone = absent.filter(pl.col("status").is_in(["open", "suppressed"]))
    gone = gone.join(earliest, on="finding_id", how="left").with_columns(
        pl.coalesce("_first_seen_ever", "first_seen").alias("first_seen")).drop("_first_seen_ever")
    reasons = []
    for resource_id in gone["resource_id"]:
        arm = ArmId.parse(resource_id)
        reasons.append(failure_of(failed, arm.subscription, arm.workspace))
    gone = gone.with_columns(pl.Series("_failure", reasons, dtype=pl.String))
    judged = utc_text(captured_at)

    def restamp(evidence: dict, drop: str) -> dict:
        kept = {k: v for k, v in evidence.items() if k not in (drop, "snapshot_note")}
        note = snapshot_note or (f"events after {month_end(billing_month) - timedelta(days=1):%Y-%m-%d} are not cited"
                                 if "not_cited_after_month_end" in evidence else None)
        return {**kept, **({"snapshot_note": note} if note else {}), "snapshot_captured_at": judged}

    def carry(evidence: dict, row: dict) -> dict:
        return {**restamp(evidence, "resolved_at"), "carried_forward": (
            f"the workspace could not be listed in the capture of {judged} ({row['_failure']}); kept as last seen "
            f"{utc_text(row['last_seen'])}, not resolved")}

    def resolve(evidence: dict, row: dict) -> dict:
        return {**restamp(evidence, "carried_forward"), "resolved_at": judged}

    carried = _with_evidence(gone.filter(pl.col("_failure").is_not_null()), carry)
    resolved = _with_evidence(gone.filter(pl.col("_failure").is_null()), resolve).with_columns(
        pl.lit("resolved").alias("status"), pl.lit(None, dtype=pl.String).alias("suppression_reason"))
    columns = list(FINDINGS_SCHEMA.names())
    extra = [frame.with_columns(pl.lit(billing_month).alias("billing_month")).select(columns).cast(dict(FINDINGS_SCHEMA))
             for frame in (carried, resolved, kept)]
    return pl.concat([merged.select(columns), *extra])
