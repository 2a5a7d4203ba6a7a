"""Gather what the finding rules read from the warehouse, and run them for one month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from dagster_project.attribution.allocate import inventory_index
from dagster_project.attribution.resolve import Resolver
from dagster_project.budgets.evaluate import EVENT_RULES, month_events
from dagster_project.config import FinopsConfig
from dagster_project.findings.governance import governance_findings
from dagster_project.findings.lifecycle import apply_history
from dagster_project.findings.rules import (
    FINDINGS_SCHEMA,
    FindingInputs,
    apply_suppressions,
    evaluate_findings,
)
from dagster_project.findings.rules.cluster_idle import drop_explained_idle
from dagster_project.inventory.history import (
    failed_workspaces,
    hiding_failures,
    month_inventory,
    stamp_findings,
)
from dagster_project.sql import load_sql
from dagster_project.warehouse import month_relation


def main_currency(allocation: pl.DataFrame, default: str = "USD") -> str:
    """The month's currency with the most spend: savings are stated in it."""
    if allocation.height == 0:
        return default
    per_currency = allocation.group_by("billing_currency").agg(pl.col("effective_cost").abs().sum().alias("spend"))
    return per_currency.sort(["spend", "billing_currency"], descending=[True, False])["billing_currency"][0]


@dataclass(frozen=True)
class MonthFindings:
    findings: pl.DataFrame  # cleanup findings, then budget and anomaly findings
    budget_status: pl.DataFrame


def month_findings(con: duckdb.DuckDBPyConnection, month: date, config: FinopsConfig,
                   store: Path | None = None) -> MonthFindings:
    """The month's findings, judged against the capture of `store` that `inventory.history`
    selects for it (the staged inventory when no store is given), with their history; and the
    month's budget status with its budget and anomaly events."""
    chosen = month_inventory(con, month, store)
    frames = {name.removeprefix("inventory_"): frame for name, frame in chosen.frames.items()}
    allocation = month_relation(con, "cost_allocation", month).pl()
    usage = month_relation(con, "aml_resource_usage", month).pl()
    # The same lookups as attribution (resource group and subscription levels included), so a
    # finding names the project and owner its cost was allocated to.
    index = inventory_index(con, frames=dict(chosen.frames))
    inputs = FindingInputs(
        billing_month=month,
        captured_at=chosen.selection.captured_at,
        currency=main_currency(allocation),
        # workspaces, computes, asset_versions, endpoints, deployments, jobs (not the tag-level tables)
        **{name: frames[name] for name in ("workspaces", "computes", "asset_versions", "endpoints", "deployments",
                                           "jobs")},
        resource_usage=usage,
        allocation=allocation,
    )
    resolver = Resolver(config, index)
    governance = apply_suppressions(governance_findings(config, resolver, inputs), config,
                                    inputs.captured_at.date())
    current = pl.concat([evaluate_findings(config, resolver, inputs), governance.cast(dict(FINDINGS_SCHEMA))])
    current = stamp_findings(current, chosen.selection)
    history = con.sql(load_sql("intermediate/finding_history")).pl()
    # Budget and anomaly findings are events of their month, outside the open → resolved lifecycle;
    # a re-evaluated event keeps the first time it was seen.
    is_event = pl.col("rule_id").is_in(list(EVENT_RULES))
    events_history = history.filter(is_event)
    cleanup = drop_explained_idle(apply_history(current, history.filter(~is_event), month,
                                                chosen.selection.captured_at,
                                                failed_workspaces(hiding_failures(chosen.failures)),
                                                chosen.selection.note()))
    events = month_events(con, month, config, inputs.captured_at,
                          {r["workspace_id"]: r["workspace_name"] for r in frames["workspaces"].iter_rows(named=True)})
    event_findings = apply_suppressions(events.findings, config, inputs.captured_at.date())
    if events_history.height and event_findings.height:
        seen = events_history.group_by("finding_id").agg(
            pl.col("first_seen").min().dt.convert_time_zone("UTC").alias("_ever"))
        event_findings = event_findings.join(seen, on="finding_id", how="left").with_columns(
            pl.min_horizontal("first_seen", "_ever").alias("first_seen")).drop("_ever")
    return MonthFindings(pl.concat([cleanup, event_findings.select(cleanup.columns).cast(dict(cleanup.schema))]),
                         events.budget_status)
