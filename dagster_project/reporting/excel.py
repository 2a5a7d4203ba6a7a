"""The finance workbook: one sheet per view, each a title, a note and one named Excel table per
currency, with a totals row where a total means something, and a print setup that fits a page.

* **Amounts** are numbers holding the exact decimal, shown to the cent (`#,##0.00`, which rounds
  half up like the rest of the pack); a totals row is a `SUBTOTAL(109, …)` over the column's cells,
  with the exact sum stored as the cell's value, so it equals the sum of its rows. The Chargeback
  sheet holds the chargeback lines in cents (largest remainder, as in `chargeback.csv`) with the
  exact amounts beside them.
* **Percentages** are fractions (0.6599) with a percent format (`0.00%`), so formulas work; a
  share is the exact fraction of the currency's total, so a table's shares add up to 100 %.
* **Tables** are named for what they hold, per currency: `ProjectSpend_USD`, `Trend_USD`, …,
  `Commitments_USD`, `ClusterIdle_USD`, `TopExperiments_USD`, `Findings_USD`; `Summary`, `SourcesAbout` and `ExportRuns` hold every currency.
* **Print setup**: A4 landscape, one page wide, the table's header row repeated on every page,
  the title and sheet name in the page header, `Page n of m`, the file and the generation time in
  the footer.

Text is written as text (never as a formula, URL or number), so a tag value such as
`=HYPERLINK(…)` stays inert.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_range
from xlsxwriter.worksheet import Worksheet

from dagster_project.money import format_fraction, format_money, total
from dagster_project.reporting.budget_sheets import budget_sheets
from dagster_project.reporting.chargeback import chargeback_lines
from dagster_project.reporting.finance import (
    CURRENCY,
    UNALLOCATED,
    FinanceViews,
    explanation_text,
    for_currency,
    mover_explanations,
    percent_to_fraction,
    with_fractions,
)

MONEY_FORMAT = "#,##0.00"
EXACT_FORMAT = "#,##0.00########"
PERCENT_FORMAT = "0.00%"
SIGNED_PERCENT_FORMAT = "+0.00%;-0.00%;0.00%"
SIGNED_MONEY_FORMAT = "+#,##0.00;-#,##0.00;0.00"
INT_FORMAT = "#,##0"
MONTH_FORMAT = "yyyy-mm"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
TABLE_STYLE = "Table Style Light 9"
PAPER_A4 = 9

FORMATS = {"money": MONEY_FORMAT, "signed_money": SIGNED_MONEY_FORMAT, "exact": EXACT_FORMAT,
           "fraction": PERCENT_FORMAT, "signed_fraction": SIGNED_PERCENT_FORMAT, "int": INT_FORMAT,
           "month": MONTH_FORMAT, "datetime": DATETIME_FORMAT}
NUMERIC_KINDS = {"money", "signed_money", "exact", "fraction", "signed_fraction", "int"}


@dataclass
class Col:
    key: str
    header: str
    kind: str = "text"  # text | wrap | money | signed_money | exact | fraction | signed_fraction | int | month | datetime
    total: bool = False  # summed in the totals row
    width: int | None = None  # in characters; from the content when None


@dataclass
class Block:
    """One Excel table."""

    name: str
    frame: pl.DataFrame
    columns: list[Col]
    caption: str = ""
    totals: bool = True


@dataclass
class Sheet:
    name: str
    title: str
    note: str
    blocks: list[Block] = field(default_factory=list)


# How xlsxwriter stamps the members of a workbook it assembles from temporary files (its default
# mode): 1980-01-31 (its note: for portability, rather than Excel's 1980-01-01) and the mode of a
# `mkstemp` file, rw-------. `write_workbook` assembles in memory and writes these stamps itself.
MEMBER_STAMP = (1980, 1, 31, 0, 0, 0)
MEMBER_ATTRIBUTES = 0o100600 << 16

# A totals cell's formula as `write_workbook` writes it: a SUBTOTAL over one column's cells.
_TOTAL_FORMULA = re.compile(r"SUBTOTAL\(109,[A-Z]{1,3}[0-9]+:[A-Z]{1,3}[0-9]+\)")


class _Worksheet(Worksheet):
    """xlsxwriter's worksheet with one shortcut, for speed only. xlsxwriter rewrites every formula
    through ~300 regular expressions, one per function of Excel 2010 and later, to give those an
    `_xlfn.` prefix (`\\bNAME\\(` → `_xlfn.NAME(`); a totals formula names only SUBTOTAL, an older
    function none of them matches, so they leave it as it is — ~0.25 ms a formula, ~180 formulas a
    workbook. Such a formula is passed through untouched; every other goes through xlsxwriter
    (a test holds the shortcut to what xlsxwriter makes of these formulas)."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        if _TOTAL_FORMULA.fullmatch(formula):
            return formula
        return super()._prepare_formula(formula, expand_future_functions)


def table_name(base: str, currency: str | None = None) -> str:
    """An Excel table name: letters, digits and `_`, starting with a letter."""
    suffix = re.sub(r"[^A-Za-z0-9]", "", currency or "")
    return f"{base}_{suffix or 'X'}" if currency is not None else base


def _per_currency(views: FinanceViews, frame: pl.DataFrame, base: str, columns: list[Col],
                  shape: Callable[[pl.DataFrame], pl.DataFrame] = lambda f: f, totals: bool = True,
                  column: str = CURRENCY) -> list[Block]:
    multi = len(views.currencies) > 1
    blocks, used = [], set()
    currencies = views.currencies or sorted(set(frame[column].to_list())) if column in frame.columns else []
    for currency in currencies:
        name = table_name(base, currency)
        while name.lower() in used:  # two currencies that differ only by symbols
            name += "_"
        used.add(name.lower())
        part = shape(for_currency(frame, currency, column))
        blocks.append(Block(name, part, columns, caption=f"Amounts in {currency}" if multi else "", totals=totals))
    return blocks


def _shares(amount: str = "effective_cost") -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Add the `share` column: each row's exact fraction of the block's total."""
    return lambda frame: with_fractions(frame, amount, "share", by=[])


def workbook_sheets(views: FinanceViews) -> list[Sheet]:
    """Every sheet of the workbook, in order."""
    month = f"{views.month:%B %Y}"
    cents_note = ("Amounts are exact, shown to the cent (half up); totals rows sum the exact amounts; percentages "
                  "are fractions with a percent format.")
    sheets: list[Sheet] = []

    # Summary: one row per currency (never summed across currencies).
    summary = percent_to_fraction(views.summary, ["change_pct", "unallocated_share_pct"])
    savings = views.findings.select(CURRENCY, "open_findings", "savings")
    summary = summary.join(savings, on=CURRENCY, how="left").with_columns(
        pl.col("open_findings").fill_null(0))
    sheets.append(Sheet("Summary", f"Azure ML spend — {month}: totals per currency",
                        "Effective cost is amortized (the chargeback basis); billed cost is the invoice basis. "
                        "Currencies are never added together.",
                        [Block("Summary", summary, [
                            Col(CURRENCY, "Currency"), Col("effective_cost", "Effective cost", "money"),
                            Col("billed_cost", "Billed cost", "money"),
                            Col("previous_effective_cost", "Previous month", "money"),
                            Col("change_pct", "Change", "signed_fraction"),
                            Col("unallocated_effective_cost", "Unallocated", "money"),
                            Col("unallocated_share_pct", "Unallocated share", "fraction"),
                            Col("projects", "Projects", "int"), Col("open_findings", "Open findings", "int"),
                            Col("savings", "Est. savings / month", "money")], totals=False)]))

    projects = percent_to_fraction(views.projects, ["change_pct"])

    sheets.append(Sheet("Spend by project", f"Spend by project — {month}", cents_note,
                        _per_currency(views, projects, "ProjectSpend", [
                            Col("project", "Project"), Col("effective_cost", "Effective cost", "money", True),
                            Col("billed_cost", "Billed cost", "money", True),
                            Col("previous_effective_cost", "Previous month", "money", True),
                            Col("change", "Change", "signed_money", True),
                            Col("change_pct", "Change %", "signed_fraction"),
                            Col("share", "Share", "fraction", True)], _shares())))

    trend, month_keys = _trend_wide(views.trend)
    sheets.append(Sheet("Trend", f"Effective cost per project and month, up to {month}", cents_note,
                        _per_currency(views, trend, "Trend", [
                            Col("project", "Project"),
                            *(Col(key, key, "money", True) for key in month_keys)])))

    movers = percent_to_fraction(views.movers, ["change_pct"])
    explained = {c: mover_explanations(views, c) for c in views.currencies}
    movers = movers.with_columns(pl.Series("explained_by", [
        explanation_text(explained.get(currency, {}).get(project, []))
        for currency, project in movers.select(CURRENCY, "project").iter_rows()], dtype=pl.String))
    sheets.append(Sheet("Top movers", f"Top movers month over month — {month}",
                        "The projects whose effective cost changed most from the previous month, and the resources "
                        "whose change explains it (exact changes, shown to the cent).",
                        _per_currency(views, movers, "TopMovers", [
                            Col("rank", "#", "int"), Col("project", "Project"), Col("direction", "Direction"),
                            Col("previous_effective_cost", "Previous month", "money"),
                            Col("effective_cost", "This month", "money"), Col("change", "Change", "signed_money"),
                            Col("change_pct", "Change %", "signed_fraction"),
                            Col("explained_by", "Explained by", "wrap", width=70)], totals=False)))

    sheets.append(Sheet("Tag coverage", f"How the project was found, share of effective cost — {month}", cents_note,
                        _per_currency(views, views.coverage, "TagCoverage", [
                            Col("coverage", "Project found by"), Col("methods", "Allocation methods", "wrap", width=44),
                            Col("effective_cost", "Effective cost", "money", True),
                            Col("share", "Share", "fraction", True)], _shares())))

    unallocated = views.unallocated.with_columns(
        pl.coalesce("fix_command", "fix_action",
                    pl.lit("Tag the resource with project=<project>, or add a tags rule in finops.yaml")).alias("fix"),
        pl.col("aml_kind").replace({"dependency": "workspace resource", "other": "other resource"}).alias("kind"))
    sheets.append(Sheet("Unallocated", f"What {UNALLOCATED} is made of — {month}",
                        "Spend no project could be found for, per resource, with who could fix it and how. " + cents_note,
                        _per_currency(views, unallocated, "Unallocated", [
                            Col("resource", "Resource"), Col("kind", "Kind"), Col("workspace", "Workspace"),
                            Col("owner_hint", "Owner hint", width=30), Col("owner_hint_source", "Hint from", "wrap", width=26),
                            Col("effective_cost", "Effective cost", "money", True),
                            Col("billed_cost", "Billed cost", "money", True),
                            Col("fix", "Fix", "wrap", width=70)])))

    for key, frame, name, base, label in (("owner", views.owners, "Spend by owner", "OwnerSpend", "Owner"),
                                          ("cost_center", views.cost_centers, "Spend by cost center",
                                           "CostCenterSpend", "Cost center")):
        sheets.append(Sheet(name, f"{name} — {month}", cents_note, _per_currency(views, frame, base, [
            Col(key, label), Col("effective_cost", "Effective cost", "money", True),
            Col("billed_cost", "Billed cost", "money", True), Col("share", "Share", "fraction", True)],
            _shares())))

    commitments = percent_to_fraction(views.commitments, ["utilization_pct"])
    sheets.append(Sheet("Commitments", f"Reservations and savings plans: bought, covered, unused — {month}",
                        "Per commitment: its purchases (billed cost), the usage it covered and what went unused "
                        "(effective cost and hours, from the line items as delivered; the unused part is charged to the "
                        "unused-commitment project), and its utilization in hours. " + cents_note,
                        _per_currency(views, commitments, "Commitments", [
                            Col("commitment_discount_name", "Commitment"), Col("commitment_discount_type", "Type"),
                            Col(CURRENCY, "Currency"),
                            Col("purchased_billed_cost", "Purchases (billed)", "money", True),
                            Col("covered_effective_cost", "Covered usage", "money", True),
                            Col("covered_hours", "Covered hours", "exact", True),
                            Col("unused_effective_cost", "Unused", "money", True),
                            Col("unused_hours", "Unused hours", "exact", True),
                            Col("utilization_pct", "Utilization", "fraction"),
                            Col("commitment_discount_id", "Commitment id", "wrap", width=50)])))

    sheets.append(shared_clusters_sheet(views, month, cents_note))

    sheets.append(Sheet("Chargeback", f"Chargeback lines — {month}",
                        "One line per project, owner and cost center, the same lines as chargeback.csv: amounts in cents "
                        "rounded by largest remainder, so they add up exactly to the total rounded half up (a line can "
                        "be a cent off its own rounding); the exact amounts beside them for audit.",
                        _per_currency(views, chargeback_lines(views), "Chargeback", [
                            Col("billing_month", "Month", "month"), Col("project", "Project"), Col("owner", "Owner"),
                            Col("cost_center", "Cost center"), Col("effective_cost", "Effective cost", "money", True),
                            Col("billed_cost", "Billed cost", "money", True),
                            Col("effective_cost_exact", "Effective cost (exact)", "exact", True),
                            Col("billed_cost_exact", "Billed cost (exact)", "exact", True)], column="currency")))

    sheets += budget_sheets(views)

    sheets.append(Sheet("Savings by project", f"Open cleanup findings and estimated monthly savings by project — {month}",
                        "A resource flagged by several rules counts once, with its largest estimate, so the projects "
                        "add up to the headline savings. " + cents_note,
                        _per_currency(views, views.findings_by_project, "SavingsByProject", [
                            Col("project", "Project"), Col("open_findings", "Open findings", "int", True),
                            Col("resources", "Resources", "int", True),
                            Col("savings", "Est. savings / month", "money", True),
                            Col("rules", "Rules", "wrap", width=60)])))

    sheets.append(Sheet("Findings", f"Every open cleanup finding — {month}",
                        "Largest savings first. 'Counted' is the savings counted in the totals (a resource flagged by "
                        "several rules counts once); the commands are printed, never run by aml-finops.",
                        _per_currency(views, views.open_findings, "Findings", [
                            Col("project", "Project"), Col("owner", "Owner"), Col("workspace", "Workspace"),
                            Col("resource_name", "Resource"), Col("rule_id", "Rule"), Col("severity", "Severity"),
                            Col("savings", "Savings / month", "money"),
                            Col("counted_savings", "Counted", "money", True),
                            Col("action", "Action", "wrap", width=30), Col("command", "Command", "wrap", width=50)])))

    about = pl.DataFrame(views.provenance.items(), schema=["item", "value"], orient="row")
    runs = views.provenance.runs
    sheets.append(Sheet("Sources", f"Where the numbers of {month} come from",
                        "The export runs loaded for the month, the Azure ML inventory snapshot, and what produced "
                        "this workbook.",
                        [Block("SourcesAbout", about, [Col("item", "Item", width=30),
                                                       Col("value", "Value", "wrap", width=56)], totals=False),
                         Block("ExportRuns", runs, [
                             Col("export_name", "Export", "wrap", width=30),
                             Col("manifest", "Manifest / run folder", "wrap", width=56),
                             Col("status", "Status"), Col("run_id", "Run id", "wrap", width=38),
                             Col("submitted_time", "Submitted (UTC)", "datetime"),
                             Col("files", "Files", "int"), Col("line_items", "Line items", "int"),
                             Col("note", "Note", "wrap", width=30), Col("billing_month", "Month", "month")],
                               caption="Export runs of the month", totals=False)]))
    return sheets


def shared_clusters_sheet(views: FinanceViews, month: str, cents_note: str) -> Sheet:
    """Job-level showback: per currency, each compute cluster's idle share, then the most
    expensive experiments (`job_costs`; empty tables for a month without cluster cost)."""
    clusters = views.jobs.clusters
    experiments = views.jobs.experiments
    idle_columns = [
        Col("compute_name", "Cluster"), Col("workspace_name", "Workspace"), Col("jobs", "Jobs", "int", True),
        Col("effective_cost", "Cost", "money", True), Col("job_effective_cost", "Jobs' cost", "money", True),
        Col("idle_effective_cost", "Idle", "money", True), Col("idle_node_hours", "Idle node-hours", "exact", True),
        Col("idle_share", "Idle share", "fraction"), Col("idle_project", "Idle charged to")]
    if clusters.height == 0:
        blocks = [Block("ClusterIdle", pl.DataFrame(schema={c.key: pl.String for c in idle_columns}), idle_columns)]
    else:
        idle = _per_currency(views, clusters, "ClusterIdle", idle_columns)
        top = _per_currency(views, experiments, "TopExperiments", [
            Col("experiment_name", "Experiment", "wrap", width=30), Col("projects", "Projects", "wrap", width=30),
            Col("submitters", "Submitters", "wrap", width=40), Col("jobs", "Jobs", "int"),
            Col("node_hours", "Node-hours", "exact"), Col("effective_cost", "Cost", "money")], totals=False)
        for block in top:
            block.caption = (block.caption + " — " if block.caption else "") + "most expensive experiments"
        blocks = [b for pair in zip(idle, top, strict=True) for b in pair]
    return Sheet("Shared clusters", f"Shared compute clusters: idle share and most expensive experiments — {month}",
                 "Each compute cluster's cost divided among the jobs that ran on it by node-hours; what no job used "
                 "is the idle line, charged to the cluster's project. " + cents_note, blocks)


def _trend_wide(trend: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Trend as a grid: one row per currency and project, one column per month (`YYYY-MM`),
    latest month's largest first."""
    if trend.height == 0:
        return pl.DataFrame(schema={CURRENCY: pl.String, "project": pl.String}), []
    months = sorted(set(trend["billing_month"].to_list()))
    keys = [f"{m:%Y-%m}" for m in months]
    wide = (trend.with_columns(pl.col("billing_month").dt.strftime("%Y-%m").alias("month"))
            .pivot(on="month", index=[CURRENCY, "project"], values="effective_cost"))
    for key in keys:
        if key not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Decimal(38, 10)).alias(key))
    wide = wide.with_columns([pl.col(k).fill_null(Decimal(0)).cast(pl.Decimal(38, 10)) for k in keys])
    wide = wide.select(CURRENCY, "project", *keys).sort([CURRENCY, keys[-1], "project"],
                                                        descending=[False, True, False])
    return wide, keys


# -- writing ----------------------------------------------------------------------------------------

def _display(value: object, kind: str) -> str:
    """The value as a spreadsheet shows it (for column widths only)."""
    if value is None:
        return ""
    if kind in ("money", "signed_money", "exact"):
        return format_money(value, signed=kind == "signed_money")
    if kind in ("fraction", "signed_fraction"):
        return format_fraction(value, signed=kind == "signed_fraction")
    if kind == "int":
        return f"{value:,}"
    if kind == "month":
        return "YYYY-MM"
    if kind == "datetime":
        return "YYYY-MM-DD HH:MM UTC"
    return str(value)


def _width(frame: pl.DataFrame, col: Col) -> float:
    """Characters: the longest of the header (and its filter button) and the values, capped."""
    if col.width is not None:
        return col.width
    longest = len(col.header) + 3
    if col.key in frame.columns and frame.height:
        longest = max(longest, *(len(_display(v, col.kind)) for v in frame[col.key].to_list()))
    if col.kind == "exact":
        longest = max(longest, 18)
    return min(max(longest + 2, 8), 48)


def _cell(value: object, kind: str) -> object:
    """A value as xlsxwriter writes it: Decimals and ints as numbers, dates as dates, the rest as text."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime):
        offset = value.utcoffset()
        return (value - offset).replace(tzinfo=None) if offset is not None else value  # Excel has no time zones
    if (kind == "month" and isinstance(value, date)) or kind in NUMERIC_KINDS:
        return value
    return str(value)


def _header_text(text: str) -> str:
    """Header/footer text: `&` is a control character there."""
    return text.replace("&", "&&")[:200]


def _row_lines(values: tuple, columns: list[Col], widths: dict[int, float]) -> int:
    """Text lines a row needs: its wrapped cells at their column widths (spreadsheets do not grow
    rows for wrapped text on their own when opening a file)."""
    lines = 1
    for index, (col, value) in enumerate(zip(columns, values, strict=True)):
        if col.kind != "wrap" or value is None:
            continue
        per_line = max(widths.get(index, 10) * 0.95 - 1, 4)
        lines = max(lines, sum(math.ceil(max(len(part), 1) / per_line) for part in str(value).split("\n")))
    return lines


def _write_package(built: io.BytesIO, path: Path) -> None:
    """Write the workbook xlsxwriter assembled in memory to `path`, its members stamped as
    xlsxwriter stamps them when it assembles from temporary files (`MEMBER_STAMP`): the same
    bytes without the ~70 temporary files a workbook (created, written, read back, removed: ~50 ms a
    workbook); recompressing the members costs ~15 ms. A test compares the two modes byte for byte."""
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED,
                                                           allowZip64=False) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, MEMBER_STAMP)
            info.external_attr = MEMBER_ATTRIBUTES
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(member))


def write_workbook(views: FinanceViews, path: Path, generated: str = "", in_memory: bool = True) -> list[str]:
    """Write the workbook to `path`. Returns the sheet names, in order. `in_memory=False`:
    xlsxwriter's own temporary-file mode, the same bytes (kept for the test that says so)."""
    sheets = workbook_sheets(views)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
               "default_date_format": MONTH_FORMAT, "in_memory": in_memory}
    built = io.BytesIO()
    with xlsxwriter.Workbook(built if in_memory else str(path), options) as book:
        book.set_properties({"title": f"Azure ML spend — {views.month:%B %Y}", "author": "aml-finops",
                             "comments": "Generated by aml-finops; amounts exact to the cent."})
        title_format = book.add_format({"bold": True, "font_size": 14})
        note_format = book.add_format({"italic": True, "font_color": "#616e7c"})
        caption_format = book.add_format({"bold": True, "font_size": 12})
        header_format = book.add_format({"bold": True, "bottom": 1, "valign": "bottom", "text_wrap": True})
        number_header = book.add_format({"bold": True, "bottom": 1, "valign": "bottom", "text_wrap": True,
                                         "align": "right"})
        formats = {kind: book.add_format({"num_format": fmt, "valign": "top"}) for kind, fmt in FORMATS.items()}
        formats["wrap"] = book.add_format({"text_wrap": True, "valign": "top"})
        formats["text"] = book.add_format({"valign": "top"})
        total_formats = {kind: book.add_format({"num_format": fmt, "bold": True, "top": 1})
                         for kind, fmt in FORMATS.items()}
        total_formats["text"] = total_formats["wrap"] = book.add_format({"bold": True, "top": 1})
        for sheet in sheets:
            ws = book.add_worksheet(sheet.name, worksheet_class=_Worksheet)
            ws.write_string(0, 0, sheet.title, title_format)
            ws.write_string(1, 0, sheet.note, note_format)
            row = 3
            first_header = None
            widths: dict[int, float] = {}
            for block in sheet.blocks:
                for index, col in enumerate(block.columns):
                    widths[index] = max(widths.get(index, 0), _width(block.frame, col))
            for index, width in widths.items():
                ws.set_column(index, index, width)
            for block in sheet.blocks:
                if block.caption:
                    ws.write_string(row, 0, block.caption, caption_format)
                    row += 1
                header = row
                first_header = header if first_header is None else first_header
                if block.frame.height == 0:
                    for index, col in enumerate(block.columns):
                        ws.write_string(header, index, col.header, header_format)
                    ws.write_string(header + 1, 0, "No rows this month.", note_format)
                    row = header + 3
                    continue
                last = header + block.frame.height + (1 if block.totals else 0)
                specs, totals = [], {}
                for index, col in enumerate(block.columns):
                    spec = {"header": col.header, "format": formats[col.kind],
                            "header_format": number_header if col.kind in NUMERIC_KINDS else header_format}
                    if block.totals and col.total:
                        # A plain range, not `[Column]`: LibreOffice misreads structured references
                        # with spaces in the column name. SUBTOTAL(109) sums the visible rows.
                        cells = xl_range(header + 1, index, header + block.frame.height, index)
                        spec["total_function"] = f"SUBTOTAL(109,{cells})"
                        spec["total_value"] = totals[index] = total(block.frame[col.key].to_list())
                    elif block.totals and index == 0:
                        spec["total_string"] = "Total"
                    specs.append(spec)
                rows = list(block.frame.select([c.key for c in block.columns]).iter_rows())
                data = [[_cell(v, c.kind) for c, v in zip(block.columns, values, strict=True)] for values in rows]
                ws.add_table(header, 0, last, len(block.columns) - 1, {
                    "name": block.name, "style": TABLE_STYLE, "columns": specs, "data": data,
                    "total_row": block.totals, "autofilter": True})
                for offset, values in enumerate(rows, start=1):
                    lines = _row_lines(values, block.columns, widths)
                    if lines > 1:
                        ws.set_row(header + offset, 15 * lines)
                if block.totals:  # bold with a rule above, in every application (table styles vary)
                    for index, col in enumerate(block.columns):
                        if index in totals:
                            ws.write_formula(last, index, specs[index]["total_function"], total_formats[col.kind],
                                             totals[index])
                        elif index == 0:
                            ws.write_string(last, index, "Total", total_formats["text"])
                        else:
                            ws.write_blank(last, index, None, total_formats["text"])
                row = last + 2
            _print_setup(ws, sheet, first_header if first_header is not None else 3, path.name, generated)
            ws.print_area(0, 0, max(row - 2, 1), max(len(widths), 1) - 1)  # exactly what was written
    if in_memory:
        _write_package(built, path)
    return [s.name for s in sheets]


def _print_setup(ws, sheet: Sheet, header_row: int, file_name: str, generated: str) -> None:
    ws.set_landscape()
    ws.set_paper(PAPER_A4)
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.repeat_rows(header_row)
    ws.freeze_panes(header_row + 1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.75)  # room for the header and footer (LibreOffice)
    ws.set_header(f'&L&"-,Bold"{_header_text(sheet.title)}&R&A', {"margin": 0.3})
    footer = f"&L{_header_text(file_name)}&CPage &P of &N"
    if generated:
        footer += f"&R{_header_text('Generated ' + generated)}"
    ws.set_footer(footer, {"margin": 0.3})
