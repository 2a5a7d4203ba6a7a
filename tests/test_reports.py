"""Finance and engineer packs, on the demo pipeline's warehouse and on a copy with hostile values."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dagster_project.demo.generate import generate_demo
from dagster_project.reporting import write_month_reports
from dagster_project.reporting.engineer import NO_OWNER, commented_command, owner_folders, safe_name
from dagster_project.runner import run_pipeline

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
        template = con.execute("SELECT * FROM findings WHERE billing_month = $m AND status = 'open' LIMIT 1",
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
    for chart in ("c0-chart-projects", "c0-chart-trend", "c0-chart-movers", "c0-chart-coverage", "c0-chart-owners",
                  "c0-chart-centers"):
        assert f'id="{chart}"' in page, chart
    total = _db_rows(warehouse / "finops.duckdb",
                     "SELECT sum(effective_cost) FROM cost_allocation WHERE billing_month = $m", {"m": MONTH})[0][0]
    assert f"{total.quantize(Decimal('0.01')):,}" in page  # money: 2 decimals, thousands separators
    assert "Months covered by the trend: 2026-08, 2026-09, 2026-10." in page


def test_bars_are_proportional_to_the_values(demo_pack, warehouse):
    page = demo_pack.html.read_text(encoding="utf-8")
    svg = re.search(r'<svg class="chart chart-bar" id="c0-chart-projects".*?</svg>', page, flags=re.S).group(0)
    bars = [(Decimal(v), float(w)) for w, v in re.findall(r'width="([\d.]+)" height="\d+" rx="3" fill="[^"]+" '
                                                          r'data-value="([^"]+)"', svg)]
    expected = _db_rows(warehouse / "finops.duckdb", "SELECT effective_cost FROM project_spend_monthly "
                        "WHERE billing_month = $m ORDER BY effective_cost DESC", {"m": MONTH})
    assert [b[0] for b in bars] == [r[0] for r in expected]
    largest_value, largest_width = bars[0]
    for value, width in bars[1:]:
        assert width == pytest.approx(max(float(value / largest_value) * largest_width, 1.5), abs=0.11)
    trend = re.search(r'<svg class="chart chart-line" id="c0-chart-trend".*?</svg>', page, flags=re.S).group(0)
    lines = re.findall(r'<path class="line mark" d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+"', trend)
    assert len(lines) == len(expected)  # one line per project, a point per month (3 months)


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

def test_workbook_has_one_sheet_per_view_with_numbers(demo_pack, warehouse):
    with zipfile.ZipFile(demo_pack.workbook) as book:
        workbook = book.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet name="([^"]+)"', workbook)
        assert names == ["Summary", "Spend by project", "Trend", "Top movers", "Tag coverage", "Spend by owner",
                         "Spend by cost center", "Chargeback", "Cleanup savings"] == demo_pack.sheets
        styles = book.read("xl/styles.xml").decode()
        assert 'formatCode="#,##0.00"' in styles
        projects = book.read("xl/worksheets/sheet2.xml").decode()
        cols = re.findall(r'<col [^>]*width="([\d.]+)"', projects)
        assert cols and all(float(w) >= 9 for w in cols)  # widths set, in characters
    # Row 4 is the first data row (title, blank, header); C is effective cost, a number, not a string.
    cell = re.search(r'<c r="C4"([^>]*)><v>([^<]+)</v>', projects)
    assert cell and 't="s"' not in cell.group(1) and 't="str"' not in cell.group(1)
    top = _db_rows(warehouse / "finops.duckdb", "SELECT max(effective_cost) FROM project_spend_monthly "
                   "WHERE billing_month = $m", {"m": MONTH})[0][0]
    assert Decimal(cell.group(2)) == top  # exact decimal in the cell: no cent lost
    rows = _db_rows(warehouse / "finops.duckdb", "SELECT count(*) FROM project_spend_monthly "
                    "WHERE billing_month = $m", {"m": MONTH})[0][0]
    numeric = re.findall(r'<c r="[CD]\d+" s="\d+"><v>', projects)  # effective and billed cost
    assert len(numeric) == 2 * rows


def test_chargeback_csv_totals_equal_the_warehouse_exactly(demo_pack, hostile, warehouse):
    for paths, db in ((demo_pack, warehouse / "finops.duckdb"), (hostile["paths"], hostile["db"])):
        with open(paths.chargeback_csv, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == ["project", "owner", "cost_center", "currency", "effective_cost", "billed_cost"]
        totals: dict[str, list[Decimal]] = {}
        for row in rows:
            sums = totals.setdefault(row["currency"], [Decimal(0), Decimal(0)])
            sums[0] += Decimal(row["effective_cost"])
            sums[1] += Decimal(row["billed_cost"])
        expected = {c: [e, b] for c, e, b in _db_rows(db, "SELECT billing_currency, sum(effective_cost), "
                                                          "sum(billed_cost) FROM cost_allocation WHERE billing_month "
                                                          "= $m GROUP BY ALL", {"m": MONTH})}
        assert totals == expected
    with open(hostile["paths"].chargeback_csv, newline="", encoding="utf-8") as handle:
        assert any(r["project"] == HOSTILE_PROJECT for r in csv.DictReader(handle))


# -- engineer pack -----------------------------------------------------------------------------

def test_one_folder_per_owner_sorted_by_savings(demo_pack, warehouse):
    owners = {r[0] or NO_OWNER: r[1] for r in _db_rows(
        warehouse / "finops.duckdb", "SELECT owner, count(*) FROM findings WHERE billing_month = $m "
        "AND status = 'open' GROUP BY owner", {"m": MONTH})}
    assert set(demo_pack.owners) == set(owners)
    folders = sorted(p.name for p in demo_pack.engineers_dir.iterdir() if p.is_dir())
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
    assert "2,309.35 USD" in page
    first = page.index("## 1.")
    assert page.index("ci-bob-gpu", first) < page.index("## 2.")


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
    assert 'id="c0-chart-trend"' in page and "Months covered by the trend: 2026-08." in page
    assert 'data-charts-expected="5"' in page
