"""The Dagster code location: assets, checks, resources, jobs, schedules and sensors.

`dagster dev -w workspace.yaml` shows this graph; `aml-finops run` and `aml-finops demo` run the
same assets in-process.
"""

from __future__ import annotations

from dagster import Definitions

from assets.alerting import alert_sensor
from assets.attribution import cost_allocation, project_spend_monthly
from assets.costs import cost_exports
from assets.findings import findings
from assets.inventory import aml_inventory
from assets.jobs import inventory_job, monthly_job
from assets.orchestration import (
    inventory_daily_schedule,
    month_close_schedule,
    month_to_date_schedule,
    new_export_sensor,
)
from assets.publication import published_month
from assets.reports import monthly_reports
from dagster_project.resources import (
    CostExportsResource,
    FinopsConfigResource,
    InventoryResource,
    WarehouseResource,
)

ALL_ASSETS = [cost_exports, aml_inventory, cost_allocation, project_spend_monthly, findings, monthly_reports,
              published_month]

def default_resources(out_dir: str = "reports", exports: str | CostExportsResource = "reports/demo-tenant/exports",
                      inventory: str = "reports/demo-tenant/inventory", config: str | None = None) -> dict:
    """Resources for a run; the defaults point at the demo tenant that `make demo` generates."""
    return {
        "warehouse": WarehouseResource(out_dir=out_dir),
        "cost_exports": exports if isinstance(exports, CostExportsResource) else CostExportsResource(root=exports),
        "inventory": InventoryResource(snapshot_dir=inventory),
        "finops_config": FinopsConfigResource(path=config),
    }


defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[inventory_job, monthly_job],
    schedules=[month_close_schedule, month_to_date_schedule, inventory_daily_schedule],
    sensors=[new_export_sensor, alert_sensor],
    resources=default_resources(),
)
