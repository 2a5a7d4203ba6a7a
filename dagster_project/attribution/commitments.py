"""Reservations and savings plans seen from finance: bought, covered, unused — per commitment.

Commitment rows are attributed like any row (covered usage follows the compute that ran), except
the unused hours and the purchases, which go to their explicit projects (`resolve.py`). This view
puts the three side by side per commitment and currency, from the line items as delivered
(`sql/reports/finance_commitments.sql`). The finance pack shows it as a table, one row per
commitment: purchases (billed), covered usage (effective, hours), unused (effective, hours),
utilization %, each amount labelled with its currency.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from dagster_project.sql import load_sql


def finance_commitments(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """One row per commitment and currency of `month`: purchased_billed_cost,
    covered_effective_cost / covered_hours, unused_effective_cost / unused_hours, utilization_pct."""
    return con.sql(load_sql("reports/finance_commitments"), params={"billing_month": month}).pl()
