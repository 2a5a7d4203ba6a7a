"""Inventory assets: the Azure ML estate on a capture day, recorded live and replayed through azure-ai-ml."""

from datetime import UTC, date, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)

from assets._metadata import markdown_preview
from assets.partitions import inventory_day_partitions
from dagster_project.catalog import INVENTORY_TABLES, table
from dagster_project.inventory.failures import FAILURES_TABLE, describe
from dagster_project.resources import InventoryResource, WarehouseResource

COMPLETE_CHECK = "inventory_complete"



def _capture(context: AssetExecutionContext, inventory: InventoryResource, out_dir) -> tuple:
    """The snapshot folder of this partition and how it was obtained (metadata)."""
    from dagster_project.inventory.snapshot_paths import read_snapshot_info
    from dagster_project.inventory.store import capture_for_day, capture_inventory

    day = date.fromisoformat(context.partition_key)
    if inventory.mode == "replay":
        folder = inventory.snapshot_dir
        captured = read_snapshot_info(folder).captured_at
        if captured.astimezone(UTC).date() != day:
            raise ValueError(f"{folder}: captured on {captured:%Y-%m-%d}, not {day}; materialize partition "
                             f"{captured:%Y-%m-%d} (a given snapshot folder is replayed, never re-recorded)")
        return folder, {"mode": "replay", "snapshot": str(folder)}
    if inventory.mode == "unconfigured":
        raise ValueError("no inventory configured: set sources.snapshots (a snapshot store to capture into) or "
                         "sources.inventory (a folder to replay) in finops.yaml, or FINOPS_SNAPSHOT_STORE / "
                         "FINOPS_INVENTORY")
    store = inventory.open_store(out_dir)
    try:
        def record(target):
            if not inventory.scopes:
                raise ValueError("sources.snapshots.scopes is empty: say which subscriptions, resource groups "
                                 "or workspaces a capture lists")
            context.log.info(f"recording {len(inventory.scopes)} scope(s) live into {target.describe()}")
            capture, _ = capture_inventory(
                target, inventory.credential(), inventory.scopes, workspace_names=inventory.workspaces,
                transport=inventory.transport(), include_run_history=inventory.include_run_history,
                cloud=inventory.cloud, progress=context.log.info)
            return capture

        capture, recorded, deleted = capture_for_day(store, day, datetime.now(UTC).date(), record,
                                                     retention_days=inventory.retention_days)
    finally:
        store.close()
    for old in deleted:
        context.log.info(f"retention ({inventory.retention_days} days): deleted capture {old.name}")
    return capture.path, {"mode": "recorded" if recorded else "replayed from the store", "store": store.describe(),
                          "capture": capture.name, "snapshot": str(capture.path),
                          "deleted_by_retention": ", ".join(c.name for c in deleted) or "none"}


@multi_asset(
    specs=[AssetSpec(name, group_name="inventory", description=table(name).description) for name in INVENTORY_TABLES],
    check_specs=[AssetCheckSpec(COMPLETE_CHECK, asset=FAILURES_TABLE,
                                description="Every workspace and call of the capture was read; a failure names "
                                            "the workspace and the call.")],
    partitions_def=inventory_day_partitions,
)
def aml_inventory(context: AssetExecutionContext, warehouse: WarehouseResource, inventory: InventoryResource):
    """Capture the Azure ML inventory of a day and stage the normalized inventory tables.

    Today's partition records the estate live through azure-ai-ml (`DefaultAzureCredential`, read
    only, redacted) into a dated folder of the snapshot store, applies the retention, then replays
    the stored capture; a past day replays its stored capture. A configured snapshot folder is
    replayed as is (the demo, audits). The staged inventory is published with the next billing
    month that is published (`published_month`), so a month that fails never replaces the
    inventory it would have used."""
    from dagster_project.inventory.tables import load_inventory

    folder, how = _capture(context, inventory, warehouse.out_dir)
    result = load_inventory(folder)
    frames = result.tables()
    failures = frames[FAILURES_TABLE]
    summary = describe(failures)
    if failures.height:
        context.log.warning(summary)
    wh = warehouse.get()
    with wh.connect() as con:
        counts = wh.stage_inventory(con, frames)
    captured = result.captured_at.isoformat()
    for name, frame in frames.items():
        yield MaterializeResult(asset_key=name, metadata={
            "row_count": counts[name],
            "captured_at": captured,
            "failed_calls": failures.height,
            **how,
            "preview": markdown_preview(frame.drop([c for c in frame.columns if c.endswith("_original")
                                                    or c in ("tags", "captured_at", "conda_file")]), limit=10),
        })
    yield AssetCheckResult(
        check_name=COMPLETE_CHECK, asset_key=FAILURES_TABLE, passed=failures.height == 0,
        severity=AssetCheckSeverity.WARN, description=summary,
        metadata={"failed_calls": failures.height,
                  "failed_workspaces": ", ".join(sorted(set(failures["workspace_name"].drop_nulls()))) or "none"})
