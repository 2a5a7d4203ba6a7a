"""The `cluster_idle_share` rule: a compute cluster whose idle line (job-level showback) is a larger
share of its month than `findings.cluster_idle_share_max_pct`.

One cause, one finding: a cluster that keeps warm nodes or scales down slowly already has the
finding that names that fix and claims those idle hours as its savings, so this rule speaks only
for idle that no configuration finding explains (node setup, many short jobs, a scale-down tail
below the slow-scale-down threshold). That holds over the month, not only at one capture: a
cluster whose warm nodes were scaled down during the month still has their idle hours in the
month's idle line, and the month's `cluster_warm_nodes` finding (resolved by that change) already
claims them, so `drop_explained_idle` removes the idle-share finding of any cluster with a
configuration finding in the month, open or resolved (docs/findings.md). Its savings are the idle node-hours at the observed
on-demand rate (reserved hours are freed, not cash), never more than the idle line's cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import polars as pl

from dagster_project.attribution.methods import AllocationMethod
from dagster_project.findings.model import CENT, ZERO, Proposal, hours_text, stop_savings
from dagster_project.findings.rules.clusters import clusters, scaledown_command
from dagster_project.findings.rules.context import FindingsContext
from dagster_project.findings.rules.registry import rule


def idle_costs(allocation: pl.DataFrame) -> dict[tuple[str, str, str], Decimal]:
    """(workspace id, lowercase cluster name, currency) → the idle line's effective cost."""
    if allocation.height == 0 or "allocation_method" not in allocation.columns:
        return {}
    idle = allocation.filter(pl.col("allocation_method") == AllocationMethod.CLUSTER_IDLE.value).group_by(
        "workspace_id", "aml_name", "billing_currency").agg(pl.col("effective_cost").sum())
    return {(r["workspace_id"], (r["aml_name"] or "").lower(), r["billing_currency"]): r["effective_cost"]
            for r in idle.iter_rows(named=True)}


# The configuration findings that claim a cluster's idle hours (and name their fix).
EXPLAINING_RULES = ("cluster_warm_nodes", "cluster_slow_scaledown")


def drop_explained_idle(findings: pl.DataFrame) -> pl.DataFrame:
    """The month's findings (after their history) without a `cluster_idle_share` finding on a
    cluster that has a `cluster_warm_nodes` / `cluster_slow_scaledown` finding in the month, in
    any status: the same idle hours are never claimed, or realized in the ledger, twice."""
    explained = findings.filter(pl.col("rule_id").is_in(EXPLAINING_RULES))["resource_id"].str.to_lowercase()
    return findings.filter(~((pl.col("rule_id") == "cluster_idle_share")
                             & pl.col("resource_id").str.to_lowercase().is_in(explained.implode())))


@rule("cluster_idle_share", "idle_compute", "Cluster mostly idle between jobs")
def idle_share(ctx: FindingsContext) -> Iterator[Proposal]:
    t = ctx.t
    idle = ctx.memo("cluster_idle_costs", lambda: idle_costs(ctx.inputs.allocation))
    for k in clusters(ctx):
        if (k.row["min_nodes"] or 0) > 0 or (k.row["idle_seconds_before_scaledown"] or 0) > t.cluster_idle_seconds_max:
            continue  # cluster_warm_nodes / cluster_slow_scaledown name this idle and its fix
        u = k.usage
        idle_cost = idle.get((k.row["workspace_id"], k.name.lower(), u.currency), ZERO)
        if u.cost <= 0 or idle_cost <= 0:
            continue
        share = idle_cost / u.cost
        if share * 100 <= t.cluster_idle_share_max_pct:
            continue
        idle_hours = u.hours * share  # the split is proportional: cost and node-hours in one ratio
        proposal = k.proposal("cluster_idle_share", stop_savings(
            u, idle_hours, "idle node-hours (the cluster_idle line) × observed on-demand rate"), {
            "idle_cost": str(idle_cost), "idle_share_pct": str((share * 100).quantize(CENT)),
            "threshold_pct": str(t.cluster_idle_share_max_pct), "idle_node_hours": hours_text(idle_hours),
            "idle_seconds_before_scaledown": k.row["idle_seconds_before_scaledown"],
        }, f"{(share * 100).quantize(CENT)}% of this cluster's billed node-hours ran no job: scale down sooner, "
           "batch short jobs, or run them on serverless compute.",
            scaledown_command(k.id, k.name, t.cluster_recommended_idle_seconds))
        # Savings are capped at the idle line's cost, not the whole cluster's.
        yield replace(proposal, usage=replace(u, cost=idle_cost))
