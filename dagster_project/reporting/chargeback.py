"""The chargeback: one line per billing month × currency × project × owner × cost center, in cents
that add up to the invoice, with the exact amounts beside them for audit.

Per currency, `effective_cost` and `billed_cost` are rounded to the cent by largest remainder
(`dagster_project.money.allocate`), so the lines of a currency add up exactly to that currency's
exact total rounded half up — the figure on the totals row, in the report and in the CLI. Each
line is within one cent of its exact amount (`*_exact`, ten decimals, which add up to
`cost_allocation` to the last digit).

Text cells that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or
a carriage return) get a leading `'` in the CSV: tag values are untrusted, and a chargeback file
is opened in Excel.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dagster_project.money import plain_cents
from dagster_project.reporting.finance import FinanceViews, with_cents

LINE, TOTAL = "line", "total"
CSV_COLUMNS = ["row_type", "billing_month", "currency", "project", "owner", "cost_center", "effective_cost",
               "billed_cost", "effective_cost_exact", "billed_cost_exact", "lines"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def chargeback_lines(views: FinanceViews) -> pl.DataFrame:
    """The month's chargeback lines, amounts in cents (largest remainder per currency) and exact."""
    exact = views.chargeback
    frame = exact.with_columns(pl.col("effective_cost").alias("effective_cost_exact"),
                               pl.col("billed_cost").alias("billed_cost_exact"))
    return with_cents(frame, ["effective_cost", "billed_cost"], by=["currency"]).select(
        "billing_month", "currency", "project", "owner", "cost_center", "effective_cost", "billed_cost",
        "effective_cost_exact", "billed_cost_exact")


def chargeback_totals(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per currency: the sums of the cents (= the exact total rounded half up) and of the
    exact amounts, and the number of lines."""
    return (lines.group_by("billing_month", "currency", maintain_order=True)
            .agg(pl.col("effective_cost").sum(), pl.col("billed_cost").sum(),
                 pl.col("effective_cost_exact").sum(), pl.col("billed_cost_exact").sum(),
                 pl.len().cast(pl.Int64).alias("lines")))


def safe_cell(value: object) -> str:
    """A text cell a spreadsheet will not evaluate: `=HYPERLINK(…)` → `'=HYPERLINK(…)`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def chargeback_csv_rows(views: FinanceViews) -> list[list[str]]:
    """Header, then per currency its lines and its totals row (`row_type` says which)."""
    lines = chargeback_lines(views)
    totals = {r["currency"]: r for r in chargeback_totals(lines).iter_rows(named=True)}
    rows = [CSV_COLUMNS]
    for currency in totals:
        for r in lines.filter(pl.col("currency") == currency).iter_rows(named=True):
            rows.append([LINE, r["billing_month"].isoformat(), safe_cell(r["currency"]), safe_cell(r["project"]),
                         safe_cell(r["owner"]), safe_cell(r["cost_center"]), plain_cents(r["effective_cost"]),
                         plain_cents(r["billed_cost"]), str(r["effective_cost_exact"]), str(r["billed_cost_exact"]),
                         "1"])
        t = totals[currency]
        rows.append([TOTAL, t["billing_month"].isoformat(), safe_cell(currency), "", "", "",
                     plain_cents(t["effective_cost"]), plain_cents(t["billed_cost"]), str(t["effective_cost_exact"]),
                     str(t["billed_cost_exact"]), str(t["lines"])])
    return rows


def write_chargeback_csv(views: FinanceViews, path: Path) -> int:
    """Write `chargeback.csv` (RFC 4180, UTF-8); returns the number of chargeback lines."""
    import csv

    rows = chargeback_csv_rows(views)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return sum(1 for r in rows[1:] if r[0] == LINE)
