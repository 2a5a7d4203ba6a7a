"""Finance and engineer packs, on the demo pipeline's warehouse and on a copy with hostile values."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, date
from decimal import Decimal
from html import escape as html_escape
from pathlib import Path

import duckdb
import openpyxl
import pytest
from finance_tenant import assert_one_page_wide, assert_workbook_cells, pages_by_sheet, workbook_pdf
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project import __version__, month_tables
from dagster_project.attribution.commitments import finance_commitments
from dagster_project.attribution.methods import COMMITMENT_PURCHASES, UNALLOCATED, UNUSED_COMMITMENT
from dagster_project.cli import _print_summary
from dagster_project.demo.generate import generate_demo
from dagster_project.money import format_money
from dagster_project.reporting import write_month_reports
from dagster_project.reporting.chargeback import CSV_COLUMNS
from dagster_project.reporting.engineer import NO_OWNER, commented_command, owner_folders, safe_name
from dagster_project.reporting.provenance import contract_version
from dagster_project.runner import run_pipeline, summarize

MONTH = date(2026, 10, 1)
HOSTILE_PROJECT = "<script>alert(1)</script>"
HOSTILE_COST_CENTER = '"><img src=x onerror=alert(2)>'
HOSTILE_CLOSE = "</script><script>alert(3)</script>"
ESCAPING_OWNERS = ["../../escaped", "..", "a/b\\c", "../../../../tmp/evil"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The demo pipeline's output folder (finops.duckdb for every demo month)."""
    root = tmp_path_factory.mktemp("reports")
    paths = generate_demo(root / "demo-tenant", seed=42, months=3)
    out = root / "out"
    run_pipeline(paths.exports, paths.inventory, out)
    return out


@pytest.fixture(scope="module")
def demo_pack(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-pack")
    with duckdb.connect(str(warehouse / "finops.duckdb"), read_only=True) as con:
        paths = write_month_reports(con, out, MONTH)
    return paths


@pytest.fixture(scope="module")
def hostile(warehouse, tmp_path_factory):
    """A copy of the warehouse with hostile project, cost center and owner values, a second
    currency, and a command that tries to escape its comment with a newline."""
    out = tmp_path_factory.mktemp("hostile")
    db = out / "finops.duckdb"
    shutil.copy(warehouse / "finops.duckdb", db)
    marker = out / "PWNED"
    with duckdb.connect(str(db)) as con:
        insert_allocation = ("INSERT INTO cost_allocation VALUES ($m, $cur, '/x', NULL, 'other', 'x', $project, $owner, "
                             "$cc, 'row_tag', 'row tag', $cost, $cost)")
        con.execute(insert_allocation, {"m": MONTH, "cur": "USD", "project": HOSTILE_PROJECT,
                                        "owner": HOSTILE_CLOSE, "cc": HOSTILE_COST_CENTER, "cost": Decimal("12.34")})
        con.execute(insert_allocation, {"m": MONTH, "cur": "EUR", "project": "eur-only", "owner": "eva@contoso.com",
                                        "cc": "CC-9", "cost": Decimal("1000.5")})
        insert_spend = "INSERT INTO project_spend_monthly VALUES ($m, $cur, $project, $cost, $cost, NULL, NULL, $share)"
        con.execute(insert_spend, {"m": MONTH, "cur": "USD", "project": HOSTILE_PROJECT, "cost": Decimal("12.34"),
                                   "share": Decimal("0.17")})
        con.execute(insert_spend, {"m": MONTH, "cur": "EUR", "project": "eur-only", "cost": Decimal("1000.5"),
                                   "share": Decimal("100")})
        # A cleanup finding, always the same one: the warehouse's row order is not preserved, and an
        # anomaly or budget event as the template would make the hostile rows events without their day.
        template = con.execute("SELECT * FROM findings WHERE billing_month = $m AND status = 'open' "
                               "AND rule_id NOT IN ('budget', 'anomaly') ORDER BY finding_id LIMIT 1",
                               {"m": MONTH}).fetchall()[0]
        columns = [r[0] for r in con.execute("DESCRIBE findings").fetchall()]
        base = dict(zip(columns, template, strict=True))
        hostile_rows = [
            {"owner": owner, "command": f"az ml compute stop --name x{i}\ntouch {marker}",
             "finding_id": f"hostile{i}", "resource_id": f"/hostile/{i}", "savings": Decimal("7.5") + i,
             "resource_name": HOSTILE_PROJECT, "evidence": json.dumps({"note": HOSTILE_CLOSE})}
            for i, owner in enumerate(ESCAPING_OWNERS)]
        for row in hostile_rows:
            values = {**base, **row}
            placeholders = ", ".join(f"${c}" for c in columns)
            con.execute(f"INSERT INTO findings VALUES ({placeholders})", values)  # noqa: S608 - test fixture
    with duckdb.connect(str(db), read_only=True) as con:
        paths = write_month_reports(con, out, MONTH)
    return {"out": out, "db": db, "paths": paths, "marker": marker}


def _db_rows(db: Path, sql: str, params: dict | None = None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


# -- finance pack: HTML -------------------------------------------------------------------------

def test_packs_are_written_under_the_month(demo_pack):
    root = demo_pack.root
    assert root.name == "2026-10" and root.parent.name == "reports"
    for path in (demo_pack.html, demo_pack.workbook, demo_pack.chargeback_csv, demo_pack.engineers_index):
        assert path.is_file() and path.stat().st_size > 0, path
        assert root in path.parents
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")], "staging folders left behind"


def test_html_is_self_contained(demo_pack, hostile):
    for paths in (demo_pack, hostile["paths"]):
        page = paths.html.read_text(encoding="utf-8")
        assert "http://" not in page and "https://" not in page
        for attr, value in re.findall(r'\b(src|href)\s*=\s*["\']?([^"\'\s>]*)', page, flags=re.I):
            assert not value.startswith("//") and ":" not in value, (attr, value)
        lowered = page.lower()
        assert "<link" not in lowered and "@import" not in lowered and "url(" not in lowered
        assert "<iframe" not in lowered and "<img" not in lowered


def test_html_shows_every_view(demo_pack, warehouse):
    page = demo_pack.html.read_text(encoding="utf-8")
    for heading in ("Spend by project", "Trend", "Top movers month over month", "Tag coverage", "Spend by owner",
                    "Spend by cost center", "Unallocated"):
        assert heading in page, heading
    for chart in ("c0-chart-projects", "c0-chart-trend-0", "c0-chart-movers", "c0-chart-coverage", "c0-chart-owners",
                  "c0-chart-centers"):
        assert f'id="{chart}"' in page, chart
    for heading in ("What (unallocated) is made of", "Cleanup findings by project", "Where these numbers come from"):
        assert heading in page, heading
    assert "@media print" in page and "@page" in page
    totals = _db_rows(warehouse / "finops.duckdb", "SELECT billing_currency, sum(effective_cost) FROM cost_allocation "
                      "WHERE billing_month = $m GROUP BY ALL", {"m": MONTH})
    for currency, total in totals:  # money: 2 decimals, half up, thousands separators; per currency
        assert f"{total.quantize(Decimal('0.01'), rounding='ROUND_HALF_UP'):,}" in _section(page, currency)
    assert "Months covered by the trend: 2026-08, 2026-09, 2026-10." in page


def _section(page: str, currency: str) -> str:
    """The report's section of one currency."""
    start = page.index(f'data-currency="{currency}"')
    end = page.find('<section class="currency"', start)
    return page[start:end if end > 0 else len(page)]


def _main_currency(db: Path) -> str:
    return _db_rows(db, "SELECT billing_currency FROM cost_allocation WHERE billing_month = $m GROUP BY ALL "
                        "ORDER BY sum(effective_cost) DESC LIMIT 1", {"m": MONTH})[0][0]


def test_bars_are_proportional_to_the_values(demo_pack, warehouse):
    currency = _main_currency(warehouse / "finops.duckdb")
    page = _section(demo_pack.html.read_text(encoding="utf-8"), currency)
    svg = re.search(r'<svg class="chart chart-bar" id="c0-chart-projects".*?</svg>', page, flags=re.S).group(0)
    bars = [(Decimal(v), float(w)) for w, v in re.findall(r'width="([\d.]+)" height="\d+" rx="3" fill="[^"]+" '
                                                          r'data-value="([^"]+)"', svg)]
    expected = _db_rows(warehouse / "finops.duckdb", "SELECT effective_cost FROM project_spend_monthly "
                        "WHERE billing_month = $m AND billing_currency = $c ORDER BY effective_cost DESC",
                        {"m": MONTH, "c": currency})
    assert [b[0] for b in bars] == [r[0] for r in expected]
    largest_value, largest_width = bars[0]
    for value, width in bars[1:]:
        want = 0.0 if value == 0 else max(float(value / largest_value) * largest_width, 1.5)  # a sliver if not 0
        assert width == pytest.approx(want, abs=0.11)
    # The trend: one panel per project, each with its own line (a point per month) and its own scale.
    panels = re.findall(r'<figure class="panel[^"]*" data-project="([^"]+)">(.*?)</figure>', page, flags=re.S)
    assert len(panels) == len(expected)
    maxima = set()
    for _project, body in panels:
        lines = re.findall(r'<path class="line mark" d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+"', body)
        assert len(lines) == 1
        maxima.add(re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', body)[1])  # the panel's own top tick
    assert len(maxima) > 2, maxima


def test_hostile_values_are_escaped_in_html(hostile):
    page = hostile["paths"].html.read_text(encoding="utf-8")
    assert HOSTILE_PROJECT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE_COST_CENTER not in page and "<img" not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    # Exactly the page's own three script elements; the embedded JSON cannot be closed early.
    assert page.count("<script") == 3 and page.count("</script>") == 3
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, flags=re.S).group(1)
    assert "<" not in data and ">" not in data and "\\u003cscript\\u003e" in data
    assert HOSTILE_PROJECT in [p["project"] for p in json.loads(data)["projects"]]


def test_currencies_are_never_summed(hostile):
    page = hostile["paths"].html.read_text(encoding="utf-8")
    assert "2 currencies this month: USD, EUR." in page
    assert 'data-currency="EUR"' in page and 'data-currency="USD"' in page
    usd = _db_rows(hostile["db"], "SELECT sum(effective_cost) FROM cost_allocation "
                   "WHERE billing_month = $m AND billing_currency = 'USD'", {"m": MONTH})[0][0]
    both = usd + Decimal("1000.5")
    assert f"{usd.quantize(Decimal('0.01')):,}" in page
    assert f"{both.quantize(Decimal('0.01')):,}" not in page
    eur = page[page.index('data-currency="EUR"'):]
    assert "1,000.50" in eur and "100.00%" in eur


# -- finance pack: Excel and CSV ----------------------------------------------------------------

SHEETS = ["Summary", "Spend by project", "Trend", "Top movers", "Tag coverage", "Unallocated", "Spend by owner",
           "Spend by cost center", "Commitments", "Shared clusters", "Chargeback", "Budgets", "Anomalies",
           "Savings by project", "Findings", "Sources"]


def test_workbook_has_one_sheet_per_view_with_numbers(demo_pack, warehouse):
    assert demo_pack.workbook.name == "workbook.xlsx"
    book = openpyxl.load_workbook(demo_pack.workbook, data_only=True)
    assert book.sheetnames == SHEETS == demo_pack.sheets
    currency = _main_currency(warehouse / "finops.duckdb")
    projects = book["Spend by project"]
    ref = openpyxl.load_workbook(demo_pack.workbook)["Spend by project"].tables[f"ProjectSpend_{currency}"].ref
    header, first = projects[ref][0], projects[ref][1]
    assert [c.value for c in header][:3] == ["Project", "Effective cost", "Billed cost"]
    top = _db_rows(warehouse / "finops.duckdb", "SELECT max(effective_cost) FROM project_spend_monthly "
                   "WHERE billing_month = $m AND billing_currency = $c", {"m": MONTH, "c": currency})[0][0]
    cell = first[1]
    assert isinstance(cell.value, float) and cell.number_format == "#,##0.00"
    assert Decimal(repr(cell.value)) == top  # the exact decimal in the cell: no cent lost
    assert_workbook_cells(demo_pack.workbook, warehouse / "finops.duckdb")
    # Every open finding is listed, with its owner, resource, savings and command.
    findings = openpyxl.load_workbook(demo_pack.workbook)["Findings"]
    got = []
    for _name, ref in findings.tables.items():  # one table per currency
        headers = [c.value for c in findings[ref][0]]
        got += [(r[headers.index("Resource")].value, r[headers.index("Command")].value) for r in findings[ref][1:-1]]
    want = _db_rows(warehouse / "finops.duckdb", "SELECT resource_name, command FROM findings "
                    "WHERE billing_month = $m AND status = 'open' AND rule_id NOT IN ('budget', 'anomaly')",
                    {"m": MONTH})
    assert sorted(got) == sorted(want)


def test_libreoffice_prints_every_sheet_one_page_wide(demo_pack, tmp_path):
    """A real spreadsheet application prints the workbook: LibreOffice headless converts it to PDF
    with the workbook's own print setup."""
    pdf = workbook_pdf(demo_pack.workbook, tmp_path)
    pages = pages_by_sheet(pdf, demo_pack.sheets)
    assert_one_page_wide(demo_pack.workbook, pages)
    counts = {sheet: len(printed) for sheet, printed in pages.items()}
    print("pages per sheet:", counts)
    assert all(n == 1 for sheet, n in counts.items() if sheet != "Findings"), counts
    # LibreOffice recalculates the totals rows: they are the pack's totals.
    chargeback = pages["Chargeback"][0][1]
    for currency, cents in demo_pack.chargeback_totals.items():
        assert f"Total {format_money(cents)}" in chargeback, currency


def test_sources_say_where_the_numbers_come_from(demo_pack, warehouse):
    db = warehouse / "finops.duckdb"
    runs = _db_rows(db, "SELECT DISTINCT split_part(source_file, '/', 3) FROM cost_line_items "
                        "WHERE billing_month = $m", {"m": MONTH})
    page = demo_pack.html.read_text(encoding="utf-8")
    book = openpyxl.load_workbook(demo_pack.workbook)
    sources = "\n".join(str(c.value) for row in book["Sources"].iter_rows() for c in row if c.value is not None)
    for (run_id,) in runs:
        assert run_id in page and run_id in sources
    captured = _db_rows(db, "SELECT max(captured_at) FROM inventory_workspaces")[0][0]
    for text in (f"{captured.astimezone(UTC):%Y-%m-%d %H:%M} UTC", "Contract version", f"aml-finops {__version__}",
                 "Generated at"):
        assert text in page and text in sources, text
    assert "ExportRuns" in book["Sources"].tables
    header = (Path(__file__).resolve().parents[1] / "docs" / "tables.md").read_text().splitlines()[0]
    assert f"version {contract_version()})" in header and f"{contract_version()} (docs/tables.md)" in page


def test_unallocated_is_broken_down_with_owner_hints_and_the_fix(demo_pack, warehouse):
    db = warehouse / "finops.duckdb"
    currency = _db_rows(db, "SELECT billing_currency FROM cost_allocation WHERE billing_month = $m AND project = "
                            "'(unallocated)' GROUP BY ALL ORDER BY sum(effective_cost) DESC LIMIT 1", {"m": MONTH})[0][0]
    card = _section(demo_pack.html.read_text(encoding="utf-8"), currency)
    card = card[card.index("-unallocated\""):card.index("-coverage\"")]
    unallocated = _db_rows(db, "SELECT sum(effective_cost) FROM cost_allocation WHERE billing_month = $m "
                               "AND project = '(unallocated)' AND billing_currency = $c", {"m": MONTH, "c": currency})[0][0]
    assert f'<td class="num">{format_money(unallocated)}</td>' in card.split("<tfoot>")[1]
    # A compute nobody tagged, whose creator is known: named with its owner hint and the command to tag it.
    name, owner, cost = _db_rows(db, """
        SELECT a.aml_name, a.owner, sum(a.effective_cost) FROM cost_allocation a
        JOIN inventory_computes c ON c.compute_name = a.aml_name AND lower(c.workspace_id) = lower(a.workspace_id)
        WHERE a.billing_month = $m AND a.project = '(unallocated)' AND a.billing_currency = $c
          AND a.aml_kind = 'compute' AND a.owner = c.created_by
        GROUP BY ALL ORDER BY 3 DESC LIMIT 1""", {"m": MONTH, "c": currency})[0]
    row = card[card.index(f">{name}<"):].split("</tr>")[0]
    assert owner in row and "creator of the compute" in row and format_money(cost) in row
    assert f"az ml compute update --name {name}" in row and "tags.project=&lt;project&gt;" in row
    known = _db_rows(db, "SELECT sum(effective_cost) FROM cost_allocation WHERE billing_month = $m "
                         "AND project = '(unallocated)' AND billing_currency = $c AND owner IS NOT NULL",
                     {"m": MONTH, "c": currency})[0][0]
    assert f"<strong>{format_money(known)} {currency}</strong> of it has a known owner" in card


def test_top_movers_are_explained_by_resources(demo_pack, warehouse):
    db = warehouse / "finops.duckdb"
    currency = _main_currency(db)
    card = _section(demo_pack.html.read_text(encoding="utf-8"), currency)
    card = card[card.index("-movers\""):card.index("-unallocated\"")]
    project = re.search(r'<tbody><tr><td class="num">1</td><td class="txt">([^<]+)</td>', card).group(1)
    row = card[card.index(f'<td class="txt">{project}</td>'):].split("</tr>")[0]
    [(name, change)] = _db_rows(db, """
        SELECT coalesce(aml_name, regexp_extract(resource_id, '[^/]+$')),
               sum(CASE WHEN billing_month = $m THEN effective_cost ELSE -effective_cost END) AS change
        FROM cost_allocation WHERE project = $p AND billing_currency = $c
          AND billing_month IN ($m, $m - INTERVAL 1 MONTH)
        GROUP BY aml_name, resource_id, aml_kind ORDER BY abs(change) DESC LIMIT 1""",
                                {"m": MONTH, "p": project, "c": currency})
    assert f'<span class="driver">{name}</span>' in row and format_money(change, signed=True) in row
    book = openpyxl.load_workbook(demo_pack.workbook)
    movers = [r for r in book["Top movers"].iter_rows(values_only=True) if r and r[1] == project]
    assert name in movers[0][-1]


def test_findings_by_project_add_up_to_the_headline(demo_pack):
    page = demo_pack.html.read_text(encoding="utf-8")
    for currency, savings in demo_pack.savings.items():
        if not savings:
            continue
        card = _section(page, currency)
        card = card[card.index("-findings\""):]
        assert f'<td class="num">{format_money(savings)}</td>' in card.split("<tfoot>")[1].split("</tfoot>")[0]


def test_the_workbook_has_one_name_everywhere():
    root = Path(__file__).resolve().parents[1]
    for doc in ("README.md", "docs/reports.md", "dagster_project/cli.py", "assets/reports.py"):
        text = (root / doc).read_text(encoding="utf-8")
        assert "finance.xlsx" not in text, doc
    assert "workbook.xlsx" in (root / "README.md").read_text() and "workbook.xlsx" in (
        root / "docs/reports.md").read_text()


def test_chargeback_csv_adds_up_in_cents_and_exactly(demo_pack, hostile, warehouse):
    for paths, db in ((demo_pack, warehouse / "finops.duckdb"), (hostile["paths"], hostile["db"])):
        with open(paths.chargeback_csv, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == CSV_COLUMNS
        lines = [r for r in rows if r["row_type"] == "line"]
        totals = {r["currency"]: r for r in rows if r["row_type"] == "total"}
        expected = {c: (e, b) for c, e, b in _db_rows(db, "SELECT billing_currency, sum(effective_cost), "
                                                          "sum(billed_cost) FROM cost_allocation WHERE billing_month "
                                                          "= $m GROUP BY ALL", {"m": MONTH})}
        assert set(totals) == set(expected)
        for currency, (effective, billed) in expected.items():
            mine = [r for r in lines if r["currency"] == currency]
            for column, want in (("effective_cost", effective), ("billed_cost", billed)):
                assert sum(Decimal(r[f"{column}_exact"]) for r in mine) == want  # exact, to the last digit
                assert sum(Decimal(r[column]) for r in mine) == Decimal(totals[currency][column]) == \
                    want.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
                assert all(re.fullmatch(r"-?\d+\.\d\d", r[column]) for r in mine)
        assert {r["billing_month"] for r in rows} == {"2026-10-01"}
    assert set(demo_pack.chargeback_totals) == set(demo_pack.currencies)
    with open(hostile["paths"].chargeback_csv, newline="", encoding="utf-8") as handle:
        assert any(r["project"] == HOSTILE_PROJECT for r in csv.DictReader(handle))


# -- engineer pack -----------------------------------------------------------------------------

def test_one_folder_per_owner_sorted_by_savings(demo_pack, warehouse):
    owners = {r[0] or NO_OWNER: r[1] for r in _db_rows(
        warehouse / "finops.duckdb", "SELECT owner, count(*) FROM findings WHERE billing_month = $m "
        "AND status = 'open' GROUP BY owner", {"m": MONTH})}
    assert set(demo_pack.owners) == set(owners)
    # `_jobs` (what each submitter's jobs cost) can never be an owner's folder: those never start with `_`.
    folders = sorted(p.name for p in demo_pack.engineers_dir.iterdir() if p.is_dir() and p.name != "_jobs")
    assert folders == sorted(owner_folders(list(owners)).values())
    assert "no-owner" in folders
    for owner, folder in demo_pack.owners.items():
        assert sorted(f.name for f in folder.iterdir()) == ["cleanup.sh", "findings.csv", "findings.md"]
        with open(folder / "findings.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == owners[owner]
        savings = [Decimal(r["savings"]) for r in rows]
        assert savings == sorted(savings, reverse=True)
        assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    index = demo_pack.engineers_index.read_text(encoding="utf-8")
    assert index.index("bob@contoso.com") < index.index("carol@contoso.com")  # largest savings first


def test_markdown_has_evidence_and_the_command(demo_pack, warehouse):
    command, evidence = _db_rows(warehouse / "finops.duckdb", "SELECT command, evidence FROM findings "
                                 "WHERE billing_month = $m AND owner = 'bob@contoso.com' AND status = 'open' "
                                 "ORDER BY savings DESC LIMIT 1", {"m": MONTH})[0]
    page = (demo_pack.owners["bob@contoso.com"] / "findings.md").read_text(encoding="utf-8")
    assert f"```sh\n{command}\n```" in page
    assert "savings\\_basis" in page or "savings_basis" in page
    top, currency, resource = _db_rows(warehouse / "finops.duckdb", "SELECT savings, currency, resource_name FROM findings WHERE "
                                       "billing_month = $m AND owner = 'bob@contoso.com' AND status = 'open' "
                                       "ORDER BY savings DESC, rule_id, resource_id LIMIT 1", {"m": MONTH})[0]
    assert f"{format_money(top)} {currency}" in page
    first = page.index("## 1.")
    assert page.index(resource, first) < page.index("## 2.")


def test_cleanup_scripts_run_nothing(demo_pack, hostile, tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    called = tmp_path / "az-was-called"
    for tool in ("az", "touch"):
        (fake_bin / tool).write_text(f"#!/bin/sh\necho called > {called}\n")
        (fake_bin / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"}
    scripts = [p / "cleanup.sh" for paths in (demo_pack, hostile["paths"]) for p in paths.owners.values()]
    assert len(scripts) >= 9
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
        assert "NOTHING RUNS AS GENERATED" in text
        code = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        assert code == ["set -euo pipefail"], script
        assert os.access(script, os.X_OK)
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
        run = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        assert (run.returncode, run.stdout, run.stderr) == (0, "", ""), script
    assert not called.exists() and not hostile["marker"].exists()
    # Every open command is present, commented out line by line.
    bob = (demo_pack.owners["bob@contoso.com"] / "cleanup.sh").read_text(encoding="utf-8")
    assert bob.count("\n# az ") == 5
    evil = (hostile["paths"].owners["../../escaped"] / "cleanup.sh").read_text(encoding="utf-8")
    assert f"# az ml compute stop --name x0\n# touch {hostile['marker']}" in evil


def test_owner_strings_cannot_escape_the_engineers_folder(hostile):
    paths = hostile["paths"]
    engineers = paths.engineers_dir.resolve()
    for owner in ESCAPING_OWNERS:
        folder = paths.owners[owner]
        assert folder.resolve().parent == engineers, owner
        assert "/" not in folder.name and "\\" not in folder.name and ".." not in folder.name
        assert (folder / "findings.md").is_file()
    assert len({p.name.lower() for p in paths.owners.values()}) == len(paths.owners)
    # Nothing was written outside the month's folder.
    outside = [p for p in hostile["out"].rglob("*") if p.is_file() and paths.root not in p.parents]
    assert sorted(p.name for p in outside) == ["finops.duckdb"]
    md = (paths.owners["../../escaped"] / "findings.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "</script>" not in md and "\\<script\\>" in md


def test_safe_names():
    assert safe_name("bob@contoso.com") == "bob@contoso.com"
    assert safe_name(NO_OWNER) == "no-owner"
    for hostile_name in ("../x", "..", ".", "", "a/b", "a\\b", "/etc/passwd", "x/../../y", "\x00", "..\u2044.."):
        name = safe_name(hostile_name)
        assert name and "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".")
    folders = owner_folders(["Bob", "bob", "a/b", "a_b", NO_OWNER, "no-owner"])
    assert len({f.lower() for f in folders.values()}) == 6
    assert folders["Bob"] == "Bob" and folders["bob"].startswith("bob-")  # case-insensitive file systems
    assert folders["a_b"] == "a_b" and folders["a/b"].startswith("a_b-")
    assert folders[NO_OWNER] == "no-owner" and folders["no-owner"].startswith("no-owner-")


def test_commands_cannot_leave_the_comment():
    text = commented_command("az x\nrm -rf /tmp/y\r\nreboot\u2028halt")
    assert all(line.startswith("# ") for line in text.split("\n"))
    assert "\r" not in text and "\u2028" not in text


# -- atomic replacement ------------------------------------------------------------------------

def test_rewrite_replaces_the_month_and_failure_keeps_the_old_one(warehouse, tmp_path, monkeypatch):
    with duckdb.connect(str(warehouse / "finops.duckdb"), read_only=True) as con:
        first = write_month_reports(con, tmp_path, MONTH)
        (first.root / "stale.txt").write_text("old")
        second = write_month_reports(con, tmp_path, MONTH)
        assert second.root == first.root and not (second.root / "stale.txt").exists()
        before = {p.relative_to(tmp_path): p.read_bytes() for p in second.root.rglob("*") if p.is_file()}

        import dagster_project.reporting.packs as packs

        def broken(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(packs, "write_engineer_pack", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            write_month_reports(con, tmp_path, MONTH)
    after = {p.relative_to(tmp_path): p.read_bytes() for p in second.root.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["2026-10"]


def test_first_month_has_no_movers_but_a_trend_point(warehouse, tmp_path):
    with duckdb.connect(str(warehouse / "finops.duckdb"), read_only=True) as con:
        paths = write_month_reports(con, tmp_path, date(2026, 8, 1))
    page = paths.html.read_text(encoding="utf-8")
    assert "No previous month in the warehouse to compare with." in page
    assert "no previous month available" in page
    assert 'id="c0-chart-trend-0"' in page and "Months covered by the trend: 2026-08." in page
    panels = page.count('<figure class="panel')
    assert panels >= 5 and f'data-charts-expected="{page.count("<svg class=")}"' in page


# -- commitments: reservations and savings plans -------------------------------------------------

COMMITMENT_HEADERS = ["Commitment", "Type", "Currency", "Purchases (billed)", "Covered usage", "Covered hours",
                      "Unused", "Unused hours", "Utilization", "Commitment id"]
AMOUNTS = ["purchased_billed_cost", "covered_effective_cost", "covered_hours", "unused_effective_cost",
           "unused_hours"]


def _commitments(db: Path, month: date = MONTH):
    with duckdb.connect(str(db), read_only=True) as con:
        return finance_commitments(con, month)


def test_commitments_sheet_rows_are_the_finance_commitments(demo_pack, warehouse):
    want = _commitments(warehouse / "finops.duckdb")
    assert want.height == 2 and set(want["commitment_discount_type"]) == {"Reservation"}  # the demo's two
    book = openpyxl.load_workbook(demo_pack.workbook)
    ws = book["Commitments"]
    # A table per currency with commitments (the demo's are USD); EUR's block says it has none.
    assert set(ws.tables) == {"Commitments_USD"} and set(want["billing_currency"]) == {"USD"}
    assert ["Amounts in EUR", "No rows this month."] == [c.value for row in ws.iter_rows() for c in row
                                                         if c.value in ("Amounts in EUR", "No rows this month.")]
    got = []
    for currency in sorted(set(want["billing_currency"])):
        cells = ws[ws.tables[f"Commitments_{currency}"].ref]
        assert [c.value for c in cells[0]] == COMMITMENT_HEADERS
        assert cells[-1][0].value == "Total" and str(cells[-1][3].value).startswith("=SUBTOTAL(109,")
        for row in cells[1:-1]:
            assert row[3].number_format == "#,##0.00" and row[8].number_format == "0.00%"
            got.append(row)
    assert len(got) == want.height
    for row, expected in zip(got, want.iter_rows(named=True), strict=True):
        assert [c.value for c in row[:3]] == [expected["commitment_discount_name"],
                                               expected["commitment_discount_type"], expected["billing_currency"]]
        for cell, key in zip(row[3:8], AMOUNTS, strict=True):  # the exact decimal in the cell
            assert isinstance(cell.value, (int, float)) and Decimal(repr(cell.value)) == expected[key], key
        assert Decimal(repr(row[8].value)) == expected["utilization_pct"] / 100  # a fraction, shown as a percent
        assert row[9].value == expected["commitment_discount_id"]
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows
    assert ws.oddHeader.right.text == "&A" and "&P" in ws.oddFooter.center.text


def test_html_has_a_commitments_section_with_every_commitment(demo_pack, warehouse):
    want = _commitments(warehouse / "finops.duckdb")
    page = demo_pack.html.read_text(encoding="utf-8")
    for currency in ("USD", "EUR"):
        section = _section(page, currency)
        rows = want.filter(want["billing_currency"] == currency)
        if not rows.height:
            assert "-commitments" not in section and "<h3>Commitments" not in section, currency
            continue
        card = section[section.index('-commitments"'):]
        card = card[:card.index("</table>")]
        assert "<h3>Commitments" in section and f"Purchases, billed ({currency})" in card
        assert f"Unused ({currency})" in card and f"amounts in {currency}" in section
        for r in rows.iter_rows(named=True):
            assert f'<td class="txt">{r["commitment_discount_name"]}</td>' in card
            for key in ("purchased_billed_cost", "covered_effective_cost", "unused_effective_cost"):
                assert f">{format_money(r[key])}</td>" in card, key
            assert f">{format_money(r['utilization_pct'])}%</td>" in card
        footer = card.split("<tfoot>")[1]
        assert f">{format_money(sum(rows['unused_effective_cost']))}</td>" in footer


@pytest.fixture(scope="module")
def commitments_changed(warehouse, tmp_path_factory):
    """A copy of the warehouse: October's commitments without their id (no commitment rows at all),
    September's first commitment with a hostile name."""
    out = tmp_path_factory.mktemp("commitments")
    db = out / "finops.duckdb"
    shutil.copy(warehouse / "finops.duckdb", db)
    september = date(2026, 9, 1)
    with duckdb.connect(str(db)) as con:
        # The line items are stored a table per month (month_tables.py): edit the months' tables.
        october_items = f"{month_tables.SCHEMA}.{month_tables.published_name('cost_line_items', MONTH)}"
        september_items = f"{month_tables.SCHEMA}.{month_tables.published_name('cost_line_items', september)}"
        con.execute(f"UPDATE {october_items} SET commitment_discount_id = NULL")  # noqa: S608
        [first] = con.execute("SELECT min(commitment_discount_id) FROM cost_line_items WHERE billing_month = $m",
                              {"m": september}).fetchall()[0]
        con.execute(f"UPDATE {september_items} SET commitment_discount_name = $n "  # noqa: S608
                    "WHERE commitment_discount_id = $id", {"n": HOSTILE_PROJECT, "id": first})
        empty = write_month_reports(con, out / "empty", MONTH)
        hostile_pack = write_month_reports(con, out / "hostile", september)
    return {"db": db, "empty": empty, "hostile": hostile_pack}


def test_a_month_without_commitment_rows_has_no_commitments_section(commitments_changed):
    assert _commitments(commitments_changed["db"]).height == 0
    page = commitments_changed["empty"].html.read_text(encoding="utf-8")
    assert "-commitments" not in page and "<h3>Commitments" not in page
    ws = openpyxl.load_workbook(commitments_changed["empty"].workbook)["Commitments"]
    assert not ws.tables and "No rows this month." in [c.value for row in ws.iter_rows() for c in row]


def test_commitment_names_are_escaped_in_html(commitments_changed):
    page = commitments_changed["hostile"].html.read_text(encoding="utf-8")
    card = page[page.index('-commitments"'):]
    card = card[:card.index("</table>")]
    assert html_escape(HOSTILE_PROJECT) in card and HOSTILE_PROJECT not in page
    ws = openpyxl.load_workbook(commitments_changed["hostile"].workbook)["Commitments"]
    assert HOSTILE_PROJECT in [c.value for row in ws.iter_rows() for c in row]  # as text


def test_cli_summary_does_not_count_the_commitment_lines_as_projects(warehouse, capsys):
    spend = _db_rows(warehouse / "finops.duckdb", "SELECT project FROM project_spend_monthly WHERE billing_month = $m "
                     "AND billing_currency = 'USD' ORDER BY effective_cost DESC, project", {"m": MONTH})
    ranked = [p for (p,) in spend]
    explicit = {UNUSED_COMMITMENT, COMMITMENT_PURCHASES}
    assert explicit <= set(ranked)  # the demo has both lines
    projects = [p for p in ranked if p not in explicit | {UNALLOCATED}]
    top = 2
    rest = [p for p in ranked[top:] if p not in explicit]
    assert len(rest) < len(ranked) - top  # an explicit line is among the rest
    capsys.readouterr()
    _print_summary(summarize(warehouse, [MONTH]), 1.0, top=top)
    out = capsys.readouterr().out
    [usd] = [line for line in out.splitlines() if line.startswith("Total USD:")]
    assert f", {len(projects)} projects;" in usd
    assert f"{len(rest)} more (total " in out


def _one_line_by_category(text: str) -> str:
    """The engineer pack's one-line rule spelled out with unicodedata: line breaks become spaces,
    every other control character (category Cc) but the tab is dropped."""
    import unicodedata

    from dagster_project.reporting.engineer import _LINE_BREAKS

    return "".join(ch for ch in _LINE_BREAKS.sub(" ", text) if ch == "\t" or unicodedata.category(ch) != "Cc")


_CONTROL_HEAVY = "\t\n\r\x00\x07\x0b\x0c\x1b\x1c\x1f\x7f\x80\x85\x9f\xa0\u2028\u2029 a/é\u200b$'"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from(_CONTROL_HEAVY), max_size=40)))
def test_one_line_and_commented_command_drop_exactly_the_control_characters(text):
    """Generated text (any code point, and strings dense in C0/C1 controls and line breaks): the
    regex form of one_line keeps what a per-character category test keeps, and a commented command
    is comment lines only, each the one-line form of its physical line."""
    from dagster_project.reporting.engineer import _LINE_BREAKS, commented_command, one_line

    assert one_line(text) == _one_line_by_category(text)
    lines = commented_command(text).split("\n")
    assert lines == ["# " + _one_line_by_category(part) for part in _LINE_BREAKS.split(text)]
    assert all(line.startswith("# ") and "\r" not in line for line in lines)
