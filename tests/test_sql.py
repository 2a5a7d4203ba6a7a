"""House rules of the SQL in `sql/`, checked on the files themselves (docs/sql.md)."""

from __future__ import annotations

import re
from pathlib import Path

from dagster_project.attribution.methods import (
    COMMITMENT_PURCHASES,
    NO_COST_CENTER,
    NO_OWNER,
    UNALLOCATED,
    UNUSED_COMMITMENT,
    AllocationMethod,
)
from dagster_project.sql import sql_dir, sql_parameters

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"macros", "schema", "staging", "intermediate", "marts", "checks", "reports", "publication"}
FILES = sorted(sql_dir().rglob("*.sql"))


def _code(path: Path) -> str:
    """The statement without its comments."""
    return re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))


def test_every_file_sits_in_a_layer():
    assert FILES
    assert {p.parent.relative_to(sql_dir()).as_posix() for p in FILES} <= LAYERS


def test_one_statement_per_file():
    for path in FILES:
        assert not re.search(r";\s*\S", _code(path)), path


def test_one_name_for_the_month_parameter():
    for path in FILES:
        assert not re.search(r"\$(month|month_start|partition)\b", _code(path)), path


def test_no_allocation_method_or_explicit_name_is_typed_in_sql_or_the_resolver():
    """Methods and explicit names come from dagster_project/attribution/methods.py as parameters.
    (The finance pack's coverage label 'unallocated' is a label, not a method: it is not compared.)"""
    names = [f"'{name}'" for name in (UNALLOCATED, UNUSED_COMMITMENT, COMMITMENT_PURCHASES, NO_OWNER, NO_COST_CENTER)]
    compared = re.compile(r"allocation_method\s*(?:=|<>|!=|IN\s*\(|NOT IN\s*\()\s*'")
    for path in FILES:
        code = _code(path)
        assert not [name for name in names if name in code], path
        assert not compared.search(code), path
    resolver = (ROOT / "dagster_project" / "attribution" / "resolve.py").read_text(encoding="utf-8")
    assert not [m.value for m in AllocationMethod if f'"{m.value}"' in resolver or f"'{m.value}'" in resolver]


def test_no_cte_is_named_like_a_table_a_statement_creates():
    created = set()
    for path in FILES:
        created |= set(re.findall(r"CREATE (?:OR REPLACE )?(?:TEMP )?(?:TABLE|VIEW)(?: IF NOT EXISTS)? (\w+)", _code(path)))
    created |= {"cost_line_items", "cost_rejects", "cost_allocation", "findings", "project_spend_monthly"}
    for path in FILES:
        ctes = re.findall(r"(?:WITH|,)\s*(\w+) AS \(", _code(path))
        assert not set(ctes) & created, (path, set(ctes) & created)


def test_vocabulary_parameters_are_bound_only_where_used():
    statement = "SELECT * FROM t WHERE project = $unallocated AND billing_month = $billing_month"
    params = sql_parameters(statement, billing_month="2026-10-01")
    assert params == {"unallocated": UNALLOCATED, "billing_month": "2026-10-01"}
    assert sql_parameters("SELECT 1") == {}


def _catalog_connection():
    """Tables and views in every place a connection sees them: its schema, another schema, the
    temporary catalog (a temporary view over the name of a table too) and an attached database."""
    import duckdb

    con = duckdb.connect()
    for statement in ("CREATE TABLE t_main (a INT, b VARCHAR)", "CREATE VIEW v_main AS SELECT 1 AS c",
                      "CREATE SCHEMA other_schema", "CREATE TABLE other_schema.t_schema (d INT)",
                      "CREATE TEMP TABLE t_temp (f INT)", "CREATE TEMP VIEW v_temp AS SELECT 1 AS a",
                      "CREATE TEMP VIEW t_main AS SELECT 1 AS e",
                      "ATTACH ':memory:' AS other_db", "CREATE TABLE other_db.t_attached (g INT)"):
        con.execute(statement)
    return con


def test_relation_names_are_the_names_information_schema_lists():
    """`relation_names` reads duckdb_tables()/duckdb_views() instead of the slower
    information_schema view: the same names, tables and views, every schema, temporary ones and
    other attached databases included; no internal view."""
    from dagster_project.sql import relation_exists, relation_names

    con = _catalog_connection()
    listed = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert relation_names(con) == listed == {"t_main", "v_main", "t_schema", "t_temp", "v_temp", "t_attached"}
    assert relation_exists(con, "v_temp") and not relation_exists(con, "duckdb_tables")
    con.execute("DROP VIEW v_temp")
    assert not relation_exists(con, "v_temp")


def test_relations_read_once_answer_what_information_schema_does():
    """`relations` (one catalog read for the packs): the names `relation_names` lists, and per
    name the columns `information_schema.columns` gives in the current schema, temporary views
    over a table of the same name included (their columns join the table's, as there)."""
    from dagster_project.sql import relation_names, relations

    con = _catalog_connection()
    read = relations(con)
    assert read.names == relation_names(con)
    for name in read.names | {"missing"}:
        listed = {row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $t AND table_schema = current_schema()",
            {"t": name}).fetchall()}
        assert read.columns_of(name) == listed, name
    assert read.columns_of("t_main") == {"a", "b", "e"} and read.columns_of("t_schema") == frozenset()
    assert read.columns_of("missing") == frozenset() and "missing" not in read.names
