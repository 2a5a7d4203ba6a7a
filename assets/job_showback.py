"""The job split's assets and checks (`job_costs`, `cost_allocation_focus`), materialized by the
`cost_allocation` multi-asset in the same staging as the allocation they divide."""

from collections.abc import Iterator
from datetime import date

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MaterializeResult,
    MetadataValue,
)

from assets._metadata import markdown_preview, money_text
from dagster_project.attribution.jobs import (
    JobSplit,
    focus_allocation_violations,
    job_costs_reconciliation,
)

JOB_CHECK_SPECS = [
    AssetCheckSpec("job_costs_reconcile", asset="job_costs", blocking=True,
                   description="Per compute cluster and currency, its jobs' costs and its idle line add up to the "
                               "cluster's cost in cost_allocation to the last digit."),
    AssetCheckSpec("focus_split_sound", asset="cost_allocation_focus", blocking=True,
                   description="FOCUS 1.3 split cost allocation: per origin charge the allocated ratios sum to 1 "
                               "and the allocated charges to the origin charge's cost."),
    AssetCheckSpec("jobs_priced", asset="job_costs", blocking=False,
                   description="Every job that ran on a compute cluster in the month got a part of a billed "
                               "cluster cost (a warning names the jobs on deleted or unbilled clusters)."),
]


def job_split_results(con: duckdb.DuckDBPyConnection, month: date, split: JobSplit | None,
                      counts: dict[str, int]) -> Iterator[MaterializeResult | AssetCheckResult]:
    """The materializations of job_costs and cost_allocation_focus, and their checks."""
    recon = job_costs_reconciliation(con, month)
    broken = recon.filter((recon["effective_difference"] != 0) | (recon["billed_difference"] != 0))
    violations = focus_allocation_violations(con, month)
    idle = split.job_costs.filter(split.job_costs["allocation_method"] == "cluster_idle") if split else None
    unpriced = split.unpriced_jobs if split else []
    yield MaterializeResult(asset_key="job_costs", metadata={
        "billing_month": month.isoformat(),
        "row_count": counts["job_costs"],
        "clusters": split.clusters if split else 0,
        "jobs": split.jobs if split else 0,
        "unpriced_jobs": len(unpriced),
        "idle_lines": markdown_preview(idle.select("billing_currency", "compute_name", "project", "node_hours",
                                                   "billed_node_hours", "effective_cost"))
        if idle is not None else MetadataValue.md("_no rows_"),
    })
    yield MaterializeResult(asset_key="cost_allocation_focus", metadata={
        "billing_month": month.isoformat(),
        "row_count": counts["cost_allocation_focus"],
        "origin_charges": split.focus["x_OriginChargeId"].n_unique() if split and split.focus.height else 0,
    })
    yield AssetCheckResult(
        check_name="job_costs_reconcile", asset_key="job_costs", passed=broken.height == 0,
        severity=AssetCheckSeverity.ERROR, metadata={"per_cluster": markdown_preview(recon)},
        description=None if broken.height == 0 else "job costs differ from the cluster's allocation: {}".format(
            ", ".join(f"{r['compute_name']} ({r['billing_currency']}) {money_text(r['effective_difference'])}"
                      for r in broken.iter_rows(named=True))),
    )
    yield AssetCheckResult(
        check_name="focus_split_sound", asset_key="cost_allocation_focus", passed=violations.height == 0,
        severity=AssetCheckSeverity.ERROR, metadata={"violations": markdown_preview(violations)},
        description=None if violations.height == 0 else
        f"{violations.height} origin charges break the FOCUS split rules",
    )
    yield AssetCheckResult(
        check_name="jobs_priced", asset_key="job_costs", passed=not unpriced,
        severity=AssetCheckSeverity.WARN, metadata={"unpriced": MetadataValue.md(
            "\n".join(f"- {j}" for j in unpriced) or "_none_")},
        description=None if not unpriced else f"{len(unpriced)} jobs have no cluster cost: " + "; ".join(unpriced[:5]),
    )
