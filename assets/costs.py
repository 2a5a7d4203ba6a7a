"""Cost ingestion assets: the month's export runs, loaded exactly once, nothing lost, nothing twice."""


import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets._metadata import markdown_preview, money_text
from assets.partitions import billing_month_partitions, partition_month
from dagster_project.costs.discovery import discover
from dagster_project.costs.load import load_month
from dagster_project.costs.overlap import overlapping_exports
from dagster_project.costs.provenance import export_runs_frame
from dagster_project.resources import CostExportsResource, FinopsConfigResource, WarehouseResource
from dagster_project.warehouse import stage_frame


class NoExportForMonth(Failure):
    """No export run covers the month: nothing is staged, so nothing can be published."""


@multi_asset(
    specs=[
        AssetSpec("cost_line_items", group_name="costs",
                  description="Every cost row of the month, normalized to FOCUS columns, from the newest complete "
                              "export run per export and month. Money is DECIMAL(38,10); resource ids lowercase. "
                              "Staged here; public once `published_month` commits the month."),
        AssetSpec("cost_rejects", group_name="costs",
                  description="Rows that could not be parsed, with their file, row, reason and raw text: nothing "
                              "is silently dropped."),
        AssetSpec("export_runs", group_name="costs",
                  description="The export runs behind the month: loaded, superseded or skipped (still being "
                              "delivered, unreadable), with the reason."),
    ],
    partitions_def=billing_month_partitions,
    check_specs=[
        AssetCheckSpec("manifest_row_counts", asset="cost_line_items", blocking=True,
                       description="Rows loaded (plus rejected) per blob equal the manifest's dataRowCount."),
        AssetCheckSpec("no_overlapping_exports", asset="cost_line_items", blocking=True,
                       description="No two export definitions deliver the same sub account and charge day: the "
                                   "same spend is never counted twice (resolve with exports.exclude)."),
        AssetCheckSpec("export_runs_complete", asset="cost_line_items", blocking=False,
                       description="Every export's newest run was complete; a run still being delivered is "
                                   "skipped (the previous complete run counts) and named here."),
    ],
)
def cost_exports(context: AssetExecutionContext, warehouse: WarehouseResource, cost_exports: CostExportsResource,
                 finops_config: FinopsConfigResource):
    """Load the month's Cost Management exports: found at any folder depth, manifest-driven, the newest
    complete run per export wins, DECIMAL money, broken rows to `cost_rejects`."""
    month = partition_month(context.partition_key)
    config = finops_config.load()
    wh = warehouse.get()
    with cost_exports.open(month) as source:
        found = discover(source, month, exclude=config.exports.exclude)
        runs = found.runs_for(month)  # raises when a refused or unreadable newest run blocks the month
        skipped = found.warnings(month)
        for warning in skipped:
            context.log.warning(warning)
        if not runs:
            raise NoExportForMonth(f"{month:%Y-%m}: no complete export run for this month under {found.searched}"
                                   + (f" ({'; '.join(skipped)})" if skipped else ""))
        context.log.info(f"{month:%Y-%m}: {len(runs)} export run(s): "
                         + ", ".join(f"{r.export_name}/{r.range_folder}/{r.run_id}" for r in runs))
        with wh.connect() as con:
            wh.clear_month(con, month)  # a new build of the month starts from nothing staged
            result = load_month(con, runs, month)
            overlaps = overlapping_exports(con, month, runs)
            stage_frame(con, "month_export_runs", export_runs_frame(month, found, runs, result))
            wh.stage_month(con, month, {"export_runs": "month_export_runs"})
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
    yield MaterializeResult(asset_key="export_runs", metadata={
        "billing_month": month.isoformat(),
        "loaded": len(runs),
        "superseded": sum(1 for r in found.superseded if r.month == month),
        "skipped": len(skipped),
    })
    mismatches = result.row_count_mismatches()
    yield AssetCheckResult(
        check_name="manifest_row_counts", asset_key="cost_line_items", passed=not mismatches,
        severity=AssetCheckSeverity.ERROR,
        description=None if not mismatches else "; ".join(str(m) for m in mismatches),
        metadata={"blobs_checked": sum(len(r.blobs) for r in runs)},
    )
    yield AssetCheckResult(
        check_name="no_overlapping_exports", asset_key="cost_line_items", passed=not overlaps,
        severity=AssetCheckSeverity.ERROR,
        description=None if not overlaps else "; ".join(o.message() for o in overlaps),
        metadata={"exports": len({r.export_key or r.export_name for r in runs})},
    )
    yield AssetCheckResult(
        check_name="export_runs_complete", asset_key="cost_line_items", passed=not skipped,
        severity=AssetCheckSeverity.WARN, description=None if not skipped else "; ".join(skipped),
    )
