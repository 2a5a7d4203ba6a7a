"""Monthly tables stored one physical table per month, so that publishing a month moves no row.

A catalogued table with `storage = "per_month"` (today `cost_line_items`, by far the largest) is
not one DuckDB table. Its months live in the schema `month_tables`:

* `<table>__template`: no rows, the catalog's DDL (gives the views their columns when no month is
  there yet);
* `<table>__YYYY_MM`: the published month;
* `<table>__staged_YYYY_MM`: the month being built (at most one build of a month at a time).

`main.<table>` is a view over the template and the published months, `staging.<table>` one over
the template and the staged months, so every reader (SQL in `sql/`, the Parquet mirror, users'
own queries, a read-only connection opened from any working directory or after the output folder
moved: the view names tables of the same file, no path) sees one table, as before.

Publishing a month (`publish`) drops the published month's table, renames the staged table into
its place and redefines the two views, inside the caller's publication transaction: readers see
the month before or after, never a mix, and the rows are written once, by the load. Copying them
from a staging table into the public one cost about as much as loading them (docs/performance.md).

Names are built here only, from the catalog's table names and a date, never from input.
"""

from __future__ import annotations

from datetime import date

import duckdb

from dagster_project.catalog import TABLES

SCHEMA = "month_tables"
PER_MONTH_TABLES: tuple[str, ...] = tuple(n for n, t in TABLES.items() if t.storage == "per_month")


def _table(table: str) -> str:
    if table not in PER_MONTH_TABLES:
        raise ValueError(f"not a per-month table: {table!r}")
    return table


def _db(con: duckdb.DuckDBPyConnection) -> str:
    from dagster_project.warehouse import catalog  # the warehouse imports this module

    return catalog(con)


def template_name(table: str) -> str:
    return f"{_table(table)}__template"


def published_name(table: str, month: date) -> str:
    return f"{_table(table)}__{month:%Y_%m}"


def staged_name(table: str, month: date) -> str:
    return f"{_table(table)}__staged_{month:%Y_%m}"


def qualified(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """`"db".month_tables.<name>`: temporary views shadow bare names in writer connections."""
    return f"{_db(con)}.{SCHEMA}.{name}"


def _months(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    """The published and the staged month tables of `table`, oldest first."""
    names = [row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = $schema AND starts_with(table_name, $prefix) ORDER BY table_name",
        {"schema": SCHEMA, "prefix": f"{table}__"}).fetchall()]
    staged_prefix = f"{table}__staged_"
    published = [n for n in names if n != template_name(table) and not n.startswith(staged_prefix)]
    return published, [n for n in names if n.startswith(staged_prefix)]


def _view_sql(con: duckdb.DuckDBPyConnection, table: str, schema: str, months: list[str]) -> str:
    columns = ", ".join(TABLES[table].column_names)
    parts = [f"SELECT {columns} FROM {qualified(con, name)}"  # noqa: S608 (names built here)
             for name in (template_name(table), *months)]
    return f"CREATE OR REPLACE VIEW {_db(con)}.{schema}.{table} AS " + "\nUNION ALL ".join(parts)  # noqa: S608


def refresh(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Redefine `main.<table>` and `staging.<table>` over the month tables there are now."""
    published, staged = _months(con, table)
    con.execute(_view_sql(con, table, "main", published))
    con.execute(_view_sql(con, table, "staging", staged))


def create(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The schema, the template and the two views (idempotent); an older file's plain tables are
    moved into month tables first (`_migrate`)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_db(con)}.{SCHEMA}")
    con.execute(TABLES[_table(table)].create_sql(qualified(con, template_name(table))))
    _migrate(con, table)
    refresh(con, table)


def _base_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` is a base table: `main.<table>` is a view once migrated, and
    information_schema (`warehouse._table_exists`) lists views too."""
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = $schema AND table_name = $name", {"schema": schema, "name": table}).fetchall()[0][0] > 0


def _migrate(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A file written before per-month storage holds `main.<table>` (and `staging.<table>`) as plain
    tables: their months become month tables, once, in one transaction."""
    from dagster_project.warehouse import transaction

    for schema, name_of in (("main", published_name), ("staging", staged_name)):
        if not _base_table(con, schema, table):
            continue
        source = f"{_db(con)}.{schema}.{table}"
        with transaction(con):
            months = [row[0] for row in con.execute(f"SELECT DISTINCT billing_month FROM {source}").fetchall()]  # noqa: S608
            for month in months:
                target = qualified(con, name_of(table, month))
                con.execute(TABLES[table].create_sql(target))
                con.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE billing_month = $m",  # noqa: S608
                            {"m": month})
            con.execute(f"DROP TABLE {source}")


def begin_staging(con: duckdb.DuckDBPyConnection, table: str, month: date) -> str:
    """A new empty staged table for `month` (replacing an earlier build of it), inside the caller's
    transaction; its qualified name, for the load to write into."""
    staged = qualified(con, staged_name(table, month))
    con.execute(f"DROP TABLE IF EXISTS {staged}")
    con.execute(TABLES[table].create_sql(staged))
    refresh(con, table)
    return staged


def drop_staged(con: duckdb.DuckDBPyConnection, table: str, month: date) -> None:
    """Forget the staged build of `month`, inside the caller's transaction."""
    con.execute(f"DROP TABLE IF EXISTS {qualified(con, staged_name(table, month))}")
    refresh(con, table)


def publish(con: duckdb.DuckDBPyConnection, table: str, month: date) -> int:
    """Put the staged month in place of the published one, inside the caller's transaction; the
    month's row count. Nothing staged: the published month is left as it is."""
    if not _base_table(con, SCHEMA, staged_name(table, month)):
        raise ValueError(f"{table} {month:%Y-%m}: nothing staged to publish")
    published = qualified(con, published_name(table, month))
    con.execute(f"DROP TABLE IF EXISTS {published}")
    con.execute(f"ALTER TABLE {qualified(con, staged_name(table, month))} RENAME TO {published_name(table, month)}")
    refresh(con, table)
    return con.execute(f"SELECT count(*) FROM {published}").fetchall()[0][0]  # noqa: S608
