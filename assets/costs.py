"""Cost ingestion assets: the month's export runs, loaded exactly once, nothing lost."""


import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets._metadata import markdown_preview, money_text
from assets.partitions import billing_month_partitions, partition_month
from dagster_project.costs.discovery import runs_for_month
from dagster_project.costs.load import load_month
from dagster_project.resources import CostExportsResource, WarehouseResource


@multi_asset(
    specs=[
        AssetSpec("cost_line_items", group_name="costs",
                  description="Every cost row of the month, normalized to FOCUS columns, from the newest complete "
                              "export run per export and month. Money is DECIMAL(38,10); resource ids lowercase."),
        AssetSpec("cost_rejects", group_name="costs",
                  description="Rows that could not be parsed, with their file, row and reason: nothing is "
                              "silently dropped."),
    ],
    partitions_def=billing_month_partitions,
    check_specs=[
        AssetCheckSpec("manifest_row_counts", asset="cost_line_items", blocking=True,
                       description="Rows loaded (plus rejected) per blob equal the manifest's dataRowCount."),
    ],
)
def cost_exports(context: AssetExecutionContext, warehouse: WarehouseResource, cost_exports: CostExportsResource):
    """Load the month's Cost Management exports: manifest-driven, the newest run wins, DECIMAL money."""
    month = partition_month(context.partition_key)
    wh = warehouse.get()
    with cost_exports.open(month) as source:
        runs = runs_for_month(source, month)
        context.log.info(f"{month:%Y-%m}: {len(runs)} export run(s): "
                         + ", ".join(f"{r.export_name}/{r.range_folder}/{r.run_id}" for r in runs))
        with wh.connect() as con:
            wh.clear_month(con, month)  # a new build of the month starts from nothing staged
            result = load_month(con, runs, month)
    totals = {f"effective_cost_{c}": MetadataValue.text(money_text(t.effective_cost)) for c, t in result.totals.items()}
    totals |= {f"billed_cost_{c}": MetadataValue.text(money_text(t.billed_cost)) for c, t in result.totals.items()}
    blobs = pl.DataFrame(
        [{"file": b.source_file, "schema": b.source_schema, "rows": b.rows_loaded, "rejected": b.rows_rejected,
          "manifest_rows": b.expected_rows} for b in result.blobs],
        schema={"file": pl.String, "schema": pl.String, "rows": pl.Int64, "rejected": pl.Int64,
                "manifest_rows": pl.Int64})
    yield MaterializeResult(asset_key="cost_line_items", metadata={
        "billing_month": month.isoformat(),
        "row_count": result.rows_loaded,
        "files": markdown_preview(blobs),
        "export_runs": len(runs),
        "source_files": len(result.source_files),
        **totals,
        "currencies": ", ".join(sorted(result.totals)) or "none",
    })
    yield MaterializeResult(asset_key="cost_rejects", metadata={
        "billing_month": month.isoformat(),
        "row_count": result.rows_rejected,
        "files_with_rejects": markdown_preview(blobs.filter(pl.col("rejected") > 0)),
    })
    mismatches = result.row_count_mismatches()
    yield AssetCheckResult(
        check_name="manifest_row_counts", asset_key="cost_line_items", passed=not mismatches,
        severity=AssetCheckSeverity.ERROR,
        description=None if not mismatches else "; ".join(str(m) for m in mismatches),
        metadata={"blobs_checked": sum(len(r.blobs) for r in runs)},
    )
