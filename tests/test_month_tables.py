"""Per-month storage of the line items (dagster_project/month_tables.py): a month is published by
renaming its staged table, and `cost_line_items` stays one table to every reader."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dagster_project import month_tables
from dagster_project.catalog import table
from dagster_project.warehouse import STAGING, Warehouse, catalog, mark_staged, transaction

SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def _stage(con, month: date, costs: list[str]) -> None:
    """Stage hand-written line items of `month` (one per cost), as the load does."""
    with transaction(con):
        staged = month_tables.begin_staging(con, "cost_line_items", month)
        for row, cost in enumerate(costs, start=1):
            con.execute(
                f"INSERT INTO {staged} (billing_month, charge_period_start, billed_cost, effective_cost, "  # noqa: S608
                "billing_currency, tags, source_schema, source_file, source_row, repairs) "
                "VALUES ($m, $m, $c, $c, 'EUR', '{}', 'hand', 'hand.csv', $r, '')",
                {"m": month, "c": Decimal(cost), "r": row})
        mark_staged(con, month, "cost_line_items")


def _months(con) -> dict[date, tuple[int, Decimal]]:
    """The public months (catalog-qualified: a writer's build view shadows the bare name)."""
    return {m: (n, total) for m, n, total in con.execute(
        f"SELECT billing_month, count(*), sum(effective_cost) FROM {catalog(con)}.main.cost_line_items "  # noqa: S608
        "GROUP BY ALL").fetchall()}


def _month_tables(con) -> list[str]:
    """The physical tables of cost_line_items' months (other per-month tables have their own)."""
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = $s AND starts_with(table_name, $t) ORDER BY ALL",
        {"s": month_tables.SCHEMA, "t": "cost_line_items__"}).fetchall()]


def test_publishing_a_month_replaces_that_month_alone(tmp_path):
    warehouse = Warehouse(tmp_path)
    with warehouse.connect() as con:
        _stage(con, SEPTEMBER, ["1.10", "2.20"])
        warehouse.publish(con, SEPTEMBER)
        _stage(con, OCTOBER, ["3.30"])
        warehouse.publish(con, OCTOBER)
        _stage(con, SEPTEMBER, ["9.99"])
        # Until published, readers of the public name see the old September; the build view the new one.
        assert _months(con)[SEPTEMBER] == (2, Decimal("3.30"))
        assert con.execute("SELECT sum(effective_cost) FROM cost_line_items WHERE billing_month = $m",
                           {"m": SEPTEMBER}).fetchall() == [(Decimal("9.99"),)]
        publication = warehouse.publish(con, SEPTEMBER)
        assert publication.tables["cost_line_items"] == 1
        assert _months(con) == {SEPTEMBER: (1, Decimal("9.99")), OCTOBER: (1, Decimal("3.30"))}
        assert _month_tables(con) == ["cost_line_items__2026_09", "cost_line_items__2026_10",
                                      "cost_line_items__template"]
        assert con.execute(f"SELECT count(*) FROM {catalog(con)}.{STAGING}.cost_line_items").fetchall() == [(0,)]  # noqa: S608
    parquet = tmp_path / "parquet" / "cost_line_items" / "billing_month=2026-09-01" / "data.parquet"
    assert duckdb.execute("SELECT sum(effective_cost) FROM read_parquet(?)", [str(parquet)]).fetchall() == [
        (Decimal("9.99"),)]


def test_a_failed_publication_leaves_the_published_month_as_it_was(tmp_path, monkeypatch):
    warehouse = Warehouse(tmp_path)
    with warehouse.connect() as con:
        _stage(con, OCTOBER, ["5.00"])
        warehouse.publish(con, OCTOBER)
        _stage(con, OCTOBER, ["7.00", "8.00"])

        def no_disk(*_args, **_kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(Warehouse, "_write_parquet", no_disk)  # fails after the rename, before COMMIT
        with pytest.raises(OSError, match="disk full"):
            warehouse.publish(con, OCTOBER)
        assert _months(con) == {OCTOBER: (1, Decimal("5.00"))}
        # The staged build is still there: publishing again once the disk has room publishes it.
        monkeypatch.undo()
        warehouse.publish(con, OCTOBER)
        assert _months(con) == {OCTOBER: (2, Decimal("15.00"))}


def test_clearing_a_month_drops_its_staged_build_only(tmp_path):
    warehouse = Warehouse(tmp_path)
    with warehouse.connect() as con:
        _stage(con, OCTOBER, ["5.00"])
        warehouse.publish(con, OCTOBER)
        _stage(con, OCTOBER, ["6.00"])
        warehouse.clear_month(con, OCTOBER)
        assert "cost_line_items__staged_2026_10" not in _month_tables(con)
        assert con.execute("SELECT sum(effective_cost) FROM cost_line_items").fetchall() == [(Decimal("5.00"),)]


def test_the_line_items_answer_from_any_directory_and_after_the_folder_moves(tmp_path):
    first = tmp_path / "first"
    warehouse = Warehouse(first)
    with warehouse.connect() as con:
        _stage(con, NOVEMBER, ["1.25", "2.50"])
        warehouse.publish(con, NOVEMBER)
    moved = tmp_path / "elsewhere" / "out"
    moved.parent.mkdir()
    shutil.move(first, moved)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    query = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
             "print(con.execute('SELECT count(*), sum(effective_cost) FROM cost_line_items').fetchall())")
    result = subprocess.run([sys.executable, "-c", query, str(moved / "finops.duckdb")], cwd=elsewhere,
                            capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[(2, Decimal('3.7500000000'))]"


def test_a_file_written_before_per_month_storage_is_migrated_row_for_row(tmp_path):
    """An output folder of an earlier version holds `cost_line_items` as one plain table (and a
    staged month in `staging.cost_line_items`): a writer moves them into month tables, once."""
    ddl = table("cost_line_items").create_sql()
    with duckdb.connect(str(tmp_path / "finops.duckdb")) as con:
        con.execute("CREATE SCHEMA staging")
        for schema in ("main", "staging"):
            con.execute(f"USE {schema}")
            con.execute(ddl)
        con.execute("USE main")
        rows = "($m, $m, $c, $c, 'USD', '{ }', 'old', 'old.csv', $r, '')"
        insert = ("INSERT INTO {table} (billing_month, charge_period_start, billed_cost, effective_cost, "  # noqa: S608
                  "billing_currency, tags, source_schema, source_file, source_row, repairs) VALUES " + rows)
        for month, cost, row in ((SEPTEMBER, "1.01", 1), (SEPTEMBER, "2.02", 2), (OCTOBER, "3.03", 1)):
            con.execute(insert.replace("{table}", "main.cost_line_items"), {"m": month, "c": Decimal(cost), "r": row})
        con.execute(insert.replace("{table}", "staging.cost_line_items"), {"m": NOVEMBER, "c": Decimal("4.04"), "r": 1})
        before = sorted(con.execute("SELECT * FROM main.cost_line_items").fetchall())
    with Warehouse(tmp_path).connect() as con:
        assert sorted(con.execute(f"SELECT * FROM {catalog(con)}.main.cost_line_items").fetchall()) == before  # noqa: S608
        assert con.execute(f"SELECT billing_month, effective_cost FROM {catalog(con)}.staging.cost_line_items").fetchall() == [  # noqa: S608
            (NOVEMBER, Decimal("4.0400000000"))]
        assert _month_tables(con) == ["cost_line_items__2026_09", "cost_line_items__2026_10",
                                      "cost_line_items__staged_2026_11", "cost_line_items__template"]
    with Warehouse(tmp_path).connect(read_only=True) as con:
        assert sorted(con.execute("SELECT * FROM main.cost_line_items").fetchall()) == before


def test_only_catalogued_per_month_tables_get_names():
    with pytest.raises(ValueError, match="not a per-month table"):
        month_tables.staged_name("cost_allocation", OCTOBER)
    assert month_tables.published_name("cost_line_items", OCTOBER) == "cost_line_items__2026_10"
    assert Path(month_tables.__file__).name == "month_tables.py"
