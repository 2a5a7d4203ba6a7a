"""The catalog's two building blocks: a column and a table (schema as code)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from dagster_project.catalog.types import ColumnType


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = False  # NOT NULL
    default: str | None = None  # SQL literal, e.g. "0" or "''"

    def described(self, description: str) -> Column:
        """The same column with a table-specific description (a shared field, reused)."""
        return replace(self, description=description)

    def ddl(self) -> str:
        text = f"{self.name} {self.type.duckdb}"
        if self.required:
            text += " NOT NULL"
        if self.default is not None:
            text += f" DEFAULT {self.default}"
        return text


Kind = Literal["monthly", "snapshot", "view"]


@dataclass(frozen=True)
class Table:
    """One public (or internal) table: its columns in order, how it is partitioned, who builds it.

    `kind`: `monthly` tables are replaced a billing month at a time (partition `billing_month`,
    Parquet per month); `snapshot` tables (the inventory) are replaced whole; `view`s are derived
    in DuckDB only (their body is `sql/schema/<name>.sql`). `asset` is the Dagster asset that
    builds (stages) it. `key` orders a snapshot table's rows. `attribution` says whether
    attribution needs the inventory table (`required`), reads it when present (`optional`), or
    reads its running hours in SQL (`hours`). `storage` `per_month`: a monthly table kept as one
    physical table per month behind a view of the public name (`dagster_project.month_tables`), so
    that publishing a month renames its staged table instead of copying its rows.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    kind: Kind
    asset: str
    contract: bool = True  # False: internal, may change without notice
    key: str | None = None
    attribution: Literal["required", "optional", "hours"] | None = None
    storage: Literal["table", "per_month"] = "table"

    @property
    def partition(self) -> str | None:
        return "billing_month" if self.kind == "monthly" else None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.type.polars for c in self.columns})

    def create_sql(self, name: str | None = None) -> str:
        """`CREATE TABLE IF NOT EXISTS` for the connection's default schema (public or staging), or
        under `name` (a qualified name of our own: a per-month table)."""
        body = ",\n".join(f"    {c.ddl()}" for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {name or self.name} (\n{body}\n)"
