"""Allocation in DuckDB on hand-built months: exact splits, credits, shared costs, currencies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from cost_support import EXTERNAL
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project import month_tables
from dagster_project.attribution.allocate import (
    inventory_index,
    reconciliation,
    stage_month_allocation,
    stage_month_project_spend,
)
from dagster_project.config import parse_config
from dagster_project.inventory.tables import TABLE_SCHEMAS
from dagster_project.warehouse import Warehouse, mark_staged, prepare

MONTH = date(2026, 10, 1)
SUB = "00000000-0000-0000-0000-0000000000aa"
WS = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.machinelearningservices/workspaces/mlw"
STORAGE = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.storage/storageaccounts/stml"
REGISTRY = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.containerregistry/registries/crml"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    return pl.DataFrame([{n: r.get(n) for n in schema.names()} for r in rows], schema=schema, orient="row")


def _compute(name, size, tags, ctype="AmlCompute"):
    cid = f"{WS}/computes/{name}"
    return {"compute_id": cid, "compute_id_original": cid, "workspace_id": WS, "compute_name": name,
            "compute_type": ctype, "vm_size": size, "tags": json.dumps(tags), "captured_at": NOW}


def _job(name, compute, start_day, hours):
    start = datetime(2026, 10, start_day, 8, tzinfo=UTC)
    return {"job_id": f"{WS}/jobs/{name}", "workspace_id": WS, "job_name": name, "compute_name": compute,
            "status": "Completed", "created_on": start, "start_time": start,
            "end_time": start.replace(hour=8 + hours), "captured_at": NOW}


def _line(resource_id, effective, tags=None, currency="USD", vm_size=None, billed=None, row=1, **extra):
    return {**{
        "billing_month": MONTH, "charge_period_start": datetime(2026, 10, 3), "charge_period_end": datetime(2026, 10, 4),
        "billed_cost": Decimal(billed if billed is not None else effective), "effective_cost": Decimal(effective),
        "list_cost": Decimal(effective), "billing_currency": currency, "charge_category": "Usage",
        "charge_class": None, "resource_id": resource_id.lower(), "resource_name": resource_id.rsplit("/", 1)[-1],
        "resource_type": None, "service_name": None, "sub_account_id": SUB, "resource_group": "rg-ml",
        "region": "eastus2", "meter_category": None, "charge_description": "Virtual Machines Dsv3 Series - D4s v3",
        "consumed_quantity": Decimal(1), "consumed_unit": "1 Hour", "tags": json.dumps(tags or {}),
        "additional_info": json.dumps({"ServiceType": vm_size} if vm_size else {}), "source_schema": "test",
        "source_file": "hand-built.csv", "source_row": row,
    }, **extra}


def allocate(tmp_path: Path, lines: list[dict], computes=(), jobs=(), ws_tags=None, config=None, workspaces=None,
             resource_groups=None, deployments=(), collect: dict | None = None):
    """Stage hand-built line items, allocate the month and publish it. `workspaces` replaces the
    one default workspace; `collect` receives the month's usage, capacity check and commitments."""
    warehouse = Warehouse(tmp_path / "out")
    config = config or parse_config({})
    with warehouse.connect() as con:
        prepare(con)
        frame = pl.DataFrame(lines)
        con.register("lines", frame)
        columns = [r[0] for r in con.execute("DESCRIBE cost_line_items").fetchall()]
        # Staged as ingestion stages a month: attribution reads the build view over it.
        staged = month_tables.begin_staging(con, "cost_line_items", MONTH)
        con.execute(f"INSERT INTO {staged} BY NAME SELECT {', '.join(c for c in columns if c in frame.columns)} "  # noqa: S608 (identifier from a fixed list)
                    "FROM lines")
        con.unregister("lines")
        mark_staged(con, MONTH, "cost_line_items")
        snapshot = {
            "inventory_workspaces": _frame("inventory_workspaces", workspaces or [{
                "workspace_id": WS, "workspace_id_original": WS, "subscription_id": SUB, "resource_group": "rg-ml",
                "workspace_name": "mlw", "storage_account_id": STORAGE, "container_registry_id": REGISTRY,
                "tags": json.dumps(ws_tags or {"project": "platform"}), "captured_at": NOW}]),
            "inventory_computes": _frame("inventory_computes", list(computes)),
            "inventory_endpoints": _frame("inventory_endpoints", [
                {"endpoint_id": d["endpoint_id"], "workspace_id": d["workspace_id"], "endpoint_name": d["endpoint_name"],
                 "tags": "{}", "captured_at": NOW} for d in deployments]),
            "inventory_deployments": _frame("inventory_deployments", list(deployments)),
            "inventory_jobs": _frame("inventory_jobs", list(jobs)),
            "inventory_asset_versions": _frame("inventory_asset_versions", []),
        }
        if resource_groups is not None:
            snapshot["inventory_resource_groups"] = _frame("inventory_resource_groups", resource_groups)
        warehouse.publish_snapshot_tables(con, snapshot)
        stage_month_allocation(con, MONTH, config, inventory_index(con, MONTH))
        warehouse.publish_month(con, MONTH, {"cost_allocation": "month_allocation", "aml_resource_usage": "month_usage"})
        stage_month_project_spend(con, MONTH)
        warehouse.publish_month(con, MONTH, {"project_spend_monthly": "month_project_spend"})
        allocation = con.sql("SELECT * FROM cost_allocation").pl()
        spend = con.sql("SELECT * FROM project_spend_monthly").pl()
        recon = reconciliation(con, MONTH)
        if collect is not None:
            from dagster_project.attribution.allocate import hours_over_capacity
            from dagster_project.attribution.commitments import finance_commitments

            collect["usage"] = con.sql("SELECT * FROM aml_resource_usage").pl()
            collect["daily"] = con.sql("SELECT * FROM month_daily_allocation").pl()
            collect["over_capacity"] = hours_over_capacity(con, MONTH)
            collect["commitments"] = finance_commitments(con, MONTH)
    return allocation, spend, recon


def _by_project(allocation: pl.DataFrame) -> dict[str, Decimal]:
    return {r["project"]: r["effective_cost"] for r in
            allocation.group_by("project").agg(pl.col("effective_cost").sum()).iter_rows(named=True)}


def test_split_by_running_hours_is_exact_to_the_last_digit(tmp_path):
    computes = [_compute(n, "Standard_D4s_v3", {"project": p}) for n, p in (("a", "p-a"), ("b", "p-b"), ("c", "p-c"))]
    jobs = [_job("j1", "a", 2, 1), _job("j2", "b", 3, 1), _job("j3", "c", 4, 1)]  # one hour each: a third each
    lines = [_line(WS, "100.0000000001", {"ComputeType": "AmlCompute"}, vm_size="Standard_D4s_v3", row=1),
             _line(WS, "0.0000000002", {"ComputeType": "AmlCompute"}, vm_size="Standard_D4s_v3", row=2)]
    allocation, _, recon = allocate(tmp_path, lines, computes, jobs)
    # The clusters' split parts then go to their jobs (job-level showback; their rules keep the
    # compute split's explanation).
    assert set(allocation["allocation_method"]) <= {"job_split", "cluster_idle"}
    assert sum(allocation["effective_cost"].to_list(), Decimal(0)) == Decimal("100.0000000003")
    shares = sorted(_by_project(allocation).values())
    assert shares[-1] - shares[0] <= Decimal("0.0000000003")
    assert recon["effective_difference"].to_list() == [Decimal(0)]
    assert "by running hours" in allocation["allocation_rule"][0]


def test_split_follows_running_hours_and_falls_back_to_even(tmp_path):
    computes = [_compute("a", "Standard_D4s_v3", {"project": "p-a"}), _compute("b", "Standard_D4s_v3", {"project": "p-b"})]
    lines = [_line(WS, "90", {"ComputeType": "AmlCompute"}, vm_size="Standard_D4s_v3")]
    weighted, _, _ = allocate(tmp_path / "w", lines, computes, [_job("j1", "a", 2, 2), _job("j2", "b", 3, 1)])
    assert _by_project(weighted) == {"p-a": Decimal("60"), "p-b": Decimal("30")}
    even, _, _ = allocate(tmp_path / "e", lines, computes, [])  # no job ran: zero weights → even
    assert _by_project(even) == {"p-a": Decimal("45"), "p-b": Decimal("45")}
    assert "evenly" in even["allocation_rule"][0]


def test_credits_flow_to_the_project_they_belong_to(tmp_path):
    lines = [_line(WS, "50", {"project": "fraud"}, row=1), _line(WS, "-12.5", {"project": "fraud"}, row=2),
             _line(WS, "-3", {}, row=3)]
    allocation, spend, recon = allocate(tmp_path, lines)
    assert _by_project(allocation) == {"fraud": Decimal("37.5"), "platform": Decimal("-3")}
    assert recon["effective_difference"].to_list() == [Decimal(0)]


def test_shared_costs_split_by_direct_spend_with_residue_on_the_largest(tmp_path):
    computes = [_compute("a", "Standard_D4s_v3", {"project": "churn"}), _compute("f", "Standard_F4s_v2", {"project": "fc"})]
    lines = [_line(WS, "200", {"ComputeType": "AmlCompute"}, vm_size="Standard_D4s_v3", row=1),
             _line(WS, "100", {"ComputeType": "AmlCompute"}, vm_size="Standard_F4s_v2", row=2),
             _line(STORAGE, "10", row=3), _line(REGISTRY, "0.0000000001", row=4),
             _line(STORAGE, "7", {"project": "tagged"}, row=5)]
    allocation, _, recon = allocate(tmp_path, lines, computes)
    shared = allocation.filter(pl.col("allocation_method") == "shared_split")
    by_project = {r["project"]: r["effective_cost"] for r in
                  shared.group_by("project").agg(pl.col("effective_cost").sum()).iter_rows(named=True)}
    assert by_project == {"churn": Decimal("6.6666666668"), "fc": Decimal("3.3333333333")}
    assert "split by direct spend: churn 66.67%, fc 33.33%" in shared["allocation_rule"][0]
    assert _by_project(allocation)["tagged"] == Decimal("7")  # a dependency's own tag wins
    assert recon["effective_difference"].to_list() == [Decimal(0)]


def test_shared_costs_even_and_fixed_policies(tmp_path):
    computes = [_compute("a", "Standard_D4s_v3", {"project": "churn"}), _compute("f", "Standard_F4s_v2", {"project": "fc"})]
    lines = [_line(WS, "200", {"ComputeType": "AmlCompute"}, vm_size="Standard_D4s_v3", row=1),
             _line(WS, "100", {"ComputeType": "AmlCompute"}, vm_size="Standard_F4s_v2", row=2),
             _line(STORAGE, "10", row=3)]
    even, _, _ = allocate(tmp_path / "even", lines, computes,
                          config=parse_config({"attribution": {"shared_costs": {"policy": "even"}}}))
    fixed, _, _ = allocate(tmp_path / "fixed", lines, computes, config=parse_config(
        {"attribution": {"shared_costs": {"policy": "fixed", "percentages": {"Churn": 70, "ops": 30}}}}))
    shared = lambda a: {r["project"]: r["effective_cost"] for r in a.filter(  # noqa: E731
        pl.col("allocation_method") == "shared_split").iter_rows(named=True)}
    assert shared(even) == {"churn": Decimal("5"), "fc": Decimal("5")}
    assert shared(fixed) == {"churn": Decimal("7"), "ops": Decimal("3")}


def test_two_currencies_stay_apart(tmp_path):
    lines = [_line(WS, "100", {"project": "a"}, currency="USD", row=1),
             _line(WS, "300", {"project": "b"}, currency="USD", row=2),
             _line(WS, "50", {"project": "a"}, currency="EUR", row=3)]
    _, spend, recon = allocate(tmp_path, lines)
    rows = {(r["billing_currency"], r["project"]): (r["effective_cost"], r["share_pct"]) for r in spend.iter_rows(named=True)}
    assert rows == {("USD", "a"): (Decimal("100"), Decimal("25.00")), ("USD", "b"): (Decimal("300"), Decimal("75.00")),
                    ("EUR", "a"): (Decimal("50"), Decimal("100.00"))}
    assert sorted(recon["billing_currency"].to_list()) == ["EUR", "USD"]




@pytest.mark.external
def test_real_azure_ml_rows_are_attributed_by_the_configured_tag(tmp_path):
    sample = EXTERNAL / "FOCUS-Sample-Data" / "FOCUS-1.0" / "focus_sample.csv"
    if not sample.is_file():
        pytest.skip(f"external samples not present: {sample}")
    from dagster_project.costs.load import load_month_from_root

    export = tmp_path / "exports" / "focus-sample" / "20240901-20240930"
    export.mkdir(parents=True)
    (export / "part_0_0001.csv").write_bytes(sample.read_bytes())
    warehouse = Warehouse(tmp_path / "out")
    config = parse_config({"tags": {"project": ["CostAllocationTest"]}})
    month = date(2024, 9, 1)
    with warehouse.connect() as con:
        load_month_from_root(con, tmp_path / "exports", month)
        warehouse.publish_snapshot_tables(con, {t: _frame(t, []) for t in (
            "inventory_workspaces", "inventory_computes", "inventory_endpoints", "inventory_deployments",
            "inventory_jobs")})
        stage_month_allocation(con, month, config, inventory_index(con, month))
        aml = con.sql("SELECT project, allocation_method, allocation_rule, count(*) AS n, sum(effective_cost) AS cost "
                      "FROM month_allocation WHERE resource_id LIKE '%/workspaces/zmltestplayground' GROUP BY ALL").pl()
        raw = con.sql("SELECT count(*) AS n, sum(effective_cost) AS cost FROM cost_line_items "
                      "WHERE resource_id LIKE '%/workspaces/zmltestplayground'").pl()
    assert raw["n"][0] == 9
    assert aml.height == 1
    row = aml.row(0, named=True)
    assert (row["project"], row["allocation_method"]) == ("sameer", "row_tag")
    assert row["allocation_rule"] == "row tag 'costallocationtest'"
    assert row["cost"] == raw["cost"][0]


# -- hubs and projects ---------------------------------------------------------------------------

HUB = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.machinelearningservices/workspaces/hub"
PROJ_A = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.machinelearningservices/workspaces/proj-a"
PROJ_B = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.machinelearningservices/workspaces/proj-b"
HUB_STORAGE = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.storage/storageaccounts/sthub"
HUB_VAULT = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.keyvault/vaults/kv-hub"


def _ws(wid, name, kind, tags, hub=None, storage=None, vault=None):
    return {"workspace_id": wid, "workspace_id_original": wid, "subscription_id": SUB, "resource_group": "rg-ml",
            "workspace_name": name, "storage_account_id": storage, "key_vault_id": vault, "tags": json.dumps(tags),
            "captured_at": NOW, "workspace_kind": kind, "hub_workspace_id": hub}


# The hub lists its storage and key vault; project A lists them too (as Foundry projects do),
# project B only names its hub.
FOUNDRY = [
    _ws(HUB, "hub", "Hub", {"owner": "platform@contoso.com"}, storage=HUB_STORAGE, vault=HUB_VAULT),
    _ws(PROJ_A, "proj-a", "Project", {"project": "alpha"}, hub=HUB, storage=HUB_STORAGE, vault=HUB_VAULT),
    _ws(PROJ_B, "proj-b", "Project", {"project": "beta"}, hub=HUB),
]


def test_a_hubs_dependencies_are_shared_by_the_projects_of_the_hub_and_its_projects(tmp_path):
    lines = [_line(PROJ_A, "300", row=1), _line(PROJ_B, "100", row=2),
             _line(HUB_STORAGE, "40", row=3), _line(HUB_VAULT, "0.0000000003", row=4)]
    allocation, _, recon = allocate(tmp_path, lines, workspaces=FOUNDRY)
    shared = allocation.filter(pl.col("allocation_method") == "shared_split")
    assert _by_project(shared.filter(pl.col("resource_id") == HUB_STORAGE)) == {"alpha": Decimal(30),
                                                                                "beta": Decimal(10)}
    # Booked on the hub, not on whichever workspace listed it last.
    assert set(shared["workspace_id"]) == {HUB}
    assert shared["allocation_rule"][0].startswith(
        "shared cost of hub hub and 2 workspaces using it (proj-a, proj-b) split by direct spend: alpha 75.00%, "
        "beta 25.00%")
    vault = shared.filter(pl.col("resource_id") == HUB_VAULT)
    assert sum(vault["effective_cost"].to_list(), Decimal(0)) == Decimal("0.0000000003")  # the residue, exact
    assert recon["effective_difference"].to_list() == [Decimal(0)]


@pytest.mark.parametrize("policy,want", [
    ({"policy": "even"}, {"alpha": Decimal(20), "beta": Decimal(20)}),
    ({"policy": "fixed", "percentages": {"alpha": 10, "gamma": 90}}, {"alpha": Decimal(4), "gamma": Decimal(36)}),
])
def test_a_hub_shares_by_the_configured_policy(tmp_path, policy, want):
    lines = [_line(PROJ_A, "300", row=1), _line(PROJ_B, "100", row=2), _line(HUB_STORAGE, "40", row=3)]
    allocation, _, _ = allocate(tmp_path, lines, workspaces=FOUNDRY,
                                config=parse_config({"attribution": {"shared_costs": policy}}))
    assert _by_project(allocation.filter(pl.col("resource_id") == HUB_STORAGE)) == want


def test_a_dependency_is_shared_in_its_own_currency_and_a_feature_store_is_a_workspace(tmp_path):
    workspaces = [*FOUNDRY, _ws(WS, "fs", "FeatureStore", {"project": "features"}, storage=STORAGE)]
    lines = [_line(PROJ_A, "300", row=1), _line(PROJ_B, "100", row=2),
             _line(PROJ_B, "1000", currency="EUR", row=3),  # EUR spend never weighs a USD dependency
             _line(HUB_STORAGE, "40", row=4), _line(STORAGE, "8", row=5)]
    allocation, _, recon = allocate(tmp_path, lines, workspaces=workspaces)
    assert _by_project(allocation.filter(pl.col("resource_id") == HUB_STORAGE)) == {"alpha": Decimal(30),
                                                                                "beta": Decimal(10)}
    [store] = allocation.filter(pl.col("resource_id") == STORAGE).iter_rows(named=True)
    assert (store["project"], store["allocation_method"], store["workspace_id"]) == ("features", "workspace_tag", WS)
    assert sorted(recon["billing_currency"]) == ["EUR", "USD"] and set(recon["effective_difference"]) == {0}


def test_a_hub_nobody_used_keeps_its_own_chain(tmp_path):
    allocation, _, _ = allocate(tmp_path, [_line(HUB_STORAGE, "40", row=1)], workspaces=FOUNDRY)
    [row] = allocation.iter_rows(named=True)
    assert (row["project"], row["allocation_method"], row["owner"]) == (
        "(unallocated)", "unallocated", "platform@contoso.com")


# -- tag values ---------------------------------------------------------------------------------

def test_tag_values_are_text_numbers_and_booleans_as_json_and_arrays_are_no_project(tmp_path):
    from dagster_project.attribution.resolve import normalize_tags_with_repairs

    tags, repairs = normalize_tags_with_repairs('{"project": 42, "owner": true, "cc": 1.50, "team": ["a", "b"], '
                                                '"meta": {"k": "v"}, "none": null}')
    assert tags == {"project": "42", "owner": "true", "cc": "1.50"}
    assert [key for key, _ in repairs] == ["team", "meta"]
    raw = ['{"project": ["a", "b"], "owner": true}', '{"project": true, "owner": "True"}', '{"project": 2026}']
    lines = [{**_line(WS, amount, row=i), "tags": tags} for i, (amount, tags) in enumerate(zip(("10", "5", "2"), raw, strict=True))]
    allocation, _, _ = allocate(tmp_path, lines)
    rows = {r["effective_cost"]: r for r in allocation.iter_rows(named=True)}
    array = rows[Decimal(10)]
    assert (array["project"], array["allocation_method"], array["owner"]) == ("platform", "workspace_tag", "true")
    assert "repair: row tag 'project' is a JSON array, not a value, ignored" in array["allocation_rule"]
    assert (rows[Decimal(5)]["project"], rows[Decimal(5)]["owner"]) == ("true", "True")
    assert rows[Decimal(2)]["project"] == "2026"


# -- believable hours ---------------------------------------------------------------------------

def test_more_billed_hours_than_nodes_times_hours_is_flagged(tmp_path):
    computes = [_compute("ci", "Standard_DS3_v2", {"owner": "ci@contoso.com"}, ctype="ComputeInstance"),
                _compute("pool", "Standard_D4s_v3", {})]
    computes[1]["max_nodes"] = 2
    lines = [_line(WS, "1", {"ComputeType": "Compute Instance"}, vm_size="Standard_DS3_v2", row=1,
                   consumed_quantity=Decimal("748.25")),  # 744 h in October, 25 h on one day
             _line(WS, "1", {"ComputeType": "AmlCompute"}, vm_size="Standard_D4s_v3", row=2,
                   consumed_quantity=Decimal("1488")),  # exactly 2 nodes × 744 h: fine
             # The instance's disk (its tags are on the row): billed by the hour, but no running hour.
             _line(WS, "3", {"ComputeType": "Compute Instance", "owner": "ci@contoso.com"}, row=3,
                   consumed_quantity=Decimal("800"), charge_description="Premium SSD Managed Disks - P10 LRS Disk")]
    collect: dict = {}
    allocate(tmp_path, lines, computes, collect=collect)
    flagged = collect["over_capacity"]
    assert flagged.select("aml_name", "nodes", "capacity_hours", "billed_hours").rows() == [
        ("ci", 1, Decimal("744.00"), Decimal("748.25"))]
    [usage] = collect["usage"].filter(pl.col("aml_name") == "ci").iter_rows(named=True)
    assert (usage["usage_hours"], usage["effective_cost"], usage["running_cost"]) == (
        Decimal("748.25"), Decimal(4), Decimal(1))


_tenth_nanos = st.integers(min_value=-5 * 10**11, max_value=5 * 10**12).map(lambda n: Decimal(n).scaleb(-10))


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["cluster", "storage", "tagged"]), st.integers(min_value=1, max_value=5),
                          _tenth_nanos), min_size=1, max_size=9))
def test_hypothesis_each_day_of_a_split_key_sums_to_its_line_items_and_its_days_to_the_month(tmp_path_factory, lines):
    # A workspace cluster line split evenly among three clusters (thirds: a residue every day), a
    # shared storage line split by direct spend, and a tagged line (one part), on random days.
    computes = [_compute(n, "Standard_D4s_v3", {"project": f"p-{n}"}) for n in ("a", "b", "c")]
    built = []
    for row, (kind, day, amount) in enumerate(lines, start=1):
        resource, tags = {"cluster": (WS, {"ComputeType": "AmlCompute"}), "storage": (STORAGE, {}),
                          "tagged": (STORAGE, {"project": "tagged"})}[kind]
        built.append(_line(resource, amount, tags, vm_size="Standard_D4s_v3" if kind == "cluster" else None, row=row,
                           charge_period_start=datetime(2026, 10, day), charge_period_end=datetime(2026, 10, day + 1)))
    collect: dict = {}
    allocation, _, recon = allocate(tmp_path_factory.mktemp("daily"), built, computes, collect=collect)
    daily = collect["daily"]
    assert recon["effective_difference"].to_list() == [Decimal(0)]
    line_days: dict = {}
    for line in built:
        key = (line["charge_period_start"].date(), line["resource_id"])
        line_days[key] = line_days.get(key, Decimal(0)) + line["effective_cost"]
    daily_days: dict = {}
    for r in daily.iter_rows(named=True):
        key = (r["charge_day"], r["resource_id"])
        daily_days[key] = daily_days.get(key, Decimal(0)) + r["effective_cost"]
    assert daily_days == {k: v for k, v in line_days.items() if k in daily_days}
    assert sum(daily["effective_cost"], Decimal(0)) == sum(line_days.values(), Decimal(0))
    # A part's days sum to its monthly allocation within 1e-10 per day.
    target = ["resource_id", "project", "aml_name"]
    monthly = {tuple(r[:3]): r[3] for r in allocation.group_by(target).agg(pl.col("effective_cost").sum()).rows()}
    for r in daily.group_by(target).agg(pl.col("effective_cost").sum(), pl.len()).rows():
        assert abs(r[3] - monthly[tuple(r[:3])]) <= Decimal("1e-10") * r[4]


def test_two_kinds_of_cost_row_with_one_hash_fail_the_month_instead_of_counting_twice(tmp_path, monkeypatch):
    # cost_row_kinds names the texts a row is keyed on by their 64-bit hash. A collision cannot
    # be found by chance, so every hash is made 0 here: two different rows must stop the month.
    from dagster_project.attribution import allocate as allocate_module
    from dagster_project.sql import load_sql

    def colliding(name: str) -> str:
        text = load_sql(name)
        return text.replace("hash(", "0 * hash(") if name == "intermediate/cost_row_kinds" else text

    monkeypatch.setattr(allocate_module, "load_sql", colliding)
    lines = [_line(STORAGE, "10", {"project": "a"}, row=1), _line(STORAGE, "20", {"project": "b"}, row=2)]
    with pytest.raises(duckdb.Error, match="two kinds of cost row share one hash"):
        allocate(tmp_path, lines)
    monkeypatch.setattr(allocate_module, "load_sql", load_sql)
    allocation, _, _ = allocate(tmp_path / "real", lines)  # the real hashes keep them apart
    assert _by_project(allocation) == {"a": Decimal("10"), "b": Decimal("20")}
