"""The column types of the public tables: each one a DuckDB type and the Polars dtype that holds it.

Money and quantities are exact (`AMOUNT`, DECIMAL(38,10)), never float. `JSON` columns are DuckDB
`JSON` and travel through Polars as JSON text (`pl.String`): a findings frame carries `evidence`
as the text `json.dumps` wrote, and DuckDB stores it typed on insert.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class ColumnType:
    duckdb: str  # as written in DDL
    polars: pl.DataType
    described: str  # as DuckDB's DESCRIBE prints it (the DDL spelling normalized)


TEXT = ColumnType("VARCHAR", pl.String(), "VARCHAR")
JSON = ColumnType("JSON", pl.String(), "JSON")
DATE = ColumnType("DATE", pl.Date(), "DATE")
TIMESTAMP = ColumnType("TIMESTAMP", pl.Datetime("us"), "TIMESTAMP")
UTC_TIME = ColumnType("TIMESTAMPTZ", pl.Datetime("us", "UTC"), "TIMESTAMP WITH TIME ZONE")
AMOUNT = ColumnType("DECIMAL(38, 10)", pl.Decimal(38, 10), "DECIMAL(38,10)")
PERCENT = ColumnType("DECIMAL(18, 2)", pl.Decimal(18, 2), "DECIMAL(18,2)")
BIGINT = ColumnType("BIGINT", pl.Int64(), "BIGINT")
INTEGER = ColumnType("INTEGER", pl.Int32(), "INTEGER")
BOOLEAN = ColumnType("BOOLEAN", pl.Boolean(), "BOOLEAN")
NODE_HOURS = ColumnType("DECIMAL(38, 6)", pl.Decimal(38, 6), "DECIMAL(38,6)")  # a job's node-hours, to the second
RATIO = ColumnType("DECIMAL(38, 12)", pl.Decimal(38, 12), "DECIMAL(38,12)")  # a share of a whole, summing to 1
