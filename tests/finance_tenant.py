"""A generated finance tenant for the report tests: a hand-built warehouse with hundreds of
projects and awkward amounts (thirds, half cents, credits, long names, two currencies), so the
pack is tested on more than the demo generator's numbers.

Only the tables the finance pack reads are created, from the project's own DDL where it has one
(`sql/schema/`), and minimal inventory tables. Deterministic for a seed (plain `random.Random`).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from dagster_project.catalog import VIEWS, table
from dagster_project.warehouse import view_sql

MONTH = date(2026, 10, 1)
PREVIOUS = date(2026, 9, 1)
TEN = Decimal("0.0000000001")
CENT = Decimal("0.01")

MONEY = pl.Decimal(38, 10)
ALLOCATION_SCHEMA = {"billing_month": pl.Date, "billing_currency": pl.String, "resource_id": pl.String,
                     "workspace_id": pl.String, "aml_kind": pl.String, "aml_name": pl.String, "project": pl.String,
                     "owner": pl.String, "cost_center": pl.String, "allocation_method": pl.String,
                     "allocation_rule": pl.String, "effective_cost": MONEY, "billed_cost": MONEY}
FINDINGS_SCHEMA = {"billing_month": pl.Date, "finding_id": pl.String, "rule_id": pl.String, "category": pl.String,
                   "severity": pl.String, "workspace": pl.String, "resource_id": pl.String,
                   "resource_name": pl.String, "project": pl.String, "owner": pl.String, "evidence": pl.String,
                   "savings": MONEY, "currency": pl.String, "action": pl.String, "command": pl.String,
                   "first_seen": pl.Datetime("us", "UTC"), "last_seen": pl.Datetime("us", "UTC"),
                   "status": pl.String, "suppression_reason": pl.String}
INVENTORY_DDL = [
    "CREATE TABLE inventory_workspaces (workspace_id VARCHAR, subscription_id VARCHAR, workspace_name VARCHAR, "
    "captured_at TIMESTAMPTZ)",
    "CREATE TABLE inventory_computes (workspace_id VARCHAR, compute_name VARCHAR, created_by VARCHAR, "
    "captured_at TIMESTAMPTZ)",
    "CREATE TABLE inventory_endpoints (endpoint_id VARCHAR, workspace_id VARCHAR, captured_at TIMESTAMPTZ)",
    "CREATE TABLE cost_rejects (source_file VARCHAR, source_row BIGINT, reason VARCHAR, raw VARCHAR, "
    "billing_month DATE)",
]

# A project's spend per month: project_spend_monthly as the pipeline publishes it (previous month,
# change and share), computed here from the hand-built allocation.
PROJECT_SPEND = """
INSERT INTO project_spend_monthly
WITH spend AS (
    SELECT billing_month, billing_currency, project, sum(effective_cost) AS effective_cost,
           sum(billed_cost) AS billed_cost
    FROM cost_allocation GROUP BY ALL
)
SELECT s.billing_month, s.billing_currency, s.project, s.effective_cost, s.billed_cost, p.effective_cost,
       CASE WHEN p.effective_cost IS NULL OR p.effective_cost = 0 THEN NULL
            ELSE round((s.effective_cost - p.effective_cost) * 100 / abs(p.effective_cost), 2) END,
       CASE WHEN sum(s.effective_cost) OVER w = 0 THEN NULL
            ELSE round(s.effective_cost * 100 / sum(s.effective_cost) OVER w, 2) END
FROM spend s
LEFT JOIN spend p ON p.billing_currency = s.billing_currency AND p.project = s.project
    AND p.billing_month = s.billing_month - INTERVAL 1 MONTH
WINDOW w AS (PARTITION BY s.billing_month, s.billing_currency)
"""


def awkward_amount(rng: random.Random) -> Decimal:
    """Amounts that make rounding hard: thirds, exact half cents, near-half cents, credits, large."""
    kind = rng.randrange(8)
    if kind == 0:
        return (Decimal(rng.randint(1, 90000)) / 3).quantize(TEN)  # x.3333333333 / x.6666666667
    if kind == 1:
        return Decimal(f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}5")  # an exact half cent
    if kind == 2:
        return Decimal("1234.125")
    if kind == 3:
        return Decimal(f"{rng.randint(0, 999)}.{rng.randint(0, 99):02d}49999999")  # just below a half cent
    if kind == 4:
        return -Decimal(f"{rng.randint(0, 300)}.{rng.randint(0, 9999999999):010d}")  # credit / refund
    if kind == 5:
        return Decimal(f"{rng.randint(10000, 999999)}.{rng.randint(0, 9999999999):010d}")
    if kind == 6:
        return (Decimal(rng.randint(1, 2000)) / 7).quantize(TEN)
    return Decimal(f"0.00{rng.randint(0, 9999999):07d}")  # less than a cent


@dataclass(frozen=True)
class Tenant:
    db: Path
    projects: int
    currencies: tuple[str, ...]


FORMULA_PROJECT = "=HYPERLINK(\"http://example.invalid\",\"click\")"


def long_name(rng: random.Random, index: int) -> str:
    if index == 11:
        return FORMULA_PROJECT  # a tag value a spreadsheet would run as a formula
    if index % 97 == 5:
        return f"project-with-an-unusually-long-name-for-a-chart-label-{index:03d}"
    if index % 89 == 7:
        return f"Kostenstelle Forschung & Entwicklung {index:03d}"
    return f"proj-{index:03d}-{rng.choice(['vision', 'nlp', 'fraud', 'recs', 'ops', 'forecast'])}"


def build_tenant(path: Path, projects: int = 500, seed: int = 20261001) -> Tenant:
    """Write `path` (a DuckDB file) with two months of allocation for `projects` projects in USD
    and a handful in EUR, owners, cost centers, open findings and an inventory snapshot."""
    rng = random.Random(seed)
    owners = [f"owner{i:02d}@contoso.com" for i in range(40)] + [None]
    centers = [f"CC-{1000 + i}" for i in range(12)] + [None]
    rows = []
    ws = "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-big/providers/" \
         "microsoft.machinelearningservices/workspaces/mlw-big"
    for month in (PREVIOUS, MONTH):
        for index in range(projects):
            name = long_name(random.Random(index), index)
            for line in range(rng.randint(1, 4)):
                owner, center = rng.choice(owners), rng.choice(centers)
                cost = awkward_amount(rng)
                billed = cost if rng.random() < 0.8 else cost + awkward_amount(rng)
                rows.append((month, "USD", f"{ws}/computes/c{index}-{line}", ws, "compute", f"c{index}-{line}", name,
                             owner, center, "row_tag", "row tag", cost, billed))
        for index in range(7):
            rows.append((month, "EUR", f"/eur/{index}", None, "other", None, f"eur-{index}", None, "CC-9", "row_tag",
                         "row tag", (Decimal(index + 1) * 1000 / 3).quantize(TEN), Decimal("0.005") * (index + 1)))
        for line in range(5):
            cost = awkward_amount(rng)
            rows.append((month, "USD", f"{ws}/storage/st{line}", ws, "dependency", f"st{line}", "(unallocated)",
                         None, None, "unallocated", "no project tag, inherited tag or rule", cost, cost))
    with duckdb.connect(str(path)) as con:
        # aml_resource_usage: the realized_savings view reads it.
        for name in ("cost_allocation", "project_spend_monthly", "findings", "aml_resource_usage"):
            con.execute(table(name).create_sql())
        for view in VIEWS:
            con.execute(view_sql(view))
        for ddl in INVENTORY_DDL:
            con.execute(ddl)
        allocation = pl.DataFrame(rows, orient="row", schema=ALLOCATION_SCHEMA)  # noqa: F841 - read by the SQL
        con.execute("INSERT INTO cost_allocation SELECT * FROM allocation")
        con.execute(PROJECT_SPEND)
        captured = datetime(2026, 11, 1, 6, tzinfo=UTC)
        con.execute("INSERT INTO inventory_workspaces VALUES (?, 'sub-1', 'mlw-big', ?)", [ws, captured])
        con.execute("INSERT INTO inventory_computes VALUES (?, 'c1-0', 'maker@contoso.com', ?)", [ws, captured])
        findings = []
        for index in range(0, projects, 7):
            resource = f"{ws}/computes/c{index}-0"
            for rule, savings in (("ci_left_running", awkward_amount(rng).copy_abs()),
                                  ("ci_no_idle_shutdown", awkward_amount(rng).copy_abs())):
                findings.append((MONTH, f"f{index}{rule}", rule, "idle_compute", "high", "mlw-big", resource,
                                 f"c{index}-0", long_name(random.Random(index), index), rng.choice(owners[:-1]), "{}",
                                 savings, "USD", "Stop it.", f"az ml compute stop --name c{index}-0", captured, captured,
                                 "open", None))
        found = pl.DataFrame(findings, orient="row", schema=FINDINGS_SCHEMA)  # noqa: F841 - read by the SQL
        con.execute("INSERT INTO findings SELECT * FROM found")
    return Tenant(path, projects, ("USD", "EUR"))


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def assert_workbook_cells(path: Path, db: Path) -> None:
    """Every table's totals row equals the sum of its rows; percent cells hold fractions."""
    formulas = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    checked_totals = checked_percents = 0
    for ws in formulas.worksheets:
        wv = values[ws.title]
        for name, ref in ws.tables.items():
            table = ws.tables[name]
            cells = ws[ref]
            header, body = cells[0], cells[1:]
            if table.totalsRowCount:
                body, totals = body[:-1], body[-1]
                for col, total_cell in enumerate(totals):
                    if not isinstance(total_cell.value, str) or not total_cell.value.startswith("=SUBTOTAL"):
                        continue
                    first, last = body[0][col].coordinate, body[-1][col].coordinate
                    cells_ref = first if first == last else f"{first}:{last}"
                    assert total_cell.value == f"=SUBTOTAL(109,{cells_ref})", (ws.title, name, header[col].value)
                    rows = [Decimal(repr(wv[c[col].coordinate].value)) for c in body
                            if wv[c[col].coordinate].value is not None]
                    stored = Decimal(repr(wv[total_cell.coordinate].value))
                    assert abs(sum(rows) - stored) <= Decimal("0.000001"), (ws.title, name, header[col].value)
                    assert half_up(sum(rows)) == half_up(stored)
                    checked_totals += 1
            for col, head in enumerate(header):
                fmt = body[0][col].number_format if body else ""
                if "%" not in fmt:
                    continue
                assert "\"%\"" not in fmt and fmt.endswith("%") or "%;" in fmt, fmt
                for row in body:
                    value = wv[row[col].coordinate].value
                    if value is None:
                        continue
                    checked_percents += 1
                    if head.value == "Share":
                        assert -1 <= value <= 1.0000001, (ws.title, value)
    assert checked_totals >= 10 and checked_percents >= 10
    # A share is the row's fraction of its currency's total; the Summary's unallocated share is
    # the published percentage divided by 100 (the first currency: the largest).
    summary = values["Summary"]
    currency = summary["A5"].value
    projects = values["Spend by project"]
    with duckdb.connect(str(db), read_only=True) as con:
        spend = {p: e for p, e in con.execute(
            "SELECT project, effective_cost FROM project_spend_monthly WHERE billing_month = $m "
            "AND billing_currency = $c", {"m": MONTH, "c": currency}).fetchall()}
        unallocated_pct = con.execute(
            "SELECT coalesce(round(sum(effective_cost) FILTER (WHERE project = '(unallocated)') * 100 "
            "/ sum(effective_cost), 2), 0) FROM cost_allocation WHERE billing_month = $m AND billing_currency = $c",
            {"m": MONTH, "c": currency}).fetchall()[0][0]
    total = sum(spend.values())
    table_ref = formulas["Spend by project"].tables[f"ProjectSpend_{currency}"].ref
    seen = 0
    for row in projects[table_ref][1:-1]:
        project, share = row[0].value, row[6].value
        assert share == pytest.approx(float(spend[project] / total), abs=1e-9)
        seen += 1
    assert seen == len(spend)
    cell = summary["G5"]  # "Unallocated share"
    assert summary["G4"].value == "Unallocated share"
    assert cell.value == pytest.approx(float(unallocated_pct) / 100, abs=5e-5)


# -- a real spreadsheet application: LibreOffice prints the workbook -----------------------------

def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def soffice() -> str:
    """LibreOffice's `soffice` (Debian's libreoffice-calc-nogui; scripts/ensure_libreoffice.sh
    installs it). Skips without it — except under CI, where a missing tool is a failure."""
    for candidate in (os.environ.get("SOFFICE"), "/usr/bin/soffice", shutil.which("soffice"),
                      shutil.which("libreoffice")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if in_ci():
        pytest.fail("LibreOffice is not installed and CI is set: run scripts/ensure_libreoffice.sh before the tests")
    pytest.skip("LibreOffice is not installed (run scripts/ensure_libreoffice.sh, or set SOFFICE=/path/to/soffice)")


def workbook_pdf(workbook: Path, out_dir: Path) -> Path:
    """The workbook printed to PDF by LibreOffice headless (its own print setup, every sheet)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="soffice-profile-") as profile:
        result = subprocess.run([soffice(), "--headless", "--norestore", "--nolockcheck",
                                 f"-env:UserInstallation={Path(profile).as_uri()}", "--convert-to", "pdf",
                                 "--outdir", str(out_dir), str(workbook)],
                                capture_output=True, text=True, timeout=240)
    pdf = out_dir / f"{workbook.stem}.pdf"
    assert result.returncode == 0 and pdf.is_file(), result.stdout + result.stderr
    return pdf


def pages_by_sheet(pdf: Path, sheets: list[str]) -> dict[str, list[tuple[object, str]]]:
    """PDF pages per sheet, from the bookmarks LibreOffice writes at each sheet's first page. Every
    page must have content; the first and the last page of each sheet come with their text (a
    column that spilled onto a page of its own shows on a sheet's last pages), the others with ""."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    marks = [(item["/Title"], reader.get_destination_page_number(item)) for item in reader.outline
             if not isinstance(item, list)]
    assert [title for title, _ in marks] == sheets, marks
    starts = [number for _, number in marks] + [len(reader.pages)]
    pages: dict[str, list[tuple[object, str]]] = {}
    for (sheet, first), end in zip(marks, starts[1:], strict=True):
        printed = []
        for number in range(first, end):
            page = reader.pages[number]
            assert len(page.get_contents().get_data()) > 200, f"{sheet}: page {number + 1} is blank"
            text = " ".join((page.extract_text() or "").split()) if number in (first, end - 1) else ""
            printed.append((page, text))
        pages[sheet] = printed
    return pages


def assert_one_page_wide(workbook: Path, pages: dict[str, list[tuple[object, str]]]) -> None:
    """Every page is landscape, and the first and last page of each sheet show the sheet's title
    in the page header and its first table's first and last column headers: no column spilled
    onto a page of its own."""
    book = openpyxl.load_workbook(workbook)
    for sheet, printed in pages.items():
        assert printed, f"sheet {sheet} printed nothing"
        ws = book[sheet]
        ref = next(iter(ws.tables.values())).ref if ws.tables else None
        headers = [c.value for c in ws[ref][0]] if ref else []
        for page, text in printed:
            box = page.mediabox
            assert float(box.width) > float(box.height), f"{sheet}: not landscape"
            if not text:
                continue
            assert text.startswith(" ".join(str(ws["A1"].value).split())), (sheet, text[:80])
            for header in (headers[0], headers[-1]) if headers else ():
                assert " ".join(str(header).split()) in text, (sheet, header)
