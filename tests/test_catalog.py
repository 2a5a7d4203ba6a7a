"""The table catalog is the one home of every table's columns: what runs and what is documented
agree with it. Inputs are the catalog, the SQL files, the docs and frames built here by hand."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from dagster_project import catalog, month_tables
from dagster_project.catalog import docs
from dagster_project.costs.load import EA_STUB_COLUMNS, FOCUS_STUB_COLUMNS
from dagster_project.sql import load_sql
from dagster_project.warehouse import STAGING, Warehouse, replace_table_from_frame
from dagster_project.warehouse import catalog as catalog_name


def _described(con, qualified: str) -> list[tuple[str, str, bool, str | None]]:
    schema, table = qualified.split(".")
    return [(r[0], r[1], r[2] == "NO" or r[2] is False, r[3]) for r in con.execute(
        "SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()]


def test_every_table_name_is_listed_once_and_partitioned_as_its_kind():
    names = [t.name for t in catalog.TABLES.values()]
    assert len(names) == len(set(names))
    for table in catalog.TABLES.values():
        assert len(table.column_names) == len(set(table.column_names)), table.name
        assert all(c.description for c in table.columns), table.name
        if table.kind == "monthly":
            assert "billing_month" in table.column_names, table.name
        else:
            assert table.key in table.column_names, table.name


def test_warehouse_creates_the_catalogued_monthly_tables_in_public_and_staging(tmp_path):
    with Warehouse(tmp_path).connect() as con:
        for name in catalog.MONTHLY_TABLES:
            expected = [(c.name, c.type.described, c.required, c.default) for c in catalog.table(name).columns]
            if name in month_tables.PER_MONTH_TABLES:
                # Stored a table per month (the template holds the DDL) behind views of the name.
                assert _described(con, f"{month_tables.SCHEMA}.{month_tables.template_name(name)}") == expected
                expected = [(c, t, False, None) for c, t, _, _ in expected]
            assert _described(con, f"main.{name}") == expected, name
            assert _described(con, f"{STAGING}.{name}") == expected, name


def test_inventory_frames_publish_with_the_catalogued_duckdb_types(tmp_path):
    """A Polars frame of each inventory schema lands in DuckDB with the type the catalog names."""
    with Warehouse(tmp_path).connect() as con:
        for name in catalog.INVENTORY_TABLES:
            frame = pl.DataFrame(schema=catalog.polars_schema(name))
            replace_table_from_frame(con, name, frame, schema=STAGING)
            described = [(c, t) for c, t, _, _ in _described(con, f"{STAGING}.{name}")]
            assert described == [(c.name, c.type.described) for c in catalog.table(name).columns], name


def test_a_findings_frame_round_trips_through_the_findings_table(tmp_path):
    """`evidence` is JSON in DuckDB and JSON text in Polars: a frame of the catalog's schema inserts
    and reads back with the same values."""
    row = {"billing_month": date(2026, 10, 1), "finding_id": "f1", "rule_id": "ci_left_running",
           "category": "idle_compute", "severity": "high", "workspace": "w", "resource_id": "/x",
           "resource_name": "ci", "project": "p", "owner": "o", "evidence": '{"a": "1"}',
           "savings": Decimal("12.3400000000"), "currency": "EUR", "action": "stop", "command": "az ml",
           "first_seen": datetime(2026, 10, 2, tzinfo=UTC), "last_seen": datetime(2026, 10, 2, tzinfo=UTC),
           "status": "open", "suppression_reason": None}
    frame = pl.DataFrame([row], schema=catalog.polars_schema("findings"))
    with Warehouse(tmp_path).connect() as con:
        con.register("f", frame)
        db = catalog_name(con)  # the temporary build view shadows the bare name
        con.execute(f"INSERT INTO {db}.main.findings SELECT * FROM f")  # noqa: S608
        back = con.execute(f"SELECT evidence::VARCHAR, savings FROM {db}.main.findings").fetchall()  # noqa: S608
    assert back == [('{"a": "1"}', Decimal("12.3400000000"))]


def test_the_findings_rules_build_frames_of_the_catalogued_schema():
    from dagster_project.findings.rules import FINDINGS_SCHEMA

    assert FINDINGS_SCHEMA == catalog.polars_schema("findings")


def test_the_inventory_normalizer_uses_the_catalogued_schemas():
    from dagster_project.inventory.tables import TABLE_SCHEMAS, build_inventory

    inventory = build_inventory([], datetime(2026, 10, 1, tzinfo=UTC))
    assert list(inventory.tables()) == list(catalog.INVENTORY_TABLES)
    for name, frame in inventory.tables().items():
        assert frame.schema == catalog.polars_schema(name) == TABLE_SCHEMAS[name], name


def test_the_line_item_insert_selects_the_catalogued_columns_in_order():
    sql = load_sql("staging/cost_line_items")
    select = sql[sql.index("\nSELECT\n"):sql.rindex("\nFROM typed")]
    aliases = re.findall(r"\bAS (\w+),?\n", select + "\n")
    assert aliases == list(catalog.table("cost_line_items").column_names)


@pytest.mark.parametrize(("family", "stub"), [("focus", FOCUS_STUB_COLUMNS), ("ea", EA_STUB_COLUMNS)])
def test_the_stub_columns_are_exactly_the_source_columns_the_fragment_reads(family, stub):
    """A file lacking a column the fragment names gets it from the stub; a stale stub entry is an error too."""
    text = re.sub(r"--[^\n]*", "", load_sql(f"staging/typed_cost_rows_{family}"))
    text = re.sub(r"'[^']*'", "''", text)
    names = set(re.findall(r"\b(x_[A-Za-z]+|[A-Z][a-z]+[A-Za-z]*|[a-z]+[A-Z][A-Za-z]*)\b", text))
    aliases = set(re.findall(r"\bAS\s+(\w+)", text))  # names the fragment defines (some repeat a source name)
    assert names - aliases <= set(stub), "a source column the fragment reads is missing from the stub"
    assert set(stub) <= names, "a stub column the fragment no longer reads"


def test_the_docs_show_the_catalog():
    documented = []
    for name in docs.DOCS:
        text = (docs.docs_dir() / name).read_text(encoding="utf-8")
        assert docs.render(text) == text, f"docs/{name} is stale: run python -m dagster_project.catalog.docs"
        documented += docs.sections(text)
    assert sorted(documented) == sorted(catalog.TABLES)


def test_the_docs_render_a_changed_column():
    """The generator is not a copy: a column added to the catalog appears in the rendered doc."""
    table = catalog.table("cost_rejects")
    extra = catalog.Column("new_column", table.columns[0].type, "a new meaning")
    changed = type(table)(**{**table.__dict__, "columns": (*table.columns, extra)})
    assert "| new_column | VARCHAR | a new meaning |" in docs.column_table(changed)


def test_duckdb_reads_the_generated_ddl_alone():
    con = duckdb.connect()
    for name in catalog.MONTHLY_TABLES:
        con.execute(catalog.table(name).create_sql())
    assert {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == set(catalog.MONTHLY_TABLES)
