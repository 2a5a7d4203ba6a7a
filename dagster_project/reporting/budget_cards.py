"""The report's Budgets card (a table) and Anomalies card (a timeline of the month and a table),
and the engineer pack's alerts section.

Drawn like the rest of the report: server-side SVG (the chart kit of `charts.py`), every data
value through `esc`.
"""

from __future__ import annotations

import calendar
from datetime import date

import polars as pl

from dagster_project.reporting.charts import FONT, UP, esc, fit
from dagster_project.reporting.finance import FinanceViews, for_currency
from dagster_project.reporting.html_tables import Column, table


def budgets_card(views: FinanceViews, currency: str, cid: str, suffix: str) -> str:
    """Budgets of `currency`: month to date, forecast, days left; no card without a budget."""

    frame = for_currency(views.budgets, currency)
    if frame.height == 0:
        return ""
    over = frame.filter(pl.col("status") != "on_track").height
    columns = [Column("scope", "Scope"), Column("name", "Budget for"), Column("owner", "Owner"),
               Column("budget", "Budget", "money"), Column("month_to_date", "Month to date", "money"),
               Column("forecast", "Month-end forecast", "money"),
               Column("forecast_over_budget", "Forecast − budget", "signed_money"),
               Column("forecast_pct_of_budget", "Forecast % of budget", "pct"),
               Column("days_left", "Days left", "int"), Column("forecast_method", "Method"),
               Column("status", "Status")]
    through = frame["data_through"].max()
    return (f'<div class="card" id="{cid}-budgets"><h3>Budgets{esc(suffix)}</h3>'
            f'<p class="sub">Monthly budgets of finops.yaml in {esc(currency)}: spend through '
            f'{esc(through.isoformat() if through else "–")} and the month-end forecast (a trend with a '
            f'weekend term over the last days; docs/reports.md). {over} of {frame.height} '
            f'{"is" if over == 1 else "are"} forecast over budget.</p>'
            + table(frame, columns, highlight="over_budget") + "</div>")


def _timeline(frame: pl.DataFrame, month: date, chart_id: str) -> str:
    days = calendar.monthrange(month.year, month.month)[1]
    rows = sorted(set(frame["resource_name"].to_list()))
    left, width, row_h, top = 190, 560, 22, 18
    step = width / days
    height = top + row_h * len(rows) + 20
    out = [f'<svg class="chart" id="{esc(chart_id)}" role="img" viewBox="0 0 {left + width + 10} {height}" '
           f'width="100%" aria-label="Anomaly timeline">']
    for d in range(1, days + 1, 7 if days > 10 else 1):
        x = left + (d - 0.5) * step
        out.append(f'<text x="{x:.1f}" y="{top - 6}" font-size="{FONT - 2}" text-anchor="middle">{d}</text>')
    for i, name in enumerate(rows):
        y = top + i * row_h + row_h / 2
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="{FONT}" text-anchor="end">'
                   f'<title>{esc(name)}</title>{esc(fit(name, left - 12))}</text>'
                   f'<line x1="{left}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8dde3"/>')
        for r in frame.filter(pl.col("resource_name") == name).iter_rows(named=True):
            x = left + (r["day"].day - 0.5) * step
            excess = f"{r['excess']:.2f}"
            out.append(f'<circle class="mark anomaly" cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{UP}">'
                       f'<title>{esc(r["day"].isoformat())}: {esc(name)} +{esc(excess)} above expected'
                       f'</title></circle>')
    out.append("</svg>")
    return "".join(out)


def anomalies_card(views: FinanceViews, currency: str, cid: str, suffix: str) -> tuple[str, int]:
    """Anomalies of `currency`: a day-by-day timeline (one line per project or resource) and the
    table with the spend, the expected, the excess and the driver. Returns (html, charts drawn)."""

    frame = for_currency(views.anomalies, currency)
    head = f'<div class="card" id="{cid}-anomalies"><h3>Daily anomalies{esc(suffix)}</h3>'
    if frame.height == 0:
        return (head + '<p class="empty">No daily spend anomaly this month (per project and per Azure ML compute '
                'and deployment, against the trailing days of the same kind).</p></div>'), 0
    columns = [Column("day", "Day"), Column("scope", "Scope"), Column("resource_name", "Project / resource"),
               Column("owner", "Owner"), Column("spend", "Spend", "money"), Column("expected", "Expected", "money"),
               Column("excess", "Above expected", "signed_money"), Column("driver", "Driven by"),
               Column("driver_excess", "Driver's change", "signed_money")]
    shown = frame.with_columns(pl.col("day").cast(pl.String))
    return (head + f'<p class="sub">Days whose spend in {esc(currency)} rose above the median of the same kind of '
            'day (weekday or weekend) over the trailing weeks by more than the configured number of MADs; a '
            'project\'s anomaly names the resource whose own change explains most of it.</p>'
            + _timeline(frame, views.month, f"{cid}-chart-anomalies") + table(shown, columns) + "</div>"), 1


def engineer_alert_lines(frame: pl.DataFrame) -> list[str]:
    """The engineer pack's "Budget and anomaly alerts" section for one owner (empty without any):
    each budget overrun and anomaly with its numbers; they are listed with the findings below."""
    from dagster_project.reporting.engineer import md_text

    events = frame.filter(pl.col("rule_id").is_in(["budget", "anomaly"]))
    if events.height == 0:
        return []
    lines = ["## Budget and anomaly alerts", ""]
    for row in events.sort("rule_id", "resource_name").iter_rows(named=True):
        lines.append(f"- **{md_text(row['rule_id'])}** · {md_text(row['resource_name'])}: {md_text(row['action'])}")
    return [*lines, ""]
