"""Schedules, the new-export sensor, blocking and warning checks, and serialized DuckDB writers."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance, build_schedule_context, build_sensor_context

from assets.orchestration import (
    inventory_daily_schedule,
    month_close_schedule,
    month_to_date_schedule,
    new_export_sensor,
)
from dagster_project.attribution.allocate import reconciliation
from dagster_project.catalog import table
from dagster_project.costs.discovery import runs_for_month
from dagster_project.demo.generate import generate_demo
from dagster_project.resources import CostExportsResource, InventoryResource
from dagster_project.runner import PipelineFailed, run_pipeline
from dagster_project.warehouse import Warehouse


@pytest.mark.parametrize(("when", "month"), [
    (datetime(2026, 11, 6, 6, tzinfo=UTC), "2026-10-01"),
    (datetime(2027, 1, 6, 6, tzinfo=UTC), "2026-12-01"),
])
def test_month_close_runs_the_previous_month(when, month):
    request = month_close_schedule(build_schedule_context(scheduled_execution_time=when))
    assert request.partition_key == month
    assert request.run_key == f"month-close-{month}"
    assert month_close_schedule.cron_schedule == "0 6 6 * *"  # after Azure's day 1-5 re-deliveries


def test_daily_refresh_runs_the_current_month_once_a_day():
    first = month_to_date_schedule(build_schedule_context(scheduled_execution_time=datetime(2026, 11, 26, 7, tzinfo=UTC)))
    second = month_to_date_schedule(build_schedule_context(scheduled_execution_time=datetime(2026, 11, 27, 7, tzinfo=UTC)))
    assert (first.partition_key, second.partition_key) == ("2026-11-01", "2026-11-01")
    assert first.run_key != second.run_key
    store = InventoryResource(store_path="snapshots", scopes=["/subscriptions/s"])
    inventory = inventory_daily_schedule(build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 26, 5, tzinfo=UTC), resources={"inventory": store}))
    assert (inventory.run_key, inventory.partition_key) == ("inventory-2026-11-26", "2026-11-26")
    # A fixed snapshot folder has nothing to capture: the schedule says so instead of replaying it daily.
    skipped = inventory_daily_schedule(build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 26, 5, tzinfo=UTC),
        resources={"inventory": InventoryResource(snapshot_dir="reports/demo-tenant/inventory")}))
    assert "no snapshot store" in skipped.skip_message


def test_sensor_starts_a_run_for_each_new_manifest_month(tmp_path):
    paths = generate_demo(tmp_path / "tenant", months=2)
    exports = paths.exports
    resource = CostExportsResource(root=str(exports))
    with DagsterInstance.ephemeral() as instance:
        first = new_export_sensor(build_sensor_context(instance=instance, resources={"cost_exports": resource}))
        assert sorted(r.partition_key for r in first.run_requests) == ["2026-09-01", "2026-10-01"]

        quiet = new_export_sensor(build_sensor_context(instance=instance, cursor=first.cursor,
                                                       resources={"cost_exports": resource}))
        assert not quiet.run_requests and "no new export manifest" in quiet.skip_reason.skip_message

        # Azure re-delivers October: a new run folder whose manifest arrives last.
        [october_run] = [p.parent for p in exports.rglob("manifest.json") if "20261001-20261031" in str(p)][:1]
        rerun = october_run.parent / "00000000-0000-0000-0000-00000000beef"
        shutil.copytree(october_run, rerun)
        third = new_export_sensor(build_sensor_context(instance=instance, cursor=quiet.cursor,
                                                       resources={"cost_exports": resource}))
        assert [r.partition_key for r in third.run_requests] == ["2026-10-01"]
        assert "00000000-0000-0000-0000-00000000beef" in third.run_requests[0].run_key


def test_a_manifest_row_count_mismatch_blocks_publishing(tmp_path):
    paths = generate_demo(tmp_path / "tenant", months=1)
    manifest = runs_for_month(paths.exports, date(2026, 10, 1))[0].manifest_path  # a run that counts
    body = json.loads(manifest.read_text())
    body["blobs"][0]["dataRowCount"] += 1
    manifest.write_text(json.dumps(body))
    out = tmp_path / "out"
    with pytest.raises(PipelineFailed) as excinfo:
        run_pipeline(paths.exports, paths.inventory, out)
    message = str(excinfo.value)
    assert "manifest_row_counts" in message and body["blobs"][0]["blobName"].rsplit("/", 1)[-1] in message
    con = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM cost_allocation").fetchall() == [(0,)]
    finally:
        con.close()


def test_low_tag_coverage_warns_without_stopping(tmp_path):
    paths = generate_demo(tmp_path / "tenant", months=1)
    config = tmp_path / "finops.yaml"
    config.write_text("checks:\n  tag_coverage_min_pct: 99.5\n")
    summary = run_pipeline(paths.exports, paths.inventory, tmp_path / "out", config=config)
    # Besides the warning for the deployment the demo scales up for two days (demo/events.py):
    coverage = [w for w in summary.warnings if "billed_hours_within_capacity" not in w]
    assert len(coverage) == 1
    # One warning naming each currency below the minimum (the demo bills in USD and EUR).
    assert "check tag_coverage: tag coverage below 99.5%: EUR" in coverage[0]
    assert "USD" in coverage[0]


def test_reconciliation_reports_money_lost_by_attribution(tmp_path):
    month = date(2026, 10, 1)
    with duckdb.connect() as con:
        con.execute("CREATE TABLE cost_line_items (billing_month DATE, billing_currency VARCHAR, "
                    "effective_cost DECIMAL(38,10), billed_cost DECIMAL(38,10))")
        con.execute(table("cost_allocation").create_sql())
        con.execute("INSERT INTO cost_line_items VALUES ($m, 'USD', 10.01, 10.01), ($m, 'USD', 5, 5)", {"m": month})
        con.execute("INSERT INTO cost_allocation (billing_month, billing_currency, aml_kind, project, "
                    "allocation_method, allocation_rule, effective_cost, billed_cost) "
                    "VALUES ($m, 'USD', 'other', 'a', 'row_tag', 'row tag', 15.00, 15.01)", {"m": month})
        recon = reconciliation(con, month)
    row = recon.row(0, named=True)
    assert (row["effective_difference"], row["billed_difference"]) == (Decimal("0.01"), Decimal("0"))


def _write_month(out: str, month: str, rows: int) -> None:
    warehouse = Warehouse(Path(out))
    with warehouse.connect() as con:
        frame = pl.DataFrame({"billing_month": [date.fromisoformat(month)] * rows,
                              "billing_currency": ["USD"] * rows, "project": [f"p{i}" for i in range(rows)]})
        con.register("frame", frame)
        con.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT billing_month, billing_currency, project, "
                    "CAST(1 AS DECIMAL(38,10)) AS effective_cost, CAST(1 AS DECIMAL(38,10)) AS billed_cost, "
                    "NULL AS previous_effective_cost, NULL AS change_pct, NULL AS share_pct FROM frame")
        warehouse.publish_month(con, date.fromisoformat(month), {"project_spend_monthly": "staged"})


def test_parallel_month_writers_are_serialized(tmp_path):
    """A backfill runs months in parallel processes; the lock file queues their DuckDB writes."""
    months = ["2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"]
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_month, args=(str(tmp_path), m, 500)) for m in months]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    con = duckdb.connect(str(tmp_path / "finops.duckdb"), read_only=True)
    try:
        counts = con.execute("SELECT billing_month, count(*) FROM project_spend_monthly GROUP BY 1 ORDER BY 1").fetchall()
    finally:
        con.close()
    assert [(m.isoformat(), n) for m, n in counts] == [(m, 500) for m in months]
