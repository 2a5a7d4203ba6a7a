"""Stage one month's allocation in DuckDB: key totals → Python resolution → exact split.

The heavy lifting (scanning line items, summing, splitting) is SQL in `sql/attribution/`; this
module only runs the statements in order and hands the keys to the resolver. Results are left in
temporary tables (`month_allocation`, `month_usage`) for the caller to publish atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from dagster_project.attribution.jobs import JobSplit, stage_job_split
from dagster_project.attribution.resolve import InventoryIndex, Resolver, resolve_attribution_keys
from dagster_project.catalog import INVENTORY_FOR_ATTRIBUTION, OPTIONAL_INVENTORY_FOR_ATTRIBUTION
from dagster_project.config import FinopsConfig
from dagster_project.sql import load_sql, relation_names, sql_parameters


class MissingInventoryError(RuntimeError):
    pass


def read_inventory_table(con: duckdb.DuckDBPyConnection, table: str,
                         names: frozenset[str] | None = None) -> pl.DataFrame:
    """A published inventory table as a Polars frame (the inventory asset must have run).

    `names`: the connection's `relation_names`, when the caller reads several tables at once."""
    if table not in (relation_names(con) if names is None else names):
        raise MissingInventoryError(
            f"table {table} is missing from the warehouse: materialize the inventory assets first")
    return con.sql(f"SELECT * FROM {table}").pl()  # noqa: S608 (identifier from a fixed list)


def inventory_index(con: duckdb.DuckDBPyConnection, month: date | None = None,
                    frames: dict[str, pl.DataFrame] | None = None) -> InventoryIndex:
    """Lookups over the published inventory; with `month`, also the computes' running hours in it.

    `frames` (table name → frame) are inventory tables the caller already read; the rest are read.
    """
    frames = dict(frames or {})
    names = relation_names(con)  # nothing below creates or drops a table
    for name in INVENTORY_FOR_ATTRIBUTION:
        if name not in frames:
            frames[name] = read_inventory_table(con, name, names)
    # Resource group and subscription tags arrived after the first snapshot format; older
    # snapshots simply have no such level.
    optional = {name: frames[name] if name in frames else read_inventory_table(con, name, names)
                if name in names else None
                for name in OPTIONAL_INVENTORY_FOR_ATTRIBUTION}
    hours = None
    if month is not None and "inventory_jobs" in names:
        hours = con.sql(load_sql("intermediate/compute_running_hours"), params={"billing_month": month}).pl()
    return InventoryIndex.build(
        workspaces=frames["inventory_workspaces"],
        computes=frames["inventory_computes"],
        endpoints=frames["inventory_endpoints"],
        deployments=frames["inventory_deployments"],
        resource_groups=optional["inventory_resource_groups"],
        subscriptions=optional["inventory_subscriptions"],
        running_hours=hours,
    )


@dataclass(frozen=True)
class StagedAllocation:
    keys: int
    parts: int
    jobs: JobSplit | None = None


def stage_month_allocation(con: duckdb.DuckDBPyConnection, month: date, config: FinopsConfig,
                           index: InventoryIndex) -> StagedAllocation:
    """Build the temp tables `month_allocation`, `month_usage` and `month_daily_allocation` for `month`
    (and, from the job split of the compute clusters, `month_job_costs` and
    `month_cost_allocation_focus`)."""
    params = {"billing_month": month}
    con.execute(load_sql("intermediate/cost_row_kinds"))
    con.execute(load_sql("intermediate/month_keys"), params)
    con.execute(load_sql("intermediate/month_key_days"), params)
    con.execute(load_sql("intermediate/month_key_totals"))
    keys = con.sql(load_sql("intermediate/attribution_keys")).pl()
    resolution = resolve_attribution_keys(keys, config, index, con.sql(load_sql("intermediate/key_amounts")).pl())
    key_count = keys.height
    del keys  # ~100 MB at 10M line items: not held through the allocation's statements
    con.register("attribution_resolution", resolution)
    try:
        con.execute(load_sql("marts/month_allocation"), params)
        con.execute(load_sql("marts/month_daily_allocation"), params)
    finally:
        con.unregister("attribution_resolution")
    _drop_temp_tables(con, KEY_TABLES)
    jobs = stage_job_split(con, month, config, Resolver(config, index))
    con.execute(load_sql("marts/month_usage"))
    return StagedAllocation(keys=key_count, parts=resolution.height, jobs=jobs)


# The keys' temp tables, dropped as soon as the allocation is built from them; the allocation's
# own, dropped by the caller once it has staged them (drop_allocation_tables). Temp tables stay
# in DuckDB's memory for the whole connection, and a run keeps one connection: at 10M line items
# these held ~400 MB through the later steps.
KEY_TABLES = ("month_keys", "month_key_days", "month_key_totals")
ALLOCATION_TABLES = ("month_allocation", "month_usage", "month_daily_allocation", "month_job_costs",
                     "month_cost_allocation_focus", "job_cluster_origins")


def drop_allocation_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables stage_month_allocation leaves (call once they are staged)."""
    _drop_temp_tables(con, ALLOCATION_TABLES)


def _drop_temp_tables(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> None:
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{table}")  # noqa: S608 (names from the fixed lists above)


def stage_month_project_spend(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Build the temp table `month_project_spend` from the published `cost_allocation`."""
    con.execute(load_sql("marts/month_project_spend"), {"billing_month": month})


def reconciliation(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """Line items beside allocations per currency, with the differences (all zero when sound)."""
    return con.sql(load_sql("checks/allocation_reconciliation"), params={"billing_month": month}).pl()


def rows_without_method(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    statement = load_sql("checks/allocation_methods")
    return con.sql(statement, params=sql_parameters(statement, billing_month=month)).pl()


def hours_over_capacity(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """Azure ML resources billed more running hours than their nodes × the hours of the month."""
    return con.sql(load_sql("checks/compute_hours_capacity"), params={"billing_month": month}).pl()


def allocation_by_method(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    return con.sql(load_sql("reports/allocation_by_method"), params={"billing_month": month}).pl()


def tag_coverage(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """Per currency: effective cost, the part reached through tags, and that share in %."""
    statement = load_sql("checks/tag_coverage")
    return con.sql(statement, params=sql_parameters(statement, billing_month=month)).pl()
