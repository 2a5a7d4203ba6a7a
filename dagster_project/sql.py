"""Loads the SQL statements kept in `sql/` (one statement per file, named after what it builds),
and binds the domain vocabulary they name.

`sql/` is layered (docs/sql.md): `schema/` (views and macros of the warehouse), `staging/` (export
files read and typed), `intermediate/` (the month's working tables), `marts/` (what a month
publishes), `checks/` (asset checks), `reports/` (what the packs read), `publication/` (the
publication protocol's bookkeeping).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "sql"  # wheel installs: force-included here
_SOURCE = Path(__file__).resolve().parent.parent / "sql"  # source checkout / editable install
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")


def sql_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _SOURCE


@cache
def load_sql(name: str) -> str:
    """Return the statement in `sql/<name>.sql`, e.g. `load_sql("reports/finance_summary")`."""
    path = sql_dir() / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"SQL statement not found: {path}")
    return path.read_text(encoding="utf-8")


def sql_parameters(statement: str, **params: object) -> dict[str, object]:
    """`params` plus each vocabulary value the statement binds (`$unallocated`, `$tag_methods`, …;
    see `dagster_project.attribution.methods.sql_vocabulary`). DuckDB refuses unused parameters, so
    only the names the statement uses are added."""
    from dagster_project.attribution.methods import sql_vocabulary

    used = set(_PARAMETER.findall(re.sub(r"--[^\n]*", "", statement)))  # comments may name a parameter
    return {**{k: v for k, v in sql_vocabulary().items() if k in used}, **params}


MACROS = ("change_pct", "share_pct")  # the macros statements of the warehouse and the packs use


def create_macros(con) -> None:
    """Create `MACROS` on a connection (temporary: readers too)."""
    for name in MACROS:
        con.execute(load_sql(f"macros/{name}"))


def relation_names(con) -> frozenset[str]:
    """The name of every table and view `con` sees, in any schema, temporary ones included (what
    `information_schema.tables` lists). One catalog read: a caller that asks about several names
    reads it once; each read costs milliseconds (DuckDB builds its catalog rows), not microseconds."""
    return frozenset(row[0] for row in con.execute(load_sql("schema/relation_names")).fetchall())


def relation_exists(con, name: str) -> bool:
    """Whether `con` sees a table or view named `name` (`relation_names`)."""
    return name in relation_names(con)


@dataclass(frozen=True)
class Relations:
    """What a connection's catalog held when read (`relations`): `names`, every table and view in
    any schema (what `relation_names` lists); `columns`, by bare name, the columns of those in the
    current schema (what `information_schema.columns` lists there; temporary views included)."""

    names: frozenset[str]
    columns: Mapping[str, frozenset[str]]

    def columns_of(self, name: str) -> frozenset[str]:
        """The columns of `name` in the current schema; empty when there is no such relation."""
        return self.columns.get(name, frozenset())


def relations(con) -> Relations:
    """The names and columns of every relation `con` sees, in one catalog read (~5 ms, where
    each question to `information_schema.columns` costs ~5 ms): for a caller that asks about
    several optional tables (the packs ask about eight a month). Read it again after creating or
    dropping one."""
    names: set[str] = set()
    columns: dict[str, set[str]] = {}
    for table, column, in_current_schema in con.execute(load_sql("schema/relation_columns")).fetchall():
        names.add(table)
        if in_current_schema:
            columns.setdefault(table, set()).add(column)
    return Relations(frozenset(names), {table: frozenset(cols) for table, cols in columns.items()})
