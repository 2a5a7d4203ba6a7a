"""The finance views of one month, read from the published tables as Polars frames.

Every view keeps money as `Decimal(38, 10)` and carries its currency: amounts in different
currencies are never added together. The SQL lives in `sql/reports/finance_*.sql`.

Amounts stay exact in every view; they are rounded only when shown (`dagster_project.money`, half
up to the cent). The one exception is the chargeback, whose lines are re-rounded to cents by
largest remainder (`with_cents`) so they add up to the invoice total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext

import duckdb
import polars as pl

from dagster_project.attribution.commitments import finance_commitments
from dagster_project.attribution.methods import UNALLOCATED
from dagster_project.findings.savings import install_counted_findings
from dagster_project.money import (
    CENT,
    allocate_optional,
    format_money,
    round_to,
    total,
)
from dagster_project.reporting.job_showback import JobViews, read_job_views
from dagster_project.reporting.provenance import Provenance, read_provenance
from dagster_project.reporting.review import Review, read_review
from dagster_project.sql import Relations, create_macros, load_sql, relations, sql_parameters

CURRENCY = "billing_currency"
CENTS = pl.Decimal(38, 2)
FRACTION = pl.Decimal(38, 10)
FRACTION_UNIT = Decimal("1E-10")
DRIVERS_PER_MOVER = 3  # resources named for each top mover; the rest are summed as "n others"

# `attribution.commitments.finance_commitments`, for a warehouse without cost line items.
COMMITMENT_SCHEMA = {"billing_month": pl.Date, CURRENCY: pl.String, "commitment_discount_id": pl.String,
                     "commitment_discount_name": pl.String, "commitment_discount_type": pl.String,
                     **{c: FRACTION for c in ("purchased_billed_cost", "covered_effective_cost", "covered_hours",
                                              "unused_effective_cost", "unused_hours")},
                     "utilization_pct": pl.Decimal(18, 2)}
COMMITMENT_SOURCE_COLUMNS = {"billing_month", CURRENCY, "commitment_discount_id", "commitment_discount_name",
                             "commitment_discount_type", "commitment_discount_status", "charge_category",
                             "consumed_unit", "billed_cost", "effective_cost", "consumed_quantity"}

KIND_LABELS = {"compute": "compute", "endpoint": "endpoint", "workspace": "workspace",
               "dependency": "workspace resource", "other": "other resource"}


@dataclass(frozen=True)
class FinanceViews:
    """What the finance pack shows for `month`; one frame per view, each with its currency."""

    month: date
    summary: pl.DataFrame  # per currency: totals, previous month, change, unallocated share
    projects: pl.DataFrame  # spend per project, previous month, change, share
    trend: pl.DataFrame  # effective cost per project and month, every month up to `month`
    movers: pl.DataFrame  # top movers month over month (empty without a previous month)
    drivers: pl.DataFrame  # per project and resource: the change from the previous month
    coverage: pl.DataFrame  # own tag / inherited tag / rule or shared split / unallocated
    owners: pl.DataFrame  # spend per owner ('(no owner)' for none)
    cost_centers: pl.DataFrame  # spend per cost center ('(no cost center)' for none)
    chargeback: pl.DataFrame  # month, currency, project, owner, cost center, exact effective and billed
    findings: pl.DataFrame  # open findings and savings per currency (each resource once)
    findings_by_project: pl.DataFrame  # the same per project
    open_findings: pl.DataFrame  # every open finding (owner, resource, savings, command)
    unallocated: pl.DataFrame  # what '(unallocated)' is made of, with owner hints and the fix
    # per reservation / savings plan and currency: purchases, covered usage, unused, utilization
    commitments: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COMMITMENT_SCHEMA))
    provenance: Provenance = field(default_factory=Provenance)
    jobs: JobViews = field(default_factory=JobViews)  # shared clusters: idle share, top experiments
    # budgets with month to date and forecast (finance_budgets); daily anomalies (finance_anomalies)
    budgets: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={CURRENCY: pl.String}))
    anomalies: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={CURRENCY: pl.String}))
    review: Review | None = None  # changes since the last review (reporting/review.py)

    @property
    def currencies(self) -> list[str]:
        """The month's currencies, largest spend first."""
        return self.summary[CURRENCY].to_list()

    @property
    def months(self) -> list[date]:
        return sorted(set(self.trend["billing_month"].to_list()))

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"


def read_finance_views(con: duckdb.DuckDBPyConnection, month: date, top_movers: int = 10) -> FinanceViews:
    """Read every finance view of `month` (first day of the month) from the published tables."""
    params = {"billing_month": month}
    create_macros(con)  # finance_summary's change, the shares (readers too)
    install_counted_findings(con)  # the finance_findings_* views count each resource once
    present = relations(con)  # one catalog read for every optional table below

    def view(name: str, **extra) -> pl.DataFrame:
        statement = load_sql(f"reports/{name}")
        return con.sql(statement, params=sql_parameters(statement, **params, **extra)).pl()

    return FinanceViews(
        month=month,
        summary=view("finance_summary"),
        projects=view("finance_project_spend"),
        trend=view("finance_trend"),
        movers=view("finance_top_movers", top_n=top_movers),
        drivers=view("finance_mover_drivers"),
        coverage=view("finance_tag_coverage"),
        owners=view("finance_owner_spend"),
        cost_centers=view("finance_cost_center_spend"),
        chargeback=view("finance_chargeback"),
        findings=view("finance_findings_summary"),
        findings_by_project=view("finance_findings_by_project"),
        open_findings=view("finance_open_findings"),
        unallocated=view("finance_unallocated"),
        commitments=read_commitments(con, month, present),
        provenance=read_provenance(con, month, present),
        jobs=read_job_views(con, month, present=present),
        # A warehouse from before budgets (published tables only) has no budget_status.
        budgets=view("finance_budgets") if present.columns_of("budget_status") else pl.DataFrame(
            schema={CURRENCY: pl.String}),
        anomalies=view("finance_anomalies"),
        review=read_review(con, month, present),
    )


def read_commitments(con: duckdb.DuckDBPyConnection, month: date, present: Relations | None = None) -> pl.DataFrame:
    """The month's commitments (`finance_commitments`); empty when the warehouse holds no cost
    line items to read them from (a warehouse of published tables only). `present`: the
    connection's `relations`, when the caller has read them."""
    if not COMMITMENT_SOURCE_COLUMNS <= (present or relations(con)).columns_of("cost_line_items"):
        return pl.DataFrame(schema=COMMITMENT_SCHEMA)
    return finance_commitments(con, month)


def for_currency(frame: pl.DataFrame, currency: str, column: str = CURRENCY) -> pl.DataFrame:
    return frame.filter(pl.col(column) == currency)


# -- rounding for people ---------------------------------------------------------------------------

def _groups(frame: pl.DataFrame, by: list[str]) -> list[list[int]]:
    """Row positions per group of `by` (all rows in one group when `by` is empty), in row order."""
    if not by:
        return [list(range(frame.height))]
    groups: dict[tuple, list[int]] = {}
    for index, key in enumerate(frame.select(by).iter_rows()):
        groups.setdefault(key, []).append(index)
    return list(groups.values())


def with_cents(frame: pl.DataFrame, columns: list[str], by: list[str] | None = None) -> pl.DataFrame:
    """The money `columns` rounded to the cent by largest remainder within each group of `by`
    (default: the currency column when there is one): the rounded rows of a group add up exactly
    to the group's exact total rounded half up. Nulls stay null. Used for the chargeback only."""
    if by is None:
        by = [c for c in (CURRENCY, "currency") if c in frame.columns][:1]
    groups = _groups(frame, by)
    replaced = []
    for name in columns:
        values = frame[name].to_list()
        out: list[Decimal | None] = [None] * frame.height
        for rows in groups:
            for index, value in zip(rows, allocate_optional([values[i] for i in rows]), strict=True):
                out[index] = value
        replaced.append(pl.Series(name, out, dtype=CENTS))
    return frame.with_columns(replaced) if replaced else frame


def with_fractions(frame: pl.DataFrame, amount: str, name: str = "share", by: list[str] | None = None) -> pl.DataFrame:
    """Add `name`: each row's `amount` as a fraction of its group's total (default group: the
    currency), exact to ten decimals — the workbook's percent cells. Null when the total is zero."""
    if by is None:
        by = [c for c in (CURRENCY, "currency") if c in frame.columns][:1]
    values = frame[amount].to_list()
    out: list[Decimal | None] = [None] * frame.height
    for rows in _groups(frame, by):
        group_total = total(values[i] for i in rows)
        if group_total == 0:
            continue
        with localcontext() as ctx:
            ctx.prec = 80
            for i in rows:
                out[i] = round_to((values[i] or Decimal(0)) / group_total, FRACTION_UNIT)
    return frame.with_columns(pl.Series(name, out, dtype=FRACTION))


def column_total(frame: pl.DataFrame, column: str) -> Decimal | None:
    """The exact total of a column; None when every value is null."""
    values = [v for v in frame[column].to_list() if v is not None]
    return total(values) if values else None


def percent_to_fraction(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Published percentages (65.99 meaning 65.99 %) as fractions (0.6599), exactly."""
    return frame.with_columns([(pl.col(c).cast(pl.Decimal(38, 6)) / 100).cast(pl.Decimal(38, 6)).alias(c)
                               for c in columns if c in frame.columns])


# -- derived views -------------------------------------------------------------------------------

def mover_explanations(views: FinanceViews, currency: str, limit: int = DRIVERS_PER_MOVER) -> dict[str, list[dict]]:
    """Per top mover of `currency`: the resources whose change explains it, largest change first
    (at most `limit`), then one line summing the other resources. Changes are exact."""
    drivers = for_currency(views.drivers, currency)
    out: dict[str, list[dict]] = {}
    for project in for_currency(views.movers, currency)["project"].to_list():
        rows = drivers.filter(pl.col("project") == project).sort("rank").to_dicts()
        lines = [{"resource": r["resource"], "kind": KIND_LABELS.get(r["aml_kind"], r["aml_kind"]),
                  "change": r["change"], "previous": r["previous_effective_cost"], "current": r["effective_cost"],
                  "others": 0} for r in rows[:limit]]
        rest = rows[limit:]
        if rest:
            lines.append({"resource": f"{len(rest)} other resource{'s' if len(rest) != 1 else ''}", "kind": "",
                          "change": total(r["change"] for r in rest), "previous": None, "current": None,
                          "others": len(rest)})
        out[project] = lines
    return out


def explanation_text(lines: list[dict]) -> str:
    """`ci-bob-gpu (compute) +120.00; appi (workspace resource) -3.10; 2 other resources +0.40`."""
    parts = []
    for line in lines:
        kind = f" ({line['kind']})" if line["kind"] else ""
        parts.append(f"{line['resource']}{kind} {format_money(line['change'], signed=True)}")
    return "; ".join(parts) or "no resource changed"


__all__ = ["CENT", "UNALLOCATED", "FinanceViews", "column_total", "explanation_text", "for_currency", "mover_explanations",
           "percent_to_fraction", "read_commitments", "read_finance_views", "with_cents",
           "with_fractions"]
