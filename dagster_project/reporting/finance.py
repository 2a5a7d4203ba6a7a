"""The finance views of one month, read from the published tables as Polars frames.

Every view keeps money as `Decimal(38, 10)` and carries its currency: amounts in different
currencies are never added together. The SQL lives in `sql/reports/finance_*.sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import polars as pl

from dagster_project.sql import load_sql

UNALLOCATED = "(unallocated)"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FinanceViews:
    """What the finance pack shows for `month`; one frame per view, each with `billing_currency`."""

    month: date
    summary: pl.DataFrame  # per currency: totals, previous month, change, unallocated share
    projects: pl.DataFrame  # spend per project, previous month, change, share
    trend: pl.DataFrame  # effective cost per project and month, every month up to `month`
    movers: pl.DataFrame  # top movers month over month (empty without a previous month)
    coverage: pl.DataFrame  # own tag / inherited tag / rule or shared split / unallocated
    owners: pl.DataFrame  # spend per owner ('(no owner)' for none)
    cost_centers: pl.DataFrame  # spend per cost center ('(no cost center)' for none)
    chargeback: pl.DataFrame  # project, owner, cost center, currency, effective and billed cost
    findings: pl.DataFrame  # open findings and savings per currency (each resource once)

    @property
    def currencies(self) -> list[str]:
        """The month's currencies, largest spend first."""
        return self.summary["billing_currency"].to_list()

    @property
    def months(self) -> list[date]:
        return sorted(set(self.trend["billing_month"].to_list()))

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"


def read_finance_views(con: duckdb.DuckDBPyConnection, month: date, top_movers: int = 10) -> FinanceViews:
    """Read every finance view of `month` (first day of the month) from the published tables."""
    params = {"billing_month": month}

    def view(name: str, **extra) -> pl.DataFrame:
        return con.sql(load_sql(f"reports/{name}"), params={**params, **extra}).pl()

    return FinanceViews(
        month=month,
        summary=view("finance_summary"),
        projects=view("finance_project_spend"),
        trend=view("finance_trend"),
        movers=view("finance_top_movers", top_n=top_movers),
        coverage=view("finance_tag_coverage"),
        owners=view("finance_owner_spend"),
        cost_centers=view("finance_cost_center_spend"),
        chargeback=view("finance_chargeback"),
        findings=view("finance_findings_summary"),
    )


def for_currency(frame: pl.DataFrame, currency: str, column: str = "billing_currency") -> pl.DataFrame:
    return frame.filter(pl.col(column) == currency)


def money(value: Decimal | None, signed: bool = False) -> str:
    """`1234.5` → `1,234.50` (half up to the cent); `signed` adds `+` to positive values."""
    if value is None:
        return "–"
    text = f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):,}"
    if text in ("-0.00",):
        text = "0.00"
    return f"+{text}" if signed and not text.startswith("-") and text != "0.00" else text


def percent(value: Decimal | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    text = f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):,}"
    return (f"+{text}" if signed and not text.startswith("-") and text != "0.00" else text) + "%"
