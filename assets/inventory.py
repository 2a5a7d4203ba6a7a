"""Inventory assets: the Azure ML estate at one moment, replayed through the real azure-ai-ml SDK."""


from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from assets._metadata import markdown_preview
from dagster_project.catalog import INVENTORY_TABLES, table
from dagster_project.resources import InventoryResource, WarehouseResource


@multi_asset(
    specs=[AssetSpec(name, group_name="inventory", description=table(name).description) for name in INVENTORY_TABLES],
)
def aml_inventory(context: AssetExecutionContext, warehouse: WarehouseResource, inventory: InventoryResource):
    """List the Azure ML workspaces (replaying a snapshot) and stage the normalized inventory tables.

    The staged inventory is published together with the next billing month that is published
    (`published_month`), so a month that fails never replaces the inventory it would have used."""
    result = inventory.load()
    frames = result.tables()
    for failure in result.failures:
        context.log.warning(f"inventory listing failed: {failure}")
    wh = warehouse.get()
    with wh.connect() as con:
        counts = wh.stage_inventory(con, frames)
    captured = result.captured_at.isoformat()
    for name, frame in frames.items():
        yield MaterializeResult(asset_key=name, metadata={
            "row_count": counts[name],
            "captured_at": captured,
            "failed_workspaces": len(result.failures),
            "preview": markdown_preview(frame.drop([c for c in frame.columns if c.endswith("_original")
                                                    or c in ("tags", "captured_at", "conda_file")]), limit=10),
        })
