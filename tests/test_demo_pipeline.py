"""The whole pipeline on the demo tenant, held to the generator's ground truth (expected.json)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dagster_project.demo.generate import generate_demo
from dagster_project.runner import run_pipeline

CENT = Decimal("0.01")

CONTRACT_COLUMNS = {
    "cost_line_items": [
        "billing_month", "charge_period_start", "charge_period_end", "billed_cost", "effective_cost", "list_cost",
        "billing_currency", "charge_category", "charge_class", "resource_id", "resource_name", "resource_type",
        "service_name", "sub_account_id", "resource_group", "region", "meter_category", "charge_description",
        "consumed_quantity", "consumed_unit", "tags", "additional_info", "source_schema", "source_file",
        "source_row", "repairs", "sku_meter", "commitment_discount_id", "commitment_discount_name",
        "commitment_discount_type", "commitment_discount_status", "cost_allocation_rule_name"],
    "cost_allocation": [
        "billing_month", "billing_currency", "resource_id", "workspace_id", "aml_kind", "aml_name", "project",
        "owner", "cost_center", "allocation_method", "allocation_rule", "effective_cost", "billed_cost"],
    "project_spend_monthly": [
        "billing_month", "billing_currency", "project", "effective_cost", "billed_cost", "previous_effective_cost",
        "change_pct", "share_pct"],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    paths = generate_demo(root / "demo-tenant", seed=42, months=3)
    out = root / "out"
    summary = run_pipeline(paths.exports, paths.inventory, out)
    expected = json.loads(paths.expected.read_text())
    con = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    yield {"paths": paths, "out": out, "summary": summary, "expected": expected, "con": con}
    con.close()


def _rows(con, sql, params=None):
    return con.execute(sql, params or {}).fetchall()


def test_published_tables_have_the_contract_columns(demo):
    con = demo["con"]
    for table, columns in CONTRACT_COLUMNS.items():
        assert [r[0] for r in _rows(con, f"DESCRIBE {table}")] == columns, table
    for table in ("cost_rejects", "inventory_workspaces", "inventory_computes", "inventory_asset_versions",
                  "inventory_endpoints", "inventory_deployments", "inventory_jobs", "findings"):
        assert _rows(con, f"SELECT count(*) FROM {table}")[0][0] >= 0  # noqa: S608 (identifier from a fixed list)
    for column in ("source_file", "source_row", "reason", "raw"):
        assert column in [r[0] for r in _rows(con, "DESCRIBE cost_rejects")]
    money_types = {r[0]: r[1] for r in _rows(con, "DESCRIBE cost_allocation")}
    assert money_types["effective_cost"].startswith("DECIMAL") and money_types["billed_cost"].startswith("DECIMAL")


def test_every_month_reconciles_to_the_ground_truth_to_the_cent(demo):
    con, expected = demo["con"], demo["expected"]
    assert sorted(expected["months"]) == ["2026-08-01", "2026-09-01", "2026-10-01"]
    for month, truth in expected["months"].items():
        params = {"m": date.fromisoformat(month)}
        [(line_total, line_count)] = _rows(
            con, "SELECT sum(effective_cost), count(*) FROM cost_line_items WHERE billing_month = $m", params)
        [(allocated,)] = _rows(con, "SELECT sum(effective_cost) FROM cost_allocation WHERE billing_month = $m", params)
        assert line_count == truth["line_items"], month
        assert line_total == Decimal(truth["effective_cost"]), month  # exact, not only to the cent
        assert allocated == line_total, month
        projects = dict(_rows(con, "SELECT project, sum(effective_cost) FROM cost_allocation "
                                   "WHERE billing_month = $m GROUP BY project", params))
        assert {p: v.quantize(CENT) for p, v in projects.items()} == {
            p: Decimal(v["effective_cost"]).quantize(CENT) for p, v in truth["projects"].items()}, month
        assert projects["(unallocated)"].quantize(CENT) == Decimal(truth["unallocated_effective_cost"]).quantize(CENT)
        billed = dict(_rows(con, "SELECT project, sum(billed_cost) FROM cost_allocation "
                                 "WHERE billing_month = $m GROUP BY project", params))
        assert {p: v.quantize(CENT) for p, v in billed.items()} == {
            p: Decimal(v["billed_cost"]).quantize(CENT) for p, v in truth["projects"].items()}, month


def test_workspace_charges_reach_the_compute_and_endpoint_that_ran(demo):
    con, expected = demo["con"], demo["expected"]
    for month, truth in expected["months"].items():
        got = defaultdict(Decimal)
        for kind, name, cost in _rows(con, "SELECT aml_kind, aml_name, sum(effective_cost) FROM cost_allocation "
                                           "WHERE billing_month = $m AND aml_kind IN ('compute', 'endpoint') "
                                           "GROUP BY ALL", {"m": date.fromisoformat(month)}):
            got[f"{kind}:{name}"] += cost
        want = {k: Decimal(v) for k, v in truth["aml_resources"].items() if k.split(":")[0] in ("compute", "endpoint")}
        assert {k: v.quantize(CENT) for k, v in got.items()} == {k: v.quantize(CENT) for k, v in want.items()}, month


def test_the_superseded_run_of_the_twice_delivered_month_does_not_count(demo):
    con = demo["con"]
    files = {r[0] for r in _rows(con, "SELECT DISTINCT source_file FROM cost_line_items")}
    exports = demo["paths"].exports
    manifests = sorted(exports.rglob("manifest.json"))
    runs_per_range = defaultdict(list)
    for manifest in manifests:
        runs_per_range[(manifest.parent.parent.parent.name, manifest.parent.parent.name)].append(manifest.parent)
    twice = [runs for runs in runs_per_range.values() if len(runs) == 2]
    assert twice, "the demo must deliver one month twice"
    for runs in twice:
        loaded = {run.name for run in runs if any(f"/{run.name}/" in f for f in files)}
        assert len(loaded) == 1


def test_findings_recall_and_precision_against_the_planted_cases(demo):
    con, expected = demo["con"], demo["expected"]
    month = date.fromisoformat(expected["findings_month"])
    found = {(rule, rid) for rule, rid in _rows(
        con, "SELECT rule_id, resource_id FROM findings WHERE billing_month = $m", {"m": month})}
    planted = {(f["rule"], f["resource_id"]) for f in expected["findings"]}
    assert planted - found == set(), "missed planted findings (recall)"
    assert found - planted == set(), "flagged something not planted (precision)"
    flagged_ids = {rid for _, rid in found}
    assert not flagged_ids & set(expected["clean_resources"])
    from dagster_project.findings.rules import RULES

    assert set(expected["rules_covered"]) == set(RULES), "the demo must plant a case of every rule"


def test_findings_carry_savings_evidence_and_owner(demo):
    con = demo["con"]
    rows = _rows(con, "SELECT rule_id, savings, evidence, owner, project, command FROM findings "
                      "WHERE rule_id = 'ci_left_running'")
    assert rows
    for _rule, savings, evidence, owner, project, command in rows:
        assert savings > 0
        assert "run rate" in json.loads(evidence)["savings_basis"]
        assert owner == "bob@contoso.com" and project == "recommendations"
        assert command.startswith("az ml compute stop --name ci-bob-gpu ")


def test_parquet_mirrors_every_month(demo):
    out: Path = demo["out"]
    for month in demo["expected"]["months"]:
        for table in ("cost_line_items", "cost_allocation", "project_spend_monthly", "findings"):
            part = out / "parquet" / table / f"billing_month={month}" / "data.parquet"
            assert part.is_file(), part
    con = duckdb.connect()
    [(n,)] = con.execute("SELECT count(*) FROM read_parquet(?)",
                         [str(out / "parquet" / "cost_line_items" / "*" / "*.parquet")]).fetchall()
    assert n == sum(m["line_items"] for m in demo["expected"]["months"].values())


def test_rerunning_a_month_replaces_it(demo, tmp_path):
    paths, out = demo["paths"], demo["out"]
    con = demo["con"]
    before = _rows(con, "SELECT count(*), sum(effective_cost) FROM cost_allocation WHERE billing_month = '2026-10-01'")
    con.close()
    try:
        run_pipeline(paths.exports, paths.inventory, out, months=[date(2026, 10, 1)])
    finally:
        demo["con"] = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    after = _rows(demo["con"], "SELECT count(*), sum(effective_cost) FROM cost_allocation "
                               "WHERE billing_month = '2026-10-01'")
    assert after == before
    [(n,)] = _rows(demo["con"], "SELECT count(*) FROM cost_line_items WHERE billing_month = '2026-10-01'")
    assert n == demo["expected"]["months"]["2026-10-01"]["line_items"]


def test_summary_reports_the_latest_month(demo):
    summary = demo["summary"]
    assert summary.latest_month == date(2026, 10, 1)
    assert summary.findings_open > 0 and summary.findings_savings > 0
    unallocated = Decimal(demo["expected"]["months"]["2026-10-01"]["unallocated_effective_cost"])
    total = Decimal(demo["expected"]["months"]["2026-10-01"]["effective_cost"])
    assert summary.unallocated_share_pct == (unallocated * 100 / total).quantize(CENT)


def test_owner_and_cost_center_views_add_up_to_the_allocation(demo):
    con = demo["con"]
    for view in ("owner_spend_monthly", "cost_center_spend_monthly"):
        rows = _rows(con, f"SELECT billing_month, sum(effective_cost) FROM {view} GROUP BY 1 ORDER BY 1")  # noqa: S608
        totals = _rows(con, "SELECT billing_month, sum(effective_cost) FROM cost_allocation GROUP BY 1 ORDER BY 1")
        assert rows == totals, view
    owners = dict(_rows(con, "SELECT owner, effective_cost FROM owner_spend_monthly WHERE billing_month = '2026-10-01'"))
    assert owners["bob@contoso.com"] > 0


def test_the_ea_amortized_demo_reconciles_to_its_ground_truth(tmp_path):
    paths = generate_demo(tmp_path / "tenant", months=1, schema="ea-amortized")
    run_pipeline(paths.exports, paths.inventory, tmp_path / "out")
    expected = json.loads(paths.expected.read_text())["months"]["2026-10-01"]
    con = duckdb.connect(str(tmp_path / "out" / "finops.duckdb"), read_only=True)
    try:
        projects = dict(_rows(con, "SELECT project, sum(effective_cost) FROM cost_allocation GROUP BY 1"))
        schemas = {r[0] for r in _rows(con, "SELECT DISTINCT source_schema FROM cost_line_items")}
    finally:
        con.close()
    assert len(schemas) == 1 and next(iter(schemas)).startswith("ea-")
    assert {p: v.quantize(CENT) for p, v in projects.items()} == {
        p: Decimal(v["effective_cost"]).quantize(CENT) for p, v in expected["projects"].items()}
