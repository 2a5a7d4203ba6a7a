"""One month, one transaction: a month's tables, inventory, Parquet and packs appear together or not
at all, whatever kills or fails the run (issue: exports as Azure really delivers them, item 6)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dagster_project.demo.generate import generate_demo
from dagster_project.warehouse import INVENTORY_TABLES, MONTHLY_TABLES, Warehouse, transaction

CLI = [sys.executable, "-m", "dagster_project.cli"]
SEPTEMBER = date(2026, 9, 1)
OCTOBER = date(2026, 10, 1)


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def state(out: Path) -> dict[str, str]:
    """A content hash of everything published under `out`: every public table, every Parquet
    file (by content, not bytes), and the packs (file names, and the content of CSV and Markdown)."""
    hashes: dict[str, str] = {}
    db = out / "finops.duckdb"
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            present = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
            for table in (*MONTHLY_TABLES, *INVENTORY_TABLES):
                if table in present:
                    rows = sorted(repr(r) for r in con.execute(f"SELECT * FROM main.{table}").fetchall())  # noqa: S608
                    hashes[f"table:{table}"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    for parquet in sorted((out / "parquet").glob("*/**/*.parquet")):
        rows = sorted(repr(r) for r in duckdb.sql(f"SELECT * FROM read_parquet('{parquet}')").fetchall())  # noqa: S608
        hashes[f"parquet:{parquet.relative_to(out)}"] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    for file in sorted((out / "reports").rglob("*")):
        if file.is_file():
            content = file.read_bytes() if file.suffix in (".csv", ".md") else b""
            hashes[f"pack:{file.relative_to(out)}"] = hashlib.sha256(content).hexdigest()
    return hashes


def _month_totals(out: Path, month: date) -> Decimal:
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        return con.execute("SELECT coalesce(sum(effective_cost), 0) FROM cost_line_items WHERE billing_month = ?",
                           [month]).fetchall()[0][0]


def _newer_run_without_last_row(exports: Path, month: date) -> Decimal:
    """Deliver a newer run of one export for `month` that lacks the last data row of one file;
    returns the effective cost removed."""
    export = sorted(p for p in exports.iterdir() if p.is_dir())[0]
    range_dir = next(export.glob(f"{month:%Y%m%d}-*"))
    runs = sorted(range_dir.iterdir(), key=lambda d: json.loads((d / "manifest.json").read_text())["runInfo"]["submittedTime"])
    newest = runs[-1]
    new_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rerun-{newest.name}"))
    target = range_dir / new_id
    shutil.copytree(newest, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["runInfo"]["runId"] = new_id
    manifest["runInfo"]["submittedTime"] = "2026-11-20T00:00:00.0000000Z"
    blob = manifest["blobs"][0]
    blob["blobName"] = blob["blobName"].replace(newest.name, new_id)
    part = target / blob["blobName"].rsplit("/", 1)[-1]
    lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
    removed = next(csv.DictReader(io.StringIO(lines[0] + lines[-1])))
    part.write_text("".join(lines[:-1]), encoding="utf-8")
    blob["dataRowCount"] -= 1
    blob["byteCount"] = part.stat().st_size
    (target / "manifest.json").write_text(json.dumps(manifest))
    return Decimal(removed["EffectiveCost"])


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The demo published once (the state before), and its exports with a re-delivered September."""
    root = tmp_path_factory.mktemp("publication")
    paths = generate_demo(root / "tenant", seed=42, months=2)  # 2026-09 and 2026-10
    exports = root / "exports"
    shutil.copytree(paths.exports, exports)
    before = root / "before"
    result = _cli("run", "--exports", str(exports), "--inventory", str(paths.inventory), "--out", str(before))
    assert result.returncode == 0, result.stderr
    removed = _newer_run_without_last_row(exports, SEPTEMBER)
    return paths, exports, before, removed


def test_rerunning_a_month_refreshes_the_next_months_previous_cost(published, tmp_path):
    paths, exports, before, removed = published
    out = tmp_path / "out"
    shutil.copytree(before, out)
    old_september = _month_totals(out, SEPTEMBER)
    result = _cli("run", "--exports", str(exports), "--inventory", str(paths.inventory), "--out", str(out),
                  "--month", "2026-09")
    assert result.returncode == 0, result.stderr
    assert _month_totals(out, SEPTEMBER) == old_september - removed
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        stale = con.execute(
            "SELECT o.project, o.previous_effective_cost, s.effective_cost FROM project_spend_monthly o "
            "JOIN project_spend_monthly s ON s.project = o.project AND s.billing_currency = o.billing_currency "
            "AND s.billing_month = ? WHERE o.billing_month = ? "
            "AND o.previous_effective_cost IS DISTINCT FROM s.effective_cost", [SEPTEMBER, OCTOBER]).fetchall()
        parquet = con.execute(
            "SELECT sum(previous_effective_cost) FROM read_parquet(?)",
            [str(out / "parquet" / "project_spend_monthly" / "billing_month=2026-10-01" / "data.parquet")]).fetchall()
        table = con.execute("SELECT sum(previous_effective_cost) FROM project_spend_monthly WHERE billing_month = ?",
                            [OCTOBER]).fetchall()
    assert stale == [], "October's previous-month cost must follow the re-run September"
    assert parquet == table, "the Parquet mirror of October is refreshed too"


def test_a_failed_month_publishes_nothing_not_even_its_inventory(published, tmp_path):
    """An overlapping export fails a blocking check after the line items were staged; another
    snapshot was replayed first. Nothing of it may show."""
    paths, exports, before, _removed = published
    out = tmp_path / "out"
    shutil.copytree(before, out)
    expected = state(out)
    overlapping = tmp_path / "exports"
    shutil.copytree(exports, overlapping)
    first = sorted(p for p in overlapping.iterdir() if p.is_dir())[0]
    shutil.copytree(first, overlapping / "manual-rerun")
    other_inventory = generate_demo(tmp_path / "other", seed=7, months=1).inventory
    result = _cli("run", "--exports", str(overlapping), "--inventory", str(other_inventory), "--out", str(out),
                  "--month", "2026-09")
    assert result.returncode == 1
    assert "no_overlapping_exports" in result.stderr and "manual-rerun" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()[-1]) > 0
    with Warehouse(out).connect():  # any writer finishes or discards what a run left behind
        pass
    assert state(out) == expected


def test_failed_rollback_does_not_hide_the_cause(tmp_path):
    """A full disk makes DuckDB abort the transaction itself; the error the user sees is the cause."""
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    with pytest.raises(OSError, match="No space left on device"):
        with transaction(con):
            con.execute("CREATE TABLE t (a INT)")
            con.execute("ROLLBACK")  # what DuckDB does on its own after a fatal write error
            raise OSError(28, "No space left on device")


def test_killed_runs_leave_the_month_before_or_after_never_a_mix(published, tmp_path):
    """SIGKILL at seeded random moments of a September re-run, several times: after each kill the
    published output (once the next writer has opened the warehouse) equals the state before or
    the state after; a re-run then always reaches the state after."""
    paths, exports, before, _removed = published
    reference = tmp_path / "reference"
    shutil.copytree(before, reference)
    started = time.monotonic()
    args = ["run", "--exports", str(exports), "--inventory", str(paths.inventory), "--month", "2026-09"]
    result = _cli(*args, "--out", str(reference))
    assert result.returncode == 0, result.stderr
    duration = time.monotonic() - started
    state_before, state_after = state(before), state(reference)
    assert state_before != state_after
    rng = random.Random(11)
    seen = {"before": 0, "after": 0}
    for attempt in range(4):
        out = tmp_path / f"killed-{attempt}"
        shutil.copytree(before, out)
        process = subprocess.Popen([*CLI, *args, "--out", str(out)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        # Late moments are where the publication happens: weigh them more.
        time.sleep(duration * (0.35 + 0.65 * rng.random() ** 0.5))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with Warehouse(out).connect():  # the next writer completes or discards the interrupted month
            pass
        now = state(out)
        assert now in (state_before, state_after), f"kill {attempt}: a mix of before and after"
        seen["before" if now == state_before else "after"] += 1
        result = _cli(*args, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert state(out) == state_after
    print(f"kills ended in: {seen}")
    assert sum(seen.values()) == 4
