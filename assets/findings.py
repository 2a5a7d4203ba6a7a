"""Findings asset: the month's cleanup list, with savings from observed cost and the command."""


import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets._metadata import markdown_preview, money_text
from assets.partitions import billing_month_partitions, partition_month
from dagster_project.findings.evaluate import month_findings
from dagster_project.findings.savings import savings_per_currency
from dagster_project.inventory.changes import month_changes
from dagster_project.inventory.history import store_root
from dagster_project.resources import FinopsConfigResource, InventoryResource, WarehouseResource
from dagster_project.warehouse import stage_frame


@asset(
    partitions_def=billing_month_partitions,
    deps=["cost_allocation", "inventory_computes", "inventory_asset_versions", "inventory_deployments",
          "inventory_jobs"],
    group_name="findings",
)
def findings(context: AssetExecutionContext, warehouse: WarehouseResource,
             finops_config: FinopsConfigResource, inventory: InventoryResource) -> MaterializeResult:
    """Cleanup findings for the month: idle compute, idle or failed deployments, stale and duplicate
    asset versions, untagged spend — each with its owner, the evidence, the monthly savings
    estimated from what Azure billed, and the exact `az` command (printed, never run); breaches of
    the approved design (`governance:`). Judged against the inventory capture nearest after the
    month ends (`snapshot_captured_at` in the evidence); first seen / resolved across captures.
    Also the month's budget status (month to date and month-end forecast per budget of
    finops.yaml) and its `budget` and `anomaly` findings, from the daily spend (`cost_daily`)."""
    month = partition_month(context.partition_key)
    config = finops_config.load()
    wh = warehouse.get()
    with wh.connect() as con:
        store = store_root(inventory, warehouse.out_dir)
        evaluated = month_findings(con, month, config, store)
        frame = evaluated.findings
        changes, not_compared = month_changes(store, month, config.tags.owner)
        stage_frame(con, "month_findings", frame)
        stage_frame(con, "month_budget_status", evaluated.budget_status)
        stage_frame(con, "month_changes", changes)
        counts = wh.stage_month(con, month, {"findings": "month_findings", "budget_status": "month_budget_status",
                                             "inventory_changes": "month_changes"})
    for workspace, why in not_compared.items():
        context.log.warning(f"inventory_changes: {workspace or 'every workspace'} not compared: {why}")
    open_findings = frame.filter(pl.col("status") == "open")
    # Per currency, each resource once with its largest estimate: two currencies are never added.
    savings = savings_per_currency(frame)
    per_rule = frame.group_by("rule_id", "currency").agg(pl.len().alias("findings"), pl.col("savings").sum()).sort(
        "rule_id", "currency")
    return MaterializeResult(metadata={
        "billing_month": month.isoformat(),
        "row_count": counts["findings"],
        "open_findings": open_findings.height,
        "budgets": evaluated.budget_status.height,
        "budgets_over": evaluated.budget_status.filter(pl.col("status") != "on_track").height,
        "anomalies": open_findings.filter(pl.col("rule_id") == "anomaly").height,
        "inventory_changes": counts["inventory_changes"],
        "governance_findings": open_findings.filter(pl.col("rule_id").str.starts_with("governance_")).height,
        "judged_against_capture": ", ".join(sorted(set(
            open_findings["evidence"].str.json_path_match("$.snapshot_captured_at").drop_nulls().to_list()))) or "-",
        **{f"monthly_savings_{currency}": MetadataValue.text(f"{money_text(total)} {currency}")
           for currency, total in savings.items()},
        "per_rule": markdown_preview(per_rule),
        "top_findings": markdown_preview(frame.select("rule_id", "resource_name", "owner", "savings", "currency").head(10)),
    })
