"""The finance report in a real browser: headless Chromium renders the demo's HTML report, the
charts lay out, no script error happens, no text leaves its box (measured in the page, for the
demo and a generated 500-project tenant), every trend line stays in its own panel, hostile values
stay inert, the page prints, and a screenshot is saved next to the report.

Chromium is Debian's `chromium` (`scripts/ensure_chromium.sh` installs it; `make test` runs that
first). Without it the test is skipped — unless `CI` is set, where a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
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
from finance_tenant import build_tenant

from dagster_project.demo.generate import generate_demo
from dagster_project.reporting import write_month_reports
from dagster_project.reporting.packs import SCREENSHOT_NAME
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

    large_out = root / "large"
    large_out.mkdir()
    tenant = build_tenant(large_out / "finops.duckdb", projects=500)
    with duckdb.connect(str(tenant.db), read_only=True) as con:
        large = write_month_reports(con, large_out, MONTH)
    return {"demo": demo, "hostile": hostile, "large": large}


def test_charts_draw_without_script_errors(reports):
    page = reports["demo"].html
    dom = _dump_dom(page)
    attributes = _root_attributes(dom)
    assert attributes.get("data-report-month") == "2026-10", "the page script did not run"
    assert attributes.get("data-script-errors") == ""
    expected = int(attributes["data-charts-expected"])
    panels = dom.count('<figure class="panel')
    sections = dom.count('<section class="currency"')
    timelines = dom.count('-chart-anomalies"')  # a currency with anomalies has their timeline
    assert panels >= 6 and expected == 5 * sections + panels + timelines  # per currency: projects, movers,
    assert attributes.get("data-charts-drawn") == str(expected)  # coverage, owners, cost centers; a panel per project
    charts = re.findall(r'<svg class="chart[^"]*" id="([^"]+)"[^>]*data-drawn="(yes|no)"', dom)
    assert len(charts) == expected and all(state == "yes" for _, state in charts), charts
    assert len(re.findall(r'<rect class="bar mark"', dom)) >= 10
    assert len(re.findall(r'<path class="line mark"', dom)) == panels


def test_screenshot_is_saved_next_to_the_report(reports):
    page = reports["demo"].html
    shot = page.parent / SCREENSHOT_NAME
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


# Added to a copy of the page, after its own scripts: measures, in the laid-out page, every text
# against the box it belongs to, and every trend line against its panel; the result goes into
# `data-measure` on <html> as JSON, which --dump-dom returns.
MEASURE = """
<script>
(function () {
  var out = {overflows: [], panels: [], texts: 0};
  function inside(a, b, tol) {
    return a.left >= b.left - tol && a.right <= b.right + tol && a.top >= b.top - tol && a.bottom <= b.bottom + tol;
  }
  function say(what, el) {
    var text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60);
    out.overflows.push(what + ': ' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + text + '"');
  }
  // SVG text: inside its chart; a segment's label inside its segment.
  Array.prototype.forEach.call(document.querySelectorAll('svg.chart text'), function (t) {
    var r = t.getBoundingClientRect();
    if (!r.width) { return; }
    out.texts += 1;
    if (!inside(r, t.ownerSVGElement.getBoundingClientRect(), 0.5)) { say('outside its chart', t); }
    if (t.classList.contains('segment-label') && !inside(r, t.previousElementSibling.getBoundingClientRect(), 0.5)) {
      say('outside its segment', t);
    }
  });
  // HTML text: every line of every text node inside its box (card, headline, panel, cell, item).
  var boxes = '.kpi, .panel, td, th, li, dt, dd, .notice, .card, header, footer, body';
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  var node;
  while ((node = walker.nextNode())) {
    var parent = node.parentElement;
    if (!node.textContent.trim() || parent.closest('script, style, svg, title')) { continue; }
    var box = parent.closest(boxes).getBoundingClientRect();
    var range = document.createRange();
    range.selectNodeContents(node);
    Array.prototype.forEach.call(range.getClientRects(), function (r) {
      if (!r.width) { return; }
      out.texts += 1;
      if (!inside(r, box, 1)) { say('outside its box', parent); }
    });
  }
  // Nothing scrolls sideways: no table wider than its card, no page wider than the window.
  Array.prototype.forEach.call(document.querySelectorAll('.table-wrap'), function (w) {
    if (w.scrollWidth > w.clientWidth + 1) { say('table wider than its card', w); }
  });
  if (document.documentElement.scrollWidth > window.innerWidth + 1) { say('page wider than the window', document.body); }
  // Trend: each panel's line and points inside its own plot area.
  Array.prototype.forEach.call(document.querySelectorAll('figure.panel'), function (p) {
    var plot = p.querySelector('rect.plot').getBoundingClientRect();
    var marks = p.querySelectorAll('path.line, circle.point');
    var within = Array.prototype.every.call(marks, function (m) { return inside(m.getBoundingClientRect(), plot, 4.5); });
    out.panels.push({project: p.getAttribute('data-project'), lines: p.querySelectorAll('path.line').length,
                     points: p.querySelectorAll('circle.point').length, height: plot.height, within: within});
  });
  document.documentElement.setAttribute('data-measure', JSON.stringify(out));
})();
</script>
"""


def _measure(page: Path, tmp_path: Path, width: int = 1280) -> dict:
    copy = tmp_path / f"measure-{page.parent.parent.parent.parent.name}.html"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    result = _run_chromium(f"--window-size={width},1000", "--dump-dom", copy.resolve().as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    attributes = _root_attributes(result.stdout)
    assert attributes.get("data-script-errors") == "", attributes.get("data-script-errors")
    return json.loads(html.unescape(attributes["data-measure"]))


@pytest.mark.parametrize("which", ["demo", "large", "hostile"])
def test_no_text_overflows_its_box(reports, which, tmp_path):
    measured = _measure(reports[which].html, tmp_path)
    assert measured["texts"] > 200
    assert measured["overflows"] == [], measured["overflows"][:20]


def test_each_project_has_its_own_panel_and_scale(reports, tmp_path):
    measured = _measure(reports["demo"].html, tmp_path)
    panels = measured["panels"]
    page = reports["demo"].html.read_text(encoding="utf-8")
    projects = re.findall(r'<figure class="panel[^"]*" data-project="([^"]+)"', page)
    assert [p["project"] for p in panels] == [html.unescape(p) for p in projects] and len(panels) >= 6
    for panel in panels:
        assert panel["lines"] == 1 and panel["points"] == 3 and panel["within"], panel
        assert panel["height"] > 40, panel  # a readable plot, not a sliver
    large = _measure(reports["large"].html, tmp_path)["panels"]
    assert all(p["within"] and p["lines"] == 1 for p in large) and len(large) >= 15


def test_the_report_prints(reports, tmp_path):
    from pypdf import PdfReader

    pdf = tmp_path / "report.pdf"
    result = _run_chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", reports["demo"].html.resolve().as_uri())
    assert result.returncode == 0 and pdf.is_file(), result.stderr[-2000:]
    reader = PdfReader(pdf)
    assert 2 <= len(reader.pages) <= 16  # + shared clusters, budgets, anomalies, review
    for page in reader.pages:  # A4 portrait, from the print stylesheet's @page
        assert float(page.mediabox.width) == pytest.approx(595.3, abs=1) and float(page.mediabox.height) == \
            pytest.approx(841.9, abs=1)
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert "Where these numbers come from" in text and "What (unallocated) is made of" in text
