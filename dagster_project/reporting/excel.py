"""The finance workbook (one sheet per view) and the chargeback CSV.

Numbers are written as numbers. Money columns are `Decimal(38, 10)` in Polars and are handed to
xlsxwriter as they are: the cell holds the exact decimal text (`<v>4784.3232662328</v>`), which
Excel reads as a double (15–17 significant digits — cents are never lost at these magnitudes) and
shows with the currency format `#,##0.00`. Nothing is cast to float on our side. Percentages are
the published percent values (65.99 means 65.99 %), formatted `0.00"%"`.

The chargeback CSV keeps the exact decimals as text, so its totals equal the warehouse's to the
last digit.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import xlsxwriter

from dagster_project.reporting.finance import FinanceViews

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = '0.00"%"'
DATE_FORMAT = "yyyy-mm-dd"

# Sheet name (Excel: at most 31 characters, no []:*?/\) → (title, frame).
HEADERS = {
    "billing_currency": "Currency", "currency": "Currency", "project": "Project", "owner": "Owner",
    "cost_center": "Cost center", "effective_cost": "Effective cost", "billed_cost": "Billed cost",
    "previous_effective_cost": "Previous month effective cost", "change": "Change", "change_pct": "Change %",
    "share_pct": "Share %", "billing_month": "Month", "rank": "Rank", "direction": "Direction",
    "coverage": "Project found by", "methods": "Allocation methods", "unallocated_effective_cost": "Unallocated",
    "unallocated_share_pct": "Unallocated %", "projects": "Projects", "open_findings": "Open findings",
    "resources": "Resources", "savings": "Estimated savings / month",
}


def _trend_wide(trend: pl.DataFrame) -> pl.DataFrame:
    """Trend as a readable grid: one row per currency and project, one column per month."""
    if trend.height == 0:
        return pl.DataFrame({"billing_currency": [], "project": []}, schema={"billing_currency": pl.String,
                                                                            "project": pl.String})
    months = sorted(set(trend["billing_month"].to_list()))
    wide = (trend.with_columns(pl.col("billing_month").dt.strftime("%Y-%m").alias("month"))
            .pivot(on="month", index=["billing_currency", "project"], values="effective_cost")
            .sort(["billing_currency", "project"]))
    ordered = [f"{m:%Y-%m}" for m in months]
    latest = ordered[-1]
    wide = wide.with_columns([pl.col(c).fill_null(0) for c in ordered])
    return wide.select("billing_currency", "project", *ordered).sort(
        ["billing_currency", latest, "project"], descending=[False, True, False])


def workbook_sheets(views: FinanceViews) -> dict[str, tuple[str, pl.DataFrame]]:
    month = f"{views.month:%B %Y}"
    return {
        "Summary": (f"Totals per currency — {month} (effective cost unless stated)", views.summary),
        "Spend by project": (f"Spend by project — {month}", views.projects),
        "Trend": (f"Effective cost per project and month, up to {month}", _trend_wide(views.trend)),
        "Top movers": (f"Top movers month over month — {month}", views.movers),
        "Tag coverage": (f"How the project was found, share of effective cost — {month}", views.coverage),
        "Spend by owner": (f"Spend by owner — {month}", views.owners),
        "Spend by cost center": (f"Spend by cost center — {month}", views.cost_centers),
        "Chargeback": (f"Chargeback lines — {month} (exact amounts)", views.chargeback),
        "Cleanup savings": (f"Open cleanup findings and estimated monthly savings — {month}", views.findings),
    }


def _format_for(name: str, dtype: pl.DataType) -> str | None:
    if name.endswith("_pct"):
        return PERCENT_FORMAT
    if isinstance(dtype, pl.Decimal) or dtype.is_float():
        return MONEY_FORMAT
    if dtype == pl.Date:
        return DATE_FORMAT
    return None


def _width(frame: pl.DataFrame, name: str, header: str) -> int:
    """A column wide enough for its header and its longest value as shown (capped)."""
    longest = len(header)
    if frame.height:
        values = frame[name]
        if isinstance(values.dtype, pl.Decimal) or values.dtype.is_float():
            longest = max(longest, *(len(f"{v:,.2f}") for v in values.to_list() if v is not None), 0)
        else:
            longest = max(longest, int(values.cast(pl.String).str.len_chars().max() or 0))
    characters = min(max(longest + 2, 9), 60)
    return characters * 7 + 10  # polars takes widths in pixels (about 7 per character in Calibri 11)


def write_workbook(views: FinanceViews, path: Path) -> list[str]:
    """Write the workbook: a title row, then the view as an Excel table. Returns the sheet names."""
    sheets = workbook_sheets(views)
    with xlsxwriter.Workbook(str(path)) as book:
        title_format = book.add_format({"bold": True, "font_size": 14})
        for sheet, (title, frame) in sheets.items():
            worksheet = book.add_worksheet(sheet)
            worksheet.write_string(0, 0, title, title_format)
            headers = {c: HEADERS.get(c, c) for c in frame.columns}
            formats = {c: f for c in frame.columns if (f := _format_for(c, frame.schema[c])) is not None}
            # The trend's month columns are money too.
            widths = {headers[c]: _width(frame, c, headers[c]) for c in frame.columns}
            renamed = frame.rename(headers)
            if renamed.width == 0:
                continue
            renamed.write_excel(
                workbook=book,
                worksheet=sheet,
                position="A3",
                table_style="Table Style Light 9",
                column_formats={headers[c]: f for c, f in formats.items()},
                column_widths=widths,
                autofit=False,
                include_header=True,
                freeze_panes=(3, 0),
            )
    return list(sheets)


def write_chargeback_csv(views: FinanceViews, path: Path) -> int:
    """project, owner, cost_center, currency, effective_cost, billed_cost; exact decimals as text."""
    frame = views.chargeback.select("project", "owner", "cost_center", "currency", "effective_cost", "billed_cost")
    frame.write_csv(path)
    return frame.height
