"""The inventory of one capture: its eight tables (schemas from the table catalog) and what could not be listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from dagster_project.catalog import INVENTORY_TABLES, inventory_attribute, polars_schema
from dagster_project.inventory.listing import (
    ListingFailure,
)

UTC_TIME = pl.Datetime("us", "UTC")

# The columns of every inventory table live in the catalog (dagster_project/catalog/tables/inventory.py).
TABLE_SCHEMAS: dict[str, pl.Schema] = {name: polars_schema(name) for name in INVENTORY_TABLES}
RESOURCE_GROUPS_SCHEMA = TABLE_SCHEMAS["inventory_resource_groups"]
SUBSCRIPTIONS_SCHEMA = TABLE_SCHEMAS["inventory_subscriptions"]


@dataclass
class Inventory:
    """The eight inventory tables of one capture, its `captured_at`, and what could not be listed.

    A snapshot recorded before resource groups and subscriptions were listed has no files for
    them: replaying it yields empty `resource_groups` / `subscriptions` frames and one failure per
    missing call (``resource_groups.list()``, ``subscriptions.get(...)``), never an abort.
    """

    workspaces: pl.DataFrame
    computes: pl.DataFrame
    asset_versions: pl.DataFrame
    endpoints: pl.DataFrame
    deployments: pl.DataFrame
    jobs: pl.DataFrame
    captured_at: datetime
    failures: list[ListingFailure] = field(default_factory=list)
    resource_groups: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RESOURCE_GROUPS_SCHEMA))
    subscriptions: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SUBSCRIPTIONS_SCHEMA))

    def tables(self) -> dict[str, pl.DataFrame]:
        """The frames by published table name, in the catalog's order; `inventory_failures` is
        built from `failures` (what could not be read is a table too, never only a log line)."""
        from dagster_project.inventory.failures import FAILURES_TABLE, failures_frame

        return {name: failures_frame(self.failures, self.captured_at) if name == FAILURES_TABLE
                else getattr(self, inventory_attribute(name)) for name in INVENTORY_TABLES}
