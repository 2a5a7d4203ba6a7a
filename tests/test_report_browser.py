"""The finance report in a real browser: headless Chromium renders the demo's HTML report, the
charts lay out, no script error happens, hostile values stay inert, and a screenshot is saved next
to the report.

Chromium is Debian's `chromium` (`scripts/ensure_chromium.sh` installs it; `make test` runs that
first). Without it the test is skipped — unless `CI` is set, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dagster_project.demo.generate import generate_demo
from dagster_project.reporting import write_month_reports
from dagster_project.runner import run_pipeline

MONTH = date(2026, 10, 1)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if _in_ci():
        pytest.fail("chromium is not installed and CI is set: run scripts/ensure_chromium.sh before the tests")
    pytest.skip("chromium is not installed (run scripts/ensure_chromium.sh, or set CHROMIUM=/path/to/chromium)")


def _run_chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=90)


def _dump_dom(page: Path) -> str:
    result = _run_chromium("--dump-dom", page.resolve().as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def _root_attributes(dom: str) -> dict[str, str]:
    tag = re.search(r"<html\b([^>]*)>", dom).group(1)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium()


@pytest.fixture(scope="module")
def reports(chromium, tmp_path_factory):
    """The demo's month reports, and the same month with hostile values that try to run script."""
    root = tmp_path_factory.mktemp("browser")
    paths = generate_demo(root / "demo-tenant", seed=42, months=3)
    out = root / "out"
    run_pipeline(paths.exports, paths.inventory, out)
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        demo = write_month_reports(con, out, MONTH)

    hostile_out = root / "hostile"
    hostile_out.mkdir()
    shutil.copy(out / "finops.duckdb", hostile_out / "finops.duckdb")
    payloads = [
        "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">",
        "</script><script>document.documentElement.setAttribute('data-pwned','script')</script>",
        "<svg onload=\"document.documentElement.setAttribute('data-pwned','svg')\">",
    ]
    with duckdb.connect(str(hostile_out / "finops.duckdb")) as con:
        for index, payload in enumerate(payloads):
            cost = Decimal("10") + index
            con.execute("INSERT INTO cost_allocation VALUES ($m, 'USD', '/x', NULL, 'other', 'x', $p, $p, $p, "
                        "'row_tag', 'row tag', $c, $c)", {"m": MONTH, "p": payload, "c": cost})
            con.execute("INSERT INTO project_spend_monthly VALUES ($m, 'USD', $p, $c, $c, NULL, NULL, 0.1)",
                        {"m": MONTH, "p": payload, "c": cost})
    with duckdb.connect(str(hostile_out / "finops.duckdb"), read_only=True) as con:
        hostile = write_month_reports(con, hostile_out, MONTH)
    return {"demo": demo, "hostile": hostile}


def test_charts_draw_without_script_errors(reports):
    page = reports["demo"].html
    dom = _dump_dom(page)
    attributes = _root_attributes(dom)
    assert attributes.get("data-report-month") == "2026-10", "the page script did not run"
    assert attributes.get("data-script-errors") == ""
    expected = int(attributes["data-charts-expected"])
    assert expected == 6  # projects, trend, movers, coverage, owners, cost centers
    assert attributes.get("data-charts-drawn") == str(expected)
    charts = re.findall(r'<svg class="chart[^"]*" id="([^"]+)"[^>]*data-drawn="(yes|no)"', dom)
    assert len(charts) == expected and all(state == "yes" for _, state in charts), charts
    assert len(re.findall(r'<rect class="bar mark"', dom)) >= 10
    assert len(re.findall(r'<path class="line mark"', dom)) >= 3


def test_screenshot_is_saved_next_to_the_report(reports):
    page = reports["demo"].html
    shot = page.parent / "report.png"
    shot.unlink(missing_ok=True)
    result = _run_chromium(f"--screenshot={shot}", "--window-size=1280,2000", page.resolve().as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000, "the screenshot looks blank"


def test_hostile_values_stay_inert_in_the_browser(reports):
    dom = _dump_dom(reports["hostile"].html)
    attributes = _root_attributes(dom)
    assert "data-pwned" not in attributes
    assert attributes.get("data-script-errors") == ""
    assert attributes.get("data-charts-drawn") == attributes.get("data-charts-expected")
    # The payloads are shown as text.
    assert "&lt;img src=x onerror=" in dom and "&lt;/script&gt;&lt;script&gt;" in dom
