"""Savings totals: per currency, each resource once, at its largest savings.

A finding's savings are in the currency of the cost they come from (`findings.currency`); a total
never adds two currencies. Several rules can flag one resource (an instance left running and
without idle shutdown); their savings overlap, so a resource counts once, at its largest savings.
That rule has one home, the `counted_findings` SQL macro (`sql/macros/counted_findings.sql`):
the CLI summary, the finance and the engineer packs read it from the warehouse, and the findings
asset runs the CLI summary's query over the frame it has just built.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

import duckdb
import polars as pl

from dagster_project.sql import load_sql, sql_parameters


def install_counted_findings(con: duckdb.DuckDBPyConnection) -> None:
    """Define `counted_findings(month)` on `con` (a temp macro: read-only connections too)."""
    con.execute(load_sql("macros/counted_findings"))


def open_findings_per_currency(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """billing_currency, open_findings, savings of `month` from the `findings` relation of `con`."""
    install_counted_findings(con)
    statement = load_sql("reports/run_summary_findings")
    return con.sql(statement, params=sql_parameters(statement, billing_month=month)).pl()


@cache
def _scratch_database() -> duckdb.DuckDBPyConnection:
    """An empty in-memory DuckDB for the process, opened on first use: opening one costs ~25 ms,
    a cursor of it well under one."""
    return duckdb.connect()


def savings_per_currency(findings: pl.DataFrame) -> dict[str, Decimal]:
    """Open findings of a one-month frame: currency → estimated monthly savings."""
    if findings.height == 0:
        return {}
    months = findings["billing_month"].unique().to_list()
    if len(months) != 1:
        raise ValueError(f"savings_per_currency takes one month's findings, not {len(months)} months")
    # A cursor: its own connection (the registered frame and the temp macro are its alone, gone
    # when it closes) to an in-memory database opened once, not a new database per call.
    with _scratch_database().cursor() as con:
        con.register("findings", findings)
        totals = open_findings_per_currency(con, months[0])
    return {r["billing_currency"]: r["savings"] for r in totals.iter_rows(named=True) if r["open_findings"]}


def counted_savings_per_currency(frame: pl.DataFrame) -> dict[str, Decimal]:
    """Savings per currency of a frame of open findings carrying `counted` (engineer_findings)."""
    if frame.height == 0:
        return {}
    per_currency = frame.filter(pl.col("counted")).group_by("currency").agg(pl.col("savings").sum()).sort("currency")
    return {r["currency"]: r["savings"] for r in per_currency.iter_rows(named=True)}
