"""The table catalog: the one home of every published table's columns (schema as code).

Per table (`Table`): its columns in order (name, DuckDB type, Polars dtype, description, NOT NULL,
default), its kind (monthly / snapshot / view), partition key and owning asset. Generated from it:
the DDL of the public and staging tables (`Table.create_sql`), the Polars schemas
(`polars_schema`), the table lists the warehouse and the assets use, the inventory assets'
descriptions and the attribution asset's dependencies, and the column tables of `docs/tables.md`
and `docs/inventory.md` (`python -m dagster_project.catalog.docs`). Adding a column is one line in
`tables/<area>.toml` plus the SQL expression or row builder that fills it; see docs/tables.md, "How
to add a column".

Plain Python: no Dagster import, nothing opened at import time.
"""

from __future__ import annotations

import polars as pl

from dagster_project.catalog.model import Column, Table
from dagster_project.catalog.tables import load_tables

TABLES: dict[str, Table] = {t.name: t for t in load_tables()}

MONTHLY_TABLES: tuple[str, ...] = tuple(n for n, t in TABLES.items() if t.kind == "monthly")
INVENTORY_TABLES: tuple[str, ...] = tuple(n for n, t in TABLES.items() if t.kind == "snapshot")
# Derived in DuckDB only (no Parquet mirror): view → the cost_allocation column it rolls spend up by
# (sql/schema/spend_by_dimension.sql), or None for a view with its own body (sql/schema/<view>.sql).
VIEWS: dict[str, str | None] = {"owner_spend_monthly": "owner", "cost_center_spend_monthly": "cost_center",
                                "realized_savings": None}
# Inventory attribution cannot run without / reads when present / reads running hours from.
INVENTORY_FOR_ATTRIBUTION: tuple[str, ...] = tuple(
    n for n in INVENTORY_TABLES if TABLES[n].attribution == "required")
OPTIONAL_INVENTORY_FOR_ATTRIBUTION: tuple[str, ...] = tuple(
    n for n in INVENTORY_TABLES if TABLES[n].attribution == "optional")
ATTRIBUTION_INVENTORY_DEPS: tuple[str, ...] = tuple(n for n in INVENTORY_TABLES if TABLES[n].attribution)


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"not a catalogued table: {name!r}") from None


def polars_schema(name: str) -> pl.Schema:
    return table(name).polars_schema()


def inventory_attribute(name: str) -> str:
    """The `Inventory` field holding an inventory table (`inventory_jobs` → `jobs`)."""
    return table(name).name.removeprefix("inventory_")


__all__ = ["ATTRIBUTION_INVENTORY_DEPS", "Column", "INVENTORY_FOR_ATTRIBUTION", "INVENTORY_TABLES", "MONTHLY_TABLES",
           "OPTIONAL_INVENTORY_FOR_ATTRIBUTION", "TABLES", "Table", "VIEWS", "inventory_attribute", "polars_schema",
           "table"]
