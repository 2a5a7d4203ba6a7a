"""One month, one transaction: a month's tables, inventory, Parquet and packs appear together or not
at all, whatever kills or fails the run (issue: exports as Azure really delivers them, item 6)."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from publication_support import OCTOBER, SEPTEMBER, month_totals, run_cli, state

from dagster_project.demo.generate import generate_demo
from dagster_project.warehouse import Warehouse, transaction


def test_rerunning_a_month_refreshes_the_next_months_previous_cost(published, tmp_path):
    paths, exports, before, removed = published
    out = tmp_path / "out"
    shutil.copytree(before, out)
    old_september = month_totals(out, SEPTEMBER)
    result = run_cli("run", "--exports", str(exports), "--inventory", str(paths.inventory), "--out", str(out),
                  "--month", "2026-09")
    assert result.returncode == 0, result.stderr
    assert month_totals(out, SEPTEMBER) == old_september - removed
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
    result = run_cli("run", "--exports", str(overlapping), "--inventory", str(other_inventory), "--out", str(out),
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


def test_build_views_made_once_per_connection_and_the_inventory_views_follow_what_is_staged(tmp_path):
    """refresh_views keeps the monthly and public build views of a connection (their text never
    changes), recreates one that is missing, and redoes the inventory views every time: a staged
    inventory table is read through its view, a discarded one no longer."""
    import polars as pl

    from dagster_project.sql import relation_exists
    from dagster_project.warehouse import refresh_views

    def temp_views(con):
        return {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}

    warehouse = Warehouse(tmp_path / "out")
    with warehouse.connect() as con:
        made = temp_views(con)
        assert {"cost_allocation", "cost_line_items", "realized_savings"} <= made
        con.execute("DROP VIEW temp.main.cost_allocation")
        refresh_views(con)
        assert temp_views(con) == made
        assert con.execute("SELECT count(*) FROM cost_allocation").fetchall() == [(0,)]
        warehouse.stage_inventory(con, {"inventory_workspaces": pl.DataFrame({"marker": ["staged"]})})
        refresh_views(con)
        assert con.execute("SELECT marker FROM inventory_workspaces").fetchall() == [("staged",)]
        warehouse.discard_staged_inventory(con)
        refresh_views(con)
        assert not relation_exists(con, "inventory_workspaces")
        assert temp_views(con) == made
