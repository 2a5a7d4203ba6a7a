"""The `inventory_*` tables of the azure-ai-ml listing: the import path callers use.

The concerns live apart:

* `model.py`: `Inventory` (the eight frames of one capture) and the schemas, which come from the
  table catalog (`dagster_project/catalog/tables/inventory.py`; an empty listing still yields
  typed, empty frames);
* `normalize.py`: values as the tables hold them: ids lowercased for joins (`*_id`) and kept as
  the service wrote them (`*_id_original`); enum values in the service's spelling (`Running`),
  never the SDK's `ComputeInstanceState.RUNNING`; timestamps `Datetime("us", "UTC")` whatever
  format the service used; JSON columns as JSON text;
* `rows.py`: one row per listed resource, and `build_inventory`;
* `collect.py`: `collect_inventory(credential, subscriptions)` lists live,
  `load_inventory(snapshot_dir)` replays a snapshot through azure-ai-ml (what the asset calls).

The columns of all eight tables are documented in ``docs/inventory.md``.
"""

from __future__ import annotations

from dagster_project.inventory.collect import REPLAY_MAX_WORKERS, collect_inventory, load_inventory
from dagster_project.inventory.model import (
           RESOURCE_GROUPS_SCHEMA,
           SUBSCRIPTIONS_SCHEMA,
           TABLE_SCHEMAS,
           Inventory,
)
from dagster_project.inventory.normalize import asset_reference, enum_text, utc_time, workspace_kind
from dagster_project.inventory.rows import build_inventory

__all__ = ["REPLAY_MAX_WORKERS", "RESOURCE_GROUPS_SCHEMA", "SUBSCRIPTIONS_SCHEMA", "TABLE_SCHEMAS", "Inventory",
           "asset_reference", "build_inventory", "collect_inventory", "enum_text", "load_inventory", "utc_time",
           "workspace_kind"]
