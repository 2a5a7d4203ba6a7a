"""The two jobs: the inventory capture, and one billing month end to end."""

from dagster import AssetSelection, define_asset_job

from assets.attribution import cost_allocation, project_spend_monthly
from assets.costs import cost_exports
from assets.findings import findings
from assets.inventory import aml_inventory
from assets.partitions import billing_month_partitions, inventory_day_partitions
from assets.publication import published_month
from assets.reports import monthly_reports

inventory_job = define_asset_job(
    "inventory_job", selection=AssetSelection.assets(aml_inventory), partitions_def=inventory_day_partitions,
    description="Capture the Azure ML inventory of a day (live into the snapshot store, or replay a given "
                "snapshot) and stage the inventory tables; the next published month publishes them.",
)
monthly_job = define_asset_job(
    "monthly_job",
    selection=AssetSelection.assets(cost_exports, cost_allocation, project_spend_monthly, findings,
                                    monthly_reports, published_month),
    partitions_def=billing_month_partitions,
    description="One billing month end to end: ingest, attribute, find, publish, report.",
)
