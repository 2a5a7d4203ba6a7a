"""Believable savings: in the cost's own currency, never above the resource's cost, without what
keeps billing after a stop, freed reserved hours instead of cash; and one owner per resource."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from dagster_project.attribution.resolve import InventoryIndex, Resolver
from dagster_project.config import parse_config
from dagster_project.findings.rules import FindingInputs, evaluate_findings
from dagster_project.findings.savings import savings_per_currency
from dagster_project.inventory.tables import TABLE_SCHEMAS

SUB = "00000000-0000-0000-0000-0000000000dd"
US = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/mlw-us"
EU = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/mlw-eu"
NOW = datetime(2026, 11, 1, 6, tzinfo=UTC)
MONTH = date(2026, 10, 1)
USAGE = {"workspace_id": pl.String, "aml_kind": pl.String, "aml_name": pl.String, "billing_currency": pl.String,
         "effective_cost": pl.Decimal(38, 10), "usage_hours": pl.Decimal(38, 10), "running_cost": pl.Decimal(38, 10),
         "committed_cost": pl.Decimal(38, 10), "committed_hours": pl.Decimal(38, 10)}


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    return pl.DataFrame([{n: r.get(n) for n in schema.names()} for r in rows], schema=schema, orient="row")


def _instance(ws, name, tags=None, created_by="eve@contoso.com", assigned="oid-eve", creator_id="oid-eve",
              idle=None, running_days=10):
    cid = f"{ws}/computes/{name}"
    return {"compute_id": cid, "compute_id_original": cid, "workspace_id": ws, "compute_name": name,
            "compute_type": "ComputeInstance", "vm_size": "Standard_DS3_v2", "state": "Running",
            "last_operation_name": "Start", "last_operation_time": NOW - timedelta(days=running_days),
            "idle_shutdown": idle, "stop_schedule_enabled": False, "tags": json.dumps(tags or {}),
            "created_by": created_by, "assigned_user_object_id": assigned, "created_by_object_id": creator_id,
            "captured_at": NOW}


def _usage(ws, name, currency, cost, hours, running=None, committed_cost="0", committed_hours="0"):
    return {"workspace_id": ws, "aml_kind": "compute", "aml_name": name, "billing_currency": currency,
            "effective_cost": Decimal(cost), "usage_hours": Decimal(hours),
            "running_cost": Decimal(running if running is not None else cost),
            "committed_cost": Decimal(committed_cost), "committed_hours": Decimal(committed_hours)}


def _findings(computes, usage, allocation=None, currency="USD", ws_tags=None) -> pl.DataFrame:
    workspaces = _frame("inventory_workspaces", [
        {"workspace_id": w, "workspace_id_original": w, "subscription_id": SUB, "resource_group": "rg",
         "workspace_name": w.rsplit("/", 1)[-1], "tags": json.dumps(ws_tags or {"project": "p"}),
         "captured_at": NOW} for w in (US, EU)])
    computes = _frame("inventory_computes", computes)
    empty = {t: _frame(t, []) for t in ("inventory_endpoints", "inventory_deployments", "inventory_jobs",
                                        "inventory_asset_versions")}
    config = parse_config({})
    index = InventoryIndex.build(workspaces, computes, empty["inventory_endpoints"], empty["inventory_deployments"])
    allocation = allocation if allocation is not None else pl.DataFrame(schema={
        "project": pl.String, "billing_currency": pl.String, "resource_id": pl.String, "aml_kind": pl.String,
        "aml_name": pl.String, "workspace_id": pl.String, "owner": pl.String, "effective_cost": pl.Decimal(38, 10)})
    inputs = FindingInputs(MONTH, NOW, currency, workspaces, computes, empty["inventory_asset_versions"],
                           empty["inventory_endpoints"], empty["inventory_deployments"], empty["inventory_jobs"],
                           pl.DataFrame(usage, schema=USAGE, orient="row"), allocation)
    return evaluate_findings(config, Resolver(config, index), inputs)


def _by(frame: pl.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["rule_id"], r["resource_name"]): r for r in frame.iter_rows(named=True)}


def test_a_findings_savings_are_in_the_currency_of_its_cost():
    """The month's main currency is USD; the EU workspace bills EUR: its findings keep savings."""
    found = _by(_findings([_instance(US, "ci-us"), _instance(EU, "ci-eu")],
                          [_usage(US, "ci-us", "USD", "900", "720"), _usage(EU, "ci-eu", "EUR", "360", "720")]))
    us, eu = found[("ci_left_running", "ci-us")], found[("ci_left_running", "ci-eu")]
    assert (us["currency"], us["savings"]) == ("USD", Decimal("900.00"))
    assert (eu["currency"], eu["savings"]) == ("EUR", Decimal("360.00"))
    assert json.loads(eu["evidence"])["currency"] == "EUR"
    frame = pl.DataFrame([us, eu])
    assert savings_per_currency(frame) == {"EUR": Decimal("360.00"), "USD": Decimal("900.00")}


def test_a_stop_saves_neither_the_disk_nor_the_load_balancer_and_never_more_than_the_cost():
    found = _by(_findings(
        [_instance(US, "ci-disk"), _instance(US, "ci-credit")],
        [_usage(US, "ci-disk", "USD", "100", "720", running="70"),
         # A credit brought its month below its running cost: savings stop at the cost.
         _usage(US, "ci-credit", "USD", "40", "720", running="70")]))
    disk = found[("ci_left_running", "ci-disk")]
    facts = json.loads(disk["evidence"])
    assert disk["savings"] == Decimal("70.00") and Decimal(facts["cost_after_stop"]) == 30
    assert "disk, load balancer, public IP" in facts["savings_basis"]
    assert found[("ci_left_running", "ci-credit")]["savings"] == Decimal("40.00")
    idle = found[("ci_no_idle_shutdown", "ci-disk")]
    work = Decimal(50) * 31 / 7
    assert idle["savings"] == ((Decimal(720) - work) * Decimal(70) / 720).quantize(Decimal("0.01"))


def test_commitment_covered_hours_are_freed_not_cash():
    found = _by(_findings(
        [_instance(US, "ci-covered"), _instance(US, "ci-half")],
        [_usage(US, "ci-covered", "USD", "500", "720", committed_cost="500", committed_hours="720"),
         # 360 h covered, 360 h on demand at 1.00: a stop saves the on-demand half in cash.
         _usage(US, "ci-half", "USD", "660", "720", committed_cost="300", committed_hours="360")]))
    covered = found[("ci_left_running", "ci-covered")]
    facts = json.loads(covered["evidence"])
    assert covered["savings"] == 0 and covered["severity"] == "low"
    assert facts["freed_commitment_hours"] == "720.00" and "0 in cash" in facts["savings_basis"]
    assert found[("ci_no_idle_shutdown", "ci-covered")]["savings"] == 0
    half = found[("ci_left_running", "ci-half")]
    assert half["savings"] == Decimal("360.00")
    assert json.loads(half["evidence"])["freed_commitment_hours"] == "360.00"
    # Above the work schedule (221.43 h) only on-demand hours go first: 498.57 h, of which 360
    # on demand are cash, the rest freed.
    idle = json.loads(found[("ci_no_idle_shutdown", "ci-half")]["evidence"])
    assert found[("ci_no_idle_shutdown", "ci-half")]["savings"] == Decimal("360.00")
    assert Decimal(idle["freed_commitment_hours"]) == (Decimal(720) - Decimal(50) * 31 / 7 - 360).quantize(
        Decimal("0.01"))


@pytest.mark.parametrize("instance,owner", [
    (_instance(US, "ci", tags={"owner": "tagged@contoso.com"}), "tagged@contoso.com"),
    (_instance(US, "ci"), "eve@contoso.com"),  # assigned to its creator: the creator's name
    (_instance(US, "ci", assigned="oid-frank"), "oid-frank"),  # assigned to someone else: that user
    (_instance(US, "ci", assigned=None), "eve@contoso.com"),  # nobody assigned: its creator
])
def test_one_owner_per_resource_on_every_finding_including_untagged_spend(instance, owner):
    allocation = pl.DataFrame([{
        "project": "(unallocated)", "billing_currency": "USD", "resource_id": US, "aml_kind": "compute",
        "aml_name": "ci", "workspace_id": US, "owner": None, "effective_cost": Decimal("50")}])
    found = _findings([instance], [_usage(US, "ci", "USD", "50", "720")], allocation, ws_tags={})
    assert {r["rule_id"] for r in found.iter_rows(named=True)} == {"ci_left_running", "ci_no_idle_shutdown",
                                                                  "untagged_spend"}
    assert set(found["owner"]) == {owner}


def _hand_findings() -> pl.DataFrame:
    """Hand-written findings: ci-a flagged by two rules (900 and 300), ci-b once (50), a suppressed
    one (never counted), an EUR one, and a finding of another month."""
    from dagster_project.findings.model import FINDINGS_SCHEMA

    def row(rule, resource, savings, currency="USD", status="open", month=MONTH, project="p1"):
        return {**{k: None for k in FINDINGS_SCHEMA}, "billing_month": month, "finding_id": f"{rule}|{resource}",
                "rule_id": rule, "resource_id": resource, "savings": Decimal(savings), "currency": currency,
                "status": status, "project": project, "owner": "alice"}

    rows = [row("ci_left_running", "ci-a", "900"), row("ci_no_idle_shutdown", "ci-a", "300"),
            row("ci_left_running", "ci-b", "50", project="p2"), row("cluster_unused", "k-c", "400", status="suppressed"),
            row("ci_left_running", "ci-e", "70", currency="EUR"),
            row("ci_left_running", "ci-z", "999", month=date(2026, 9, 1))]
    return pl.DataFrame(rows, schema=FINDINGS_SCHEMA, orient="row")


def test_each_resource_counts_once_at_its_largest_savings_in_every_reader():
    """One rule, one home (sql/findings/counted_findings.sql): the asset's metadata, the CLI summary,
    the finance pack's three views and the engineer pack all state the same totals."""
    import duckdb

    from dagster_project.findings.savings import (
        counted_savings_per_currency,
        install_counted_findings,
    )
    from dagster_project.sql import load_sql, sql_parameters

    frame = _hand_findings()
    this_month = frame.filter(pl.col("billing_month") == MONTH)
    want = {"EUR": Decimal("70"), "USD": Decimal("950")}
    assert savings_per_currency(this_month) == want
    con = duckdb.connect()
    con.register("findings", frame)
    install_counted_findings(con)
    params = {"billing_month": MONTH}

    def view(name):
        statement = load_sql(f"reports/{name}")
        return con.sql(statement, params=sql_parameters(statement, **params)).pl()

    summary = {r["billing_currency"]: r["savings"] for r in view("run_summary_findings").iter_rows(named=True)}
    finance = {r["billing_currency"]: r["savings"] for r in view("finance_findings_summary").iter_rows(named=True)}
    by_project = view("finance_findings_by_project")
    open_findings = view("finance_open_findings")
    engineer = view("engineer_findings")
    assert summary == finance == want
    assert {(r["project"], r["savings"]) for r in by_project.filter(pl.col("billing_currency") == "USD")
            .iter_rows(named=True)} == {("p1", Decimal("900")), ("p2", Decimal("50"))}
    assert open_findings.group_by("billing_currency").agg(pl.col("counted_savings").sum()).sort(
        "billing_currency")["counted_savings"].to_list() == [Decimal("70"), Decimal("950")]
    assert counted_savings_per_currency(engineer) == want
    assert engineer.height == 4  # the suppressed finding and the other month's are not open this month
