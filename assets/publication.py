"""Publication asset: the month's staged tables, Parquet and packs made public in one transaction."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.partitions import billing_month_partitions, partition_month
from dagster_project.catalog import INVENTORY_TABLES, MONTHLY_TABLES, table
from dagster_project.reporting import month_reports_dir
from dagster_project.resources import WarehouseResource


@asset(
    partitions_def=billing_month_partitions,
    deps=[*dict.fromkeys(table(name).asset for name in MONTHLY_TABLES), "monthly_reports", *INVENTORY_TABLES],
    group_name="publication",
)
def published_month(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Publish the month: every table the month's assets staged (line items, rejects, allocation,
    spend, findings), the inventory they used, the Parquet mirror and the finance and engineer
    packs appear together in one DuckDB transaction, or not at all. The next month's
    previous-month columns are refreshed in the same transaction. Runs only when every blocking
    check upstream passed."""
    month = partition_month(context.partition_key)
    wh = warehouse.get()
    with wh.connect() as con:
        publication = wh.publish(con, month, month_folder=lambda m: month_reports_dir(wh.out_dir, m))
    context.log.info(f"{month:%Y-%m} published: " + ", ".join(f"{t} {n}" for t, n in publication.tables.items()))
    return MaterializeResult(metadata={
        "billing_month": month.isoformat(),
        "tables": MetadataValue.md("\n".join(["| table | rows |", "|---|---:|"] + [
            f"| {table} | {rows} |" for table, rows in {**publication.tables, **publication.inventory}.items()])),
        "reports": publication.reports,
        "inventory_published": bool(publication.inventory),
        "refreshed_months": ", ".join(f"{m:%Y-%m}" for m in publication.refreshed_months) or "none",
    })
