"""A DuckDB file prepared by another version of aml-finops: refused, unchanged, with one line
naming the file and the table, when one of its tables is not this version's; prepared as usual
when its tables are. Cases: hand-written older files, and generated mutations (hypothesis: 25
examples drawn from every table and column of this version's layout)."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dagster_project.cli import main
from dagster_project.warehouse import Warehouse, WarehouseLayoutError, _ddl_version, _layout

OLDER = "an older version"


def _prepared_file(folder: Path) -> Path:
    with Warehouse(folder).connect():
        pass
    return folder / "finops.duckdb"


def _as_another_version(database: Path, *statements: str) -> None:
    """Change the file as another version would have left it, and stamp that version."""
    with duckdb.connect(str(database)) as con:
        for statement in statements:
            con.execute(statement)
        con.execute("UPDATE staging.ddl_version SET version = ?", [OLDER])


def _version(database: Path) -> str:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("SELECT version FROM staging.ddl_version").fetchall()[0][0]


def test_a_hand_written_older_file_is_refused_and_left_as_it_was(tmp_path):
    database = tmp_path / "finops.duckdb"
    with duckdb.connect(str(database)) as con:  # an early layout: line items a plain table of 4 columns
        con.execute("CREATE TABLE cost_line_items (billing_month DATE, billed_cost DECIMAL(38, 10), "
                    "effective_cost DECIMAL(38, 10), billing_currency VARCHAR)")
        con.execute("INSERT INTO cost_line_items VALUES (DATE '2026-08-01', 12.5, 12.5, 'USD')")

    with pytest.raises(WarehouseLayoutError) as refused, Warehouse(tmp_path).connect():
        pass

    message = str(refused.value)
    assert message.startswith(f"{database}: prepared by another version of aml-finops")
    assert "main.cost_line_items: lacks " in message and "\n" not in message
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() "
                           "ORDER BY 1").fetchall() == [("main",)]
        assert con.execute("SELECT * FROM cost_line_items").fetchall() == [
            (date(2026, 8, 1), Decimal("12.5"), Decimal("12.5"), "USD")]


def test_a_table_lacking_a_column_of_this_version_is_named_with_the_column(tmp_path):
    database = _prepared_file(tmp_path)
    _as_another_version(database, "ALTER TABLE main.cost_allocation DROP COLUMN allocation_method")

    with pytest.raises(WarehouseLayoutError, match=r"main\.cost_allocation: lacks allocation_method\)"), \
            Warehouse(tmp_path).connect():
        pass
    assert _version(database) == OLDER  # nothing was prepared


def test_an_older_file_with_this_versions_tables_is_prepared(tmp_path):
    database = _prepared_file(tmp_path)
    _as_another_version(database)  # e.g. only a view's text differed

    with Warehouse(tmp_path).connect():
        pass
    assert _version(database) == _ddl_version()


def test_the_cli_refuses_such_a_folder_before_any_run_with_one_line_and_exit_2(demo_two_months, tmp_path, capsys):
    out = tmp_path / "out"
    database = _prepared_file(out)
    _as_another_version(database, "ALTER TABLE staging.project_spend_monthly ADD COLUMN retired VARCHAR")

    code = main(["run", "--exports", str(demo_two_months.exports), "--inventory", str(demo_two_months.inventory),
                 "--out", str(out)])

    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines of the planning
    assert code == 2
    assert err.startswith(f"aml-finops run: error: {database}: prepared by another version of aml-finops")
    assert "staging.project_spend_monthly: has retired, no longer kept" in err
    assert not (out / "parquet").exists() and not (out / "reports").exists()


MUTATIONS = ("drop", "add", "retype")


@pytest.fixture(scope="module")
def prepared_template(tmp_path_factory) -> Path:
    return _prepared_file(tmp_path_factory.mktemp("layout"))


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_any_table_of_the_layout_is_refused_naming_that_table(prepared_template, tmp_path_factory, data):
    (schema, table), columns = data.draw(st.sampled_from(sorted(_layout().items())), label="table")
    column, kind = data.draw(st.sampled_from(columns), label="column")
    mutation = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    folder = tmp_path_factory.mktemp("mutated")
    shutil.copy(prepared_template, folder / "finops.duckdb")
    statement = {
        "drop": f'ALTER TABLE {schema}."{table}" DROP COLUMN "{column}"',
        "add": f'ALTER TABLE {schema}."{table}" ADD COLUMN "{column}_from_another_version" BIGINT',
        "retype": f'ALTER TABLE {schema}."{table}" ALTER COLUMN "{column}" TYPE '
                  + ("BIGINT" if kind == "VARCHAR" else "VARCHAR"),
    }[mutation]
    try:
        _as_another_version(folder / "finops.duckdb", statement)
    except duckdb.Error:  # a column DuckDB cannot drop or retype (a table's only one, a key)
        assume(False)

    with pytest.raises(WarehouseLayoutError, match=rf"\({schema}\.{table}: "), Warehouse(folder).connect():
        pass
