"""Cleanup findings: a registry of small rules, each with its evidence, its savings and the
command that fixes it (printed, never run), one module per resource family.

| module | rules |
|---|---|
| `compute_instances.py` | ci_no_idle_shutdown, ci_left_running, ci_stopped_abandoned |
| `clusters.py` | cluster_warm_nodes, cluster_slow_scaledown, cluster_unused |
| `cluster_idle.py` | cluster_idle_share (job-level showback's idle line) |
| `deployments.py` | deployment_no_traffic, deployment_failed_billed |
| `asset_versions.py` | stale_version, duplicate_artifact |
| `untagged.py` | untagged_spend |

`registry.py` holds the registry (`@rule`), `context.py` what every rule reads and how a rule's
proposal becomes a published row; `findings/model.py` the schema, the inputs and the savings
arithmetic; `findings/commands.py` the shell quoting. docs/architecture.md says how to add a rule.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dagster_project.attribution.resolve import Resolver
from dagster_project.config import FinopsConfig, glob_to_regex
from dagster_project.findings.model import FINDINGS_SCHEMA, FindingInputs, finding_id

# The rule modules register their rules on import (the order does not matter: the result is sorted).
from dagster_project.findings.rules import (  # noqa: F401
    asset_versions,
    cluster_idle,
    clusters,
    compute_instances,
    deployments,
    untagged,
)
from dagster_project.findings.rules.context import FindingsContext
from dagster_project.findings.rules.registry import REGISTRY, Rule, rule

# rule id: (category, what it means)
RULES: dict[str, tuple[str, str]] = {r.id: (r.category, r.title) for r in REGISTRY.values()}

__all__ = ["FINDINGS_SCHEMA", "REGISTRY", "RULES", "FindingInputs", "Rule", "apply_suppressions",
           "evaluate_findings", "finding_id", "rule"]


def apply_suppressions(findings: pl.DataFrame, config: FinopsConfig, today: date) -> pl.DataFrame:
    """Mark findings matched by an unexpired suppression as `suppressed`, with its reason."""
    if findings.height == 0 or not config.suppressions:
        return findings
    active = [s for s in config.suppressions if s.until is None or s.until >= today]
    statuses, reasons = [], []
    for row in findings.iter_rows(named=True):
        hit = next((s for s in active if (s.finding_id and s.finding_id == row["finding_id"]) or (
            s.rule and s.rule == row["rule_id"] and (not s.scope or glob_to_regex(s.scope).match(row["resource_id"])))),
            None)
        statuses.append("suppressed" if hit else row["status"])
        reasons.append(hit.reason if hit else row["suppression_reason"])
    return findings.with_columns(pl.Series("status", statuses), pl.Series("suppression_reason", reasons,
                                                                          dtype=pl.String))


def evaluate_findings(config: FinopsConfig, resolver: Resolver, inputs: FindingInputs) -> pl.DataFrame:
    """All findings of one month, sorted by savings (largest first)."""
    ctx = FindingsContext(config, resolver, inputs)
    for registered in REGISTRY.values():
        for proposal in registered.check(ctx):
            ctx.add(proposal)
    frame = (pl.DataFrame(ctx.rows, schema=FINDINGS_SCHEMA, orient="row") if ctx.rows
             else pl.DataFrame(schema=FINDINGS_SCHEMA))
    # Expiry is judged at the inventory capture, so replaying a snapshot gives the same result.
    frame = apply_suppressions(frame, config, ctx.now.date())
    return frame.sort(["savings", "rule_id", "resource_id"], descending=[True, False, False])
