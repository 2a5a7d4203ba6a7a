"""Attribution assets: every cent of a month to a project, owner and cost center, with its reason."""


from decimal import Decimal

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from assets._metadata import markdown_preview, money_text
from assets.job_showback import JOB_CHECK_SPECS, job_split_results
from assets.partitions import billing_month_partitions, partition_month
from dagster_project.attribution.allocate import (
    allocation_by_method,
    drop_allocation_tables,
    hours_over_capacity,
    inventory_index,
    reconciliation,
    rows_without_method,
    stage_month_allocation,
    stage_month_project_spend,
    tag_coverage,
)
from dagster_project.catalog import ATTRIBUTION_INVENTORY_DEPS
from dagster_project.inventory.history import judged_inventory, month_inventory, store_root
from dagster_project.resources import FinopsConfigResource, InventoryResource, WarehouseResource


@multi_asset(
    partitions_def=billing_month_partitions,
    specs=[
        AssetSpec("cost_allocation", deps=["cost_line_items", *ATTRIBUTION_INVENTORY_DEPS], group_name="attribution",
                  description="Every cost line item of the month allocated to a project, owner and cost center."),
        AssetSpec("job_costs", deps=["cost_allocation"], group_name="attribution",
                  description="What each job cost on the compute cluster it ran on (by node-hours in the month), "
                              "and each cluster's idle line."),
        AssetSpec("cost_allocation_focus", deps=["cost_allocation"], group_name="attribution",
                  description="The job split of compute clusters as FOCUS 1.3 split cost allocation "
                              "(AllocatedMethodId, AllocatedMethodDetails, AllocatedResourceId, ...)."),
    ],
    check_specs=[
        AssetCheckSpec("reconciles_to_line_items", asset="cost_allocation", blocking=True,
                       description="Per currency, allocated effective and billed cost equal the line items to "
                                   "the cent: attribution neither loses nor invents money."),
        AssetCheckSpec("one_method_per_row", asset="cost_allocation", blocking=True,
                       description="Every allocated amount carries exactly one known allocation method and rule."),
        AssetCheckSpec("tag_coverage", asset="cost_allocation", blocking=False,
                       description="Share of effective cost that reached a project through tags, against "
                                   "checks.tag_coverage_min_pct in finops.yaml (a warning, not a gate)."),
        AssetCheckSpec("billed_hours_within_capacity", asset="cost_allocation", blocking=False,
                       description="No compute or deployment is billed more running hours than its nodes "
                                   "(instance: 1, cluster: max nodes, deployment: instances) × the hours of "
                                   "the month (a warning: impossible hours point at a bad export or match)."),
        *JOB_CHECK_SPECS,
    ],
)
def cost_allocation(context: AssetExecutionContext, warehouse: WarehouseResource,
                    finops_config: FinopsConfigResource, inventory: InventoryResource):
    """Every cost line item of the month allocated to a project, owner and cost center.

    Row tags first; then, for Azure ML rows billed on the workspace, the endpoint or compute that
    ran (by tags, or by VM size and compute type); then the workspace's tags; then the rules of
    `finops.yaml`; else `(unallocated)`. A compute cluster's cost is then divided among the jobs
    that ran on it by node-hours, the rest an explicit idle line (`job_costs`,
    `cost_allocation_focus`). Each amount says how it was decided (`allocation_method`,
    `allocation_rule`).
    """
    month = partition_month(context.partition_key)
    config = finops_config.load()
    wh = warehouse.get()
    with wh.connect() as con:
        # Computes and jobs are matched against the capture that judges the month (inventory.history),
        # also where SQL reads them by name (job split, running hours, the capacity check).
        chosen = month_inventory(con, month, store_root(inventory, warehouse.out_dir))
        with judged_inventory(con, chosen):
            staged = stage_month_allocation(con, month, config, inventory_index(con, month, frames=chosen.frames))
        counts = wh.stage_month(con, month, {"cost_allocation": "month_allocation",
                                             "aml_resource_usage": "month_usage",
                                             "job_costs": "month_job_costs",
                                             "cost_allocation_focus": "month_cost_allocation_focus",
                                             "cost_daily": "month_daily_allocation"})
        job_results = list(job_split_results(con, month, staged.jobs, counts))
        recon = reconciliation(con, month)
        bad_methods = rows_without_method(con, month)
        by_method = allocation_by_method(con, month)
        coverage = tag_coverage(con, month)
        with judged_inventory(con, chosen):
            over_capacity = hours_over_capacity(con, month)
        drop_allocation_tables(con)
    totals = {row["billing_currency"]: row["allocated_effective_cost"] for row in recon.iter_rows(named=True)}
    yield MaterializeResult(
        asset_key="cost_allocation",
        metadata={
            "billing_month": month.isoformat(),
            "row_count": counts["cost_allocation"],
            "attribution_keys": staged.keys,
            "allocation_parts": staged.parts,
            **{f"effective_cost_{currency}": MetadataValue.text(f"{money_text(total)} {currency}")
               for currency, total in totals.items()},
            "by_method": markdown_preview(by_method),
        },
    )
    broken = recon.filter((recon["effective_difference"] != 0) | (recon["billed_difference"] != 0))
    yield AssetCheckResult(
        check_name="reconciles_to_line_items", asset_key="cost_allocation", passed=broken.height == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata={"per_currency": markdown_preview(recon)},
        description=None if broken.height == 0 else
        f"allocations differ from line items in {', '.join(broken['billing_currency'].to_list())}",
    )
    minimum = config.checks.tag_coverage_min_pct
    low = coverage.filter(coverage["tag_coverage_pct"].is_not_null() & (coverage["tag_coverage_pct"] < minimum))
    yield AssetCheckResult(
        check_name="tag_coverage", asset_key="cost_allocation", passed=low.height == 0,
        severity=AssetCheckSeverity.WARN, metadata={"minimum_pct": float(minimum), "per_currency": markdown_preview(coverage)},
        description=None if low.height == 0 else
        "tag coverage below {}%: {}".format(minimum, ", ".join(
            f"{r['billing_currency']} {r['tag_coverage_pct']}%" for r in low.iter_rows(named=True))),
    )
    yield AssetCheckResult(
        check_name="billed_hours_within_capacity", asset_key="cost_allocation", passed=over_capacity.height == 0,
        severity=AssetCheckSeverity.WARN, metadata={"over_capacity": markdown_preview(over_capacity)},
        description=None if over_capacity.height == 0 else "more billed hours than nodes × hours: {}".format(
            ", ".join(f"{r['aml_kind']} {r['aml_name']} {r['billed_hours']} h > {r['capacity_hours']} h"
                      for r in over_capacity.iter_rows(named=True))),
    )
    yield from job_results
    yield AssetCheckResult(
        check_name="one_method_per_row", asset_key="cost_allocation", passed=bad_methods.height == 0,
        severity=AssetCheckSeverity.ERROR, metadata={"offending": markdown_preview(bad_methods)},
    )


@asset(partitions_def=billing_month_partitions, deps=["cost_allocation"], group_name="attribution")
def project_spend_monthly(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Spend per project for the month: effective and billed cost, the previous month, change and share.

    Currencies are never summed together: a month billed in two currencies has rows for each.
    """
    month = partition_month(context.partition_key)
    wh = warehouse.get()
    with wh.connect() as con:
        stage_month_project_spend(con, month)
        preview = con.sql("SELECT * FROM month_project_spend").pl()
        counts = wh.stage_month(con, month, {"project_spend_monthly": "month_project_spend"})
    currencies = sorted(set(preview["billing_currency"].to_list()))
    # One total per currency, labelled with it: amounts of two currencies are never added.
    totals = {c: sum(preview.filter(preview["billing_currency"] == c)["effective_cost"].to_list(), Decimal(0))
              for c in currencies}
    return MaterializeResult(metadata={
        "billing_month": month.isoformat(),
        "row_count": counts["project_spend_monthly"],
        "currencies": ", ".join(currencies),
        **{f"effective_cost_{c}": MetadataValue.text(f"{money_text(t)} {c}") for c, t in totals.items()},
        "preview": markdown_preview(preview.select("billing_currency", "project", "effective_cost",
                                                    "previous_effective_cost", "change_pct", "share_pct")),
    })
