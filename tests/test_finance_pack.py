"""The finance pack beyond the demo: one money rule everywhere, largest-remainder cents on hand-built
awkward amounts, and a generated tenant of 500 projects (CSV, workbook cells, CLI summary, report)."""

from __future__ import annotations

import csv
import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from finance_tenant import (
    FORMULA_PROJECT,
    MONTH,
    assert_one_page_wide,
    assert_workbook_cells,
    build_tenant,
    pages_by_sheet,
    workbook_pdf,
)
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from xlsxwriter.utility import xl_range
from xlsxwriter.worksheet import Worksheet

from assets._metadata import markdown_preview, money_text
from dagster_project.money import (
    CENT,
    allocate,
    allocate_optional,
    format_fraction,
    format_money,
    format_percent,
    plain_cents,
    round_cents,
)
from dagster_project.money import format_money as report_money
from dagster_project.reporting import write_month_reports
from dagster_project.reporting.chargeback import CSV_COLUMNS, safe_cell
from dagster_project.reporting.charts import fit, text_width
from dagster_project.reporting.finance import with_cents
from dagster_project.reporting.packs import WORKBOOK_NAME
from dagster_project.runner import RunSummary


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- one money rule ------------------------------------------------------------------------------

def test_half_up_to_the_cent_everywhere(capsys):
    awkward = Decimal("1234.125")
    assert round_cents(awkward) == Decimal("1234.13")
    assert format_money(awkward) == "1,234.13"
    assert format_money(Decimal("-1234.125")) == "-1,234.13"  # half away from zero
    assert format_money(Decimal("-0.004")) == "0.00" and format_money(Decimal("0.005")) == "0.01"
    assert format_money(Decimal("2.675")) == "2.68"  # a float would give 2.67
    assert format_money(Decimal("5"), signed=True) == "+5.00" and format_money(0, signed=True) == "0.00"
    assert format_percent(Decimal("12.005")) == "12.01%" and format_fraction(Decimal("0.120049")) == "12.00%"
    assert plain_cents(Decimal("1234.125")) == "1234.13" and plain_cents(Decimal("-0.001")) == "0.00"
    with pytest.raises(TypeError):
        format_money(1234.125)
    # Dagster metadata, the report and the CLI write it the same way.
    assert money_text(awkward) == report_money(awkward) == "1,234.13"
    preview = markdown_preview(pl.DataFrame({"amount": [awkward]}, schema={"amount": pl.Decimal(38, 10)})).value
    assert "| 1,234.13 |" in preview
    spend = pl.DataFrame({"billing_currency": ["USD"], "project": ["p"], "effective_cost": [awkward],
                          "share_pct": [Decimal("100")], "change_pct": [None]},
                         schema={"billing_currency": pl.String, "project": pl.String,
                                 "effective_cost": pl.Decimal(38, 10), "share_pct": pl.Decimal(18, 2),
                                 "change_pct": pl.Decimal(18, 2)})
    totals = pl.DataFrame({"billing_currency": ["USD"], "effective_cost": [awkward], "billed_cost": [awkward],
                           "unallocated_effective_cost": [Decimal(0)], "projects": [1], "open_findings": [1],
                           "savings": [awkward], "unallocated_share_pct": [Decimal("0.00")]})
    summary = RunSummary(out_dir=Path("out"), months=[MONTH], latest_month=MONTH, project_spend=spend,
                         totals=totals, currency="USD", findings_open=1, findings_savings=awkward)
    from dagster_project.cli import _print_summary

    _print_summary(summary, 1.0)
    printed = capsys.readouterr().out
    assert "1,234.13" in printed and "1,234.12" not in printed
    assert "estimated savings 1,234.13 USD/month" in printed


# -- largest remainder ----------------------------------------------------------------------------

def test_largest_remainder_on_hand_built_amounts():
    thirds = [Decimal(100) / 3] * 3
    assert allocate(thirds) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(allocate([Decimal(1) / 3] * 300)) == Decimal("100.00")
    # 1234.125 + 0.125 + 0.125 = 1234.375 → 1234.38: two cents to hand out among equal remainders,
    # the larger amount first, then the earlier line.
    assert allocate([Decimal("1234.125"), Decimal("0.125"), Decimal("0.125")]) == [
        Decimal("1234.13"), Decimal("0.13"), Decimal("0.12")]
    # Credits: the lines still add up to the rounded total, each within a cent.
    mixed = [Decimal("10.005"), Decimal("-3.335"), Decimal("-0.0049"), Decimal("7.3333333333")]
    rounded = allocate(mixed)
    assert sum(rounded) == _half_up(sum(mixed))
    assert all(abs(r - m) < CENT for r, m in zip(rounded, mixed, strict=True))
    # Amounts already in cents never move; nulls stay null.
    assert allocate([Decimal("1.10"), Decimal("2.20")]) == [Decimal("1.10"), Decimal("2.20")]
    assert allocate_optional([None, Decimal("0.005"), None, Decimal("0.005")]) == [None, Decimal("0.01"), None,
                                                                                     Decimal("0.00")]
    assert allocate([]) == []


def test_largest_remainder_on_seeded_random_amounts():
    rng = random.Random(15)
    for _ in range(400):
        n = rng.randint(1, 60)
        values = [Decimal(rng.randint(-10**9, 10**12)) / Decimal(10 ** rng.choice([3, 4, 7, 10])) for _ in range(n)]
        values += [Decimal(rng.randint(1, 999)) / 3 for _ in range(rng.randint(0, 5))]
        rounded = allocate(values)
        assert sum(rounded) == _half_up(sum(values))
        for r, v in zip(rounded, values, strict=True):
            assert r == r.quantize(CENT) and abs(r - v) < CENT
            assert r in (v.quantize(CENT, rounding="ROUND_FLOOR"), v.quantize(CENT, rounding="ROUND_CEILING"))


def test_cents_are_allocated_per_currency():
    frame = pl.DataFrame({"currency": ["USD", "USD", "EUR", "EUR", "USD"],
                          "amount": [Decimal("0.005"), Decimal("0.005"), Decimal("0.005"), Decimal("0.005"),
                                     Decimal("0.005")]}, schema={"currency": pl.String, "amount": pl.Decimal(38, 10)})
    out = with_cents(frame, ["amount"])
    sums = out.group_by("currency").agg(pl.col("amount").sum()).sort("currency").rows()
    assert sums == [("EUR", Decimal("0.01")), ("USD", Decimal("0.02"))]


def test_text_cells_cannot_become_formulas():
    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert safe_cell("@SUM(1)") == "'@SUM(1)" and safe_cell("-1+2") == "'-1+2"
    assert safe_cell("recommendations") == "recommendations" and safe_cell(None) == ""


@seed(18)
@settings(max_examples=80, deadline=None)
@given(first=st.integers(min_value=0, max_value=1_048_000), rows=st.integers(min_value=0, max_value=500),
       column=st.integers(min_value=0, max_value=16_383))
def test_totals_formula_shortcut_is_what_xlsxwriter_makes_of_it(first, rows, column):
    """The workbook's worksheets pass a totals formula through untouched (speed): exactly what
    xlsxwriter's own rewriting makes of it, with and without its future functions, on generated
    ranges; any other formula still goes through xlsxwriter."""
    from dagster_project.reporting.excel import _Worksheet

    formula = f"SUBTOTAL(109,{xl_range(first, column, first + rows, column)})"
    shortcut, plain = _Worksheet(), Worksheet()
    for future in (False, True):
        assert shortcut._prepare_formula(formula, future) == plain._prepare_formula(formula, future) == formula
    for other in (f"XLOOKUP(1,{formula},A1:A2)", f"={formula}", f"SUBTOTAL(109,A1:A2)+STDEV.S(A1:A{first + 2})"):
        assert shortcut._prepare_formula(other, True) == plain._prepare_formula(other, True)
    assert shortcut._prepare_formula("XLOOKUP(1,A1:A2,B1:B2)", True).startswith("_xlfn.XLOOKUP(")


def test_labels_are_fitted_to_their_room():
    label = "project-with-an-unusually-long-name-for-a-chart-label-005"
    fitted = fit(label, 136)
    assert fitted.endswith("…") and text_width(fitted) <= 136 and fitted[:-1] in label
    assert fit("short", 136) == "short"
    assert text_width("MMMM") > text_width("iiii")


# -- a generated tenant: 500 projects, awkward amounts, two currencies ---------------------------

@pytest.fixture(scope="module")
def tenant(tmp_path_factory):
    root = tmp_path_factory.mktemp("tenant500")
    built = build_tenant(root / "finops.duckdb", projects=500)
    with duckdb.connect(str(built.db), read_only=True) as con:
        paths = write_month_reports(con, root, MONTH)
    return {"db": built.db, "paths": paths, "root": root}


def _exact(db: Path, sql: str) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute(sql, {"m": MONTH}).fetchall()}


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_chargeback_cents_add_up_on_500_projects(tenant):
    rows = _csv(tenant["paths"].chargeback_csv)
    assert list(rows[0]) == CSV_COLUMNS
    exact = _exact(tenant["db"], "SELECT billing_currency, sum(effective_cost), sum(billed_cost), count(*) "
                                 "FROM (SELECT billing_currency, project, owner, cost_center, sum(effective_cost) "
                                 "AS effective_cost, sum(billed_cost) AS billed_cost FROM cost_allocation "
                                 "WHERE billing_month = $m GROUP BY ALL) GROUP BY ALL")
    assert set(exact) == {"USD", "EUR"}
    projects = {r["project"] for r in rows if r["row_type"] == "line" and r["currency"] == "USD"}
    assert len(projects) == 501  # 500 projects and (unallocated)
    for currency, (effective, billed, count) in exact.items():
        lines = [r for r in rows if r["currency"] == currency and r["row_type"] == "line"]
        [totals] = [r for r in rows if r["currency"] == currency and r["row_type"] == "total"]
        assert len(lines) == count == int(totals["lines"])
        for column, want in (("effective_cost", effective), ("billed_cost", billed)):
            cents = [Decimal(r[column]) for r in lines]
            assert all(c == c.quantize(CENT) for c in cents)
            assert sum(cents) == Decimal(totals[column]) == _half_up(want), (currency, column)
            assert sum(Decimal(r[f"{column}_exact"]) for r in lines) == Decimal(totals[f"{column}_exact"]) == want
            assert all(abs(Decimal(r[column]) - Decimal(r[f"{column}_exact"])) < CENT for r in lines)
        assert all(r["billing_month"] == "2026-10-01" for r in lines)
    # Rows are grouped by currency, each group closed by its totals row.
    kinds = [(r["currency"], r["row_type"]) for r in rows]
    assert kinds.index(("USD", "total")) == max(i for i, k in enumerate(kinds) if k == ("USD", "line")) + 1


def test_workbook_totals_equal_their_rows_on_500_projects(tenant):
    assert_workbook_cells(tenant["paths"].workbook, tenant["db"])


def test_workbook_in_memory_has_the_bytes_of_xlsxwriters_temporary_files(tenant, tmp_path, monkeypatch):
    """`write_workbook` assembles in memory and stamps the members itself: byte for byte the file
    xlsxwriter's temporary-file mode writes (its creation time frozen, the one difference the
    clock makes), on a workbook with members far larger than zipfile's 8 KiB copy chunks."""
    import zipfile
    from datetime import UTC, datetime

    import xlsxwriter.core

    from dagster_project.reporting.excel import write_workbook
    from dagster_project.reporting.finance import read_finance_views

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    monkeypatch.setattr(xlsxwriter.core, "datetime", Frozen)
    with duckdb.connect(str(tenant["db"]), read_only=True) as con:
        views = read_finance_views(con, MONTH)
    memory, files = tmp_path / "memory" / WORKBOOK_NAME, tmp_path / "files" / WORKBOOK_NAME  # the footer names it
    memory.parent.mkdir()
    files.parent.mkdir()
    assert write_workbook(views, memory, generated="x") == write_workbook(views, files, generated="x", in_memory=False)
    assert memory.read_bytes() == files.read_bytes()
    with zipfile.ZipFile(memory) as book:
        assert max(member.file_size for member in book.infolist()) > 64 * 1024


def test_workbook_names_tables_and_prints_one_page_wide(tenant):
    book = openpyxl.load_workbook(tenant["paths"].workbook)
    assert tenant["paths"].workbook.name == WORKBOOK_NAME == "workbook.xlsx"
    names = {n for ws in book.worksheets for n in ws.tables}
    assert {"Summary", "ProjectSpend_USD", "ProjectSpend_EUR", "Trend_USD", "TagCoverage_USD", "Unallocated_USD",
            "OwnerSpend_USD", "CostCenterSpend_USD", "Chargeback_USD", "Chargeback_EUR", "Findings_USD",
            "SavingsByProject_USD", "SourcesAbout"} <= names  # no export run in this warehouse
    assert not [n for n in names if n.lower().startswith("frame") or n.lower().startswith("table")]
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
        assert ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows, ws.title
        assert ws.oddHeader.right.text == "&A" and ws.oddHeader.left.text.startswith(ws["A1"].value[:20])
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    findings = book["Findings"]
    with duckdb.connect(str(tenant["db"]), read_only=True) as con:
        open_findings = con.execute("SELECT count(*) FROM findings WHERE billing_month = $m AND status = 'open'",
                                    {"m": MONTH}).fetchall()[0][0]
    [ref] = [r for _n, r in findings.tables.items()]
    rows = findings[ref][1:-1]
    assert len(rows) == open_findings
    headers = [c.value for c in findings[ref][0]]
    assert {"Owner", "Resource", "Savings / month", "Counted", "Command"} <= set(headers)


def test_formula_looking_tag_values_stay_text(tenant):
    rows = _csv(tenant["paths"].chargeback_csv)
    assert any(r["project"] == "'" + FORMULA_PROJECT for r in rows)
    assert not any(r["project"] == FORMULA_PROJECT for r in rows)
    book = openpyxl.load_workbook(tenant["paths"].workbook)
    cells = [c for row in book["Spend by project"].iter_rows() for c in row if c.value == FORMULA_PROJECT]
    assert cells and all(c.data_type == "s" for c in cells)  # a string, never a formula


def test_cli_lists_the_top_15_and_the_rest_in_one_line(tenant, capsys):
    from dagster_project.cli import _print_summary
    from dagster_project.runner import summarize

    summary = summarize_from(tenant["db"], summarize)
    _print_summary(summary, 1.0)
    out = capsys.readouterr().out
    with duckdb.connect(str(tenant["db"]), read_only=True) as con:
        ranked = con.execute("SELECT project, effective_cost FROM project_spend_monthly WHERE billing_month = $m "
                             "AND billing_currency = 'USD' ORDER BY effective_cost DESC, project", {"m": MONTH}).fetchall()
        eur = con.execute("SELECT sum(effective_cost) FROM cost_allocation WHERE billing_month = $m "
                          "AND billing_currency = 'EUR'", {"m": MONTH}).fetchall()[0][0]
    rest = ranked[15:]
    assert len(rest) == 486
    assert f"{len(rest)} more (total {format_money(sum(e for _, e in rest))})" in out
    listed = [line for line in out.splitlines() if line.startswith("│ proj-") or line.startswith("│ Kosten")
              or line.startswith("│ project-")]
    assert len(listed) == 15
    assert ranked[15][0] not in out.split("more (total")[0].split("USD, effective cost")[1]
    usd_total = format_money(sum(e for _, e in ranked))
    assert f"Total USD: effective cost {usd_total}" in out and f"Total EUR: effective cost {format_money(eur)}" in out
    assert out.count("Spend per project") == 2  # one table per currency, never summed


def summarize_from(db: Path, summarize):
    """`summarize` reads `<out>/finops.duckdb`; the tenant's file is that already."""
    return summarize(db.parent, [date(2026, 9, 1), MONTH])


def test_large_report_stays_readable(tenant):
    page = tenant["paths"].html.read_text(encoding="utf-8")
    usd = page[page.index('data-currency="USD"'):page.index('data-currency="EUR"')]
    assert usd.count('<figure class="panel') == 15 and "487 other projects" in usd  # 14 projects + the rest
    bars = usd[usd.index('id="c0-chart-projects"'):].split("</svg>")[0]
    assert bars.count('class="bar mark"') == 15 and "487 more projects" in bars
    assert len(page) < 1_500_000


def test_large_workbook_prints_one_page_wide(tenant, tmp_path):
    """Hundreds of projects and long names: every sheet still prints one page wide, without a
    blank page; the long sheets continue with their header row on every page."""
    paths = tenant["paths"]
    pages = pages_by_sheet(workbook_pdf(paths.workbook, tmp_path), paths.sheets)
    assert_one_page_wide(paths.workbook, pages)
    assert len(pages["Spend by project"]) > 1 and len(pages["Sources"]) == 1
