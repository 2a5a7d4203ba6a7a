"""Inventory assets: the Azure ML estate at one moment, replayed through the real azure-ai-ml SDK."""


from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from assets._metadata import markdown_preview
from dagster_project.resources import InventoryResource, WarehouseResource
from dagster_project.warehouse import INVENTORY_TABLES

_DESCRIPTIONS = {
    "inventory_workspaces": "Azure ML workspaces with their storage, registry, key vault and insights ids and tags.",
    "inventory_computes": "Compute instances and clusters: state, last operation, idle shutdown, schedules, "
                          "size, node counts and tags.",
    "inventory_asset_versions": "Every model, environment and data version, archived ones included.",
    "inventory_endpoints": "Online endpoints with their traffic split and tags.",
    "inventory_deployments": "Online deployments: instance type and count, provisioning state, traffic share.",
    "inventory_jobs": "Jobs with their compute, status and timing.",
    "inventory_resource_groups": "Resource groups of the listed subscriptions with their tags (an inheritance level).",
    "inventory_subscriptions": "The listed subscriptions with their tags (an inheritance level).",
}


@multi_asset(
    specs=[AssetSpec(table, group_name="inventory", description=_DESCRIPTIONS[table]) for table in INVENTORY_TABLES],
)
def aml_inventory(context: AssetExecutionContext, warehouse: WarehouseResource, inventory: InventoryResource):
    """List the Azure ML workspaces (replaying a snapshot) and stage the normalized inventory tables.

    The staged inventory is published together with the next billing month that is published
    (`published_month`), so a month that fails never replaces the inventory it would have used."""
    result = inventory.load()
    frames = {table: getattr(result, table.removeprefix("inventory_")) for table in INVENTORY_TABLES}
    for failure in result.failures:
        context.log.warning(f"inventory listing failed: {failure}")
    wh = warehouse.get()
    with wh.connect() as con:
        counts = wh.stage_inventory(con, frames)
    captured = result.captured_at.isoformat()
    for table, frame in frames.items():
        yield MaterializeResult(asset_key=table, metadata={
            "row_count": counts[table],
            "captured_at": captured,
            "failed_workspaces": len(result.failures),
            "preview": markdown_preview(frame.drop([c for c in frame.columns if c.endswith("_original")
                                                    or c in ("tags", "captured_at", "conda_file")]), limit=10),
        })
