"""Job-level showback on hand-built tenants (not the demo generator): the split of a compute
cluster's cost among its jobs by node-hours, its idle line, and the FOCUS 1.3 allocation.

Each case writes its own cost rows and inventory into an in-memory DuckDB and runs the real
staging (`stage_month_allocation`), so the SQL, the resolver and the split are all exercised.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.attribution.allocate import inventory_index, stage_month_allocation
from dagster_project.attribution.jobs import (
    CLUSTER_IDLE,
    JOB_SPLIT,
    cluster_shares,
    split_amount,
    split_clusters,
)
from dagster_project.attribution.resolve import InventoryIndex, Resolver
from dagster_project.catalog import table as catalog_table
from dagster_project.config import FinopsConfig, parse_config
from dagster_project.inventory.tables import TABLE_SCHEMAS

SUB = "00000000-0000-0000-0000-000000000016"
WS = f"/subscriptions/{SUB}/resourcegroups/rg-plat/providers/microsoft.machinelearningservices/workspaces/ws-plat"
OCT, SEP = date(2026, 10, 1), date(2026, 9, 1)
CAPTURED = datetime(2026, 11, 1, 6, tzinfo=UTC)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    return pl.DataFrame([{c: r.get(c) for c in schema.names()} for r in rows], schema=schema, orient="row")


def _cluster(name: str, tags: dict | None = None) -> dict:
    return {"compute_id": f"{WS}/computes/{name}", "compute_id_original": f"{WS}/computes/{name}", "workspace_id": WS,
            "compute_name": name, "compute_type": "AmlCompute", "vm_size": "Standard_NC6s_v3", "min_nodes": 0,
            "max_nodes": 8, "idle_seconds_before_scaledown": 120, "tags": json.dumps(tags or {}),
            "captured_at": CAPTURED}


def _job(name: str, compute: str, start: str, end: str | None, nodes: int | None = 1, tags: dict | None = None,
         submitter: str = "someone@contoso.com") -> dict:
    return {"job_id": f"{WS}/jobs/{name}", "job_id_original": f"{WS}/jobs/{name}", "workspace_id": WS,
            "job_name": name, "experiment_name": f"exp-{name}", "compute_name": compute,
            "status": "Completed" if end else "Running", "start_time": _utc(start),
            "end_time": _utc(end) if end else None, "captured_at": CAPTURED, "tags": json.dumps(tags or {}),
            "instance_count": nodes, "submitter": submitter}


def _cost(month: date, compute: str | None, cost: str, hours: str, row: int, size: str = "Standard_NC6s_v3") -> dict:
    tags = {"ComputeType": "AmlCompute", **({"computename": compute} if compute else {})}
    return {"billing_month": month, "charge_period_start": datetime(month.year, month.month, 5),
            "billed_cost": Decimal(cost), "effective_cost": Decimal(cost), "billing_currency": "USD",
            "charge_category": "Usage", "resource_id": WS, "resource_name": "ws-plat",
            "service_name": "Azure Machine Learning", "sub_account_id": SUB, "resource_group": "rg-plat",
            "meter_category": "Virtual Machines", "charge_description": "Virtual Machines NCSv3 Series - NC6s v3",
            "consumed_quantity": Decimal(hours), "consumed_unit": "1 Hour", "tags": json.dumps(tags),
            "additional_info": json.dumps({"ServiceType": size, "UsageType": "vm"}), "source_schema": "test",
            "source_file": "hand-built.csv", "source_row": row}


def _tenant(costs: list[dict], computes: list[dict], jobs: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(catalog_table("cost_line_items").create_sql())
    columns = [r[0] for r in con.execute("DESCRIBE cost_line_items").fetchall()]
    for c in costs:
        con.execute(f"INSERT INTO cost_line_items ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})",  # noqa: S608
                    list(c.values()))
    assert columns
    inventory = {
        "inventory_workspaces": [{"workspace_id": WS, "workspace_id_original": WS, "subscription_id": SUB,
                                  "resource_group": "rg-plat", "workspace_name": "ws-plat",
                                  "tags": json.dumps({"project": "ml-platform", "owner": "platform@contoso.com"}),
                                  "workspace_kind": "Default", "captured_at": CAPTURED}],
        "inventory_computes": computes, "inventory_endpoints": [], "inventory_deployments": [],
        "inventory_jobs": jobs,
    }
    for table, rows in inventory.items():
        frame = _frame(table, rows)
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")  # noqa: S608 (fixed names)
        con.unregister("frame")
    return con


def _stage(con, month: date, config: FinopsConfig | None = None):
    config = config or FinopsConfig()
    return stage_month_allocation(con, month, config, inventory_index(con, month))


def _total(con, sql: str, params=None) -> Decimal:
    return con.execute(sql, params or {}).fetchall()[0][0] or Decimal(0)


def _assert_reconciles(con, month: date) -> None:
    lines = _total(con, "SELECT sum(effective_cost) FROM cost_line_items WHERE billing_month = $m", {"m": month})
    allocated = _total(con, "SELECT sum(effective_cost) FROM month_allocation")
    assert allocated == lines  # to the last digit
    per_cluster = con.execute("""
        SELECT a.aml_name, a.total, j.total FROM
            (SELECT aml_name, sum(effective_cost) AS total FROM month_allocation
             WHERE allocation_method IN ('job_split', 'cluster_idle') GROUP BY 1) a
        FULL JOIN (SELECT compute_name, sum(effective_cost) AS total FROM month_job_costs GROUP BY 1) j
            ON a.aml_name = j.compute_name""").fetchall()
    for name, allocated_total, job_total in per_cluster:
        assert allocated_total == job_total, name
    focus = con.execute("""SELECT x_OriginChargeId, sum(EffectiveCost), any_value(x_OriginEffectiveCost),
        sum(CAST(json_extract_string(AllocatedMethodDetails, '$.Elements[0].AllocatedRatio') AS DECIMAL(38, 12)))
        FROM month_cost_allocation_focus GROUP BY 1""").fetchall()
    for origin, effective, origin_effective, ratios in focus:
        assert effective == origin_effective, origin
        assert ratios == 1, origin


def test_jobs_above_the_billed_hours_are_scaled_to_the_whole_cost_with_no_idle():
    # 10 billed node-hours, but the jobs ran 8 h on 1 node and 4 h on 2 nodes: 16 node-hours.
    con = _tenant([_cost(OCT, "shared", "30.00", "10", 1)], [_cluster("shared", {"project": "ml-platform"})],
                  [_job("a", "shared", "2026-10-03T00:00:00", "2026-10-03T08:00:00", 1, {"project": "fraud"}),
                   _job("b", "shared", "2026-10-04T00:00:00", "2026-10-04T04:00:00", 2, {"Project": "Recs"})])
    staged = _stage(con, OCT)
    rows = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT project, allocation_method, effective_cost FROM month_allocation").fetchall()}
    assert rows == {"fraud": (JOB_SPLIT, Decimal("15.0000000000")), "recs": (JOB_SPLIT, Decimal("15.0000000000"))}
    assert _total(con, "SELECT count(*) FROM month_job_costs WHERE allocation_method = 'cluster_idle'") == 0
    rules = [r[0] for r in con.execute("SELECT allocation_rule FROM month_allocation").fetchall()]
    assert all("scaled to the whole cost" in r for r in rules)
    assert staged.jobs.unpriced_jobs == []
    _assert_reconciles(con, OCT)


def test_a_job_spanning_two_months_counts_its_hours_in_each():
    # 20:00 on 30 September to 04:00 on 1 October on 2 nodes: 8 node-hours in each month.
    job = _job("cross", "shared", "2026-09-30T20:00:00", "2026-10-01T04:00:00", 2, {"project": "fraud"})
    costs = [_cost(SEP, "shared", "24.00", "8", 1), _cost(OCT, "shared", "60.00", "20", 2)]
    con = _tenant(costs, [_cluster("shared")], [job])
    for month, job_cost, idle_cost in ((SEP, "24.0000000000", None), (OCT, "24.0000000000", "36.0000000000")):
        _stage(con, month)
        got = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT allocation_method, node_hours, effective_cost FROM month_job_costs").fetchall()}
        assert got[JOB_SPLIT] == (Decimal("8.000000"), Decimal(job_cost)), month
        if idle_cost is None:
            assert CLUSTER_IDLE not in got, month
        else:
            assert got[CLUSTER_IDLE] == (Decimal("12.000000"), Decimal(idle_cost)), month
            # The idle line goes to the cluster's project: here the workspace's tag (untagged cluster).
            [(project,)] = con.execute(
                "SELECT project FROM month_allocation WHERE allocation_method = 'cluster_idle'").fetchall()
            assert project == "ml-platform"
        _assert_reconciles(con, month)


def test_a_cluster_without_jobs_is_all_idle():
    con = _tenant([_cost(OCT, "quiet", "12.34", "4", 1)], [_cluster("quiet", {"project": "ml-platform"})], [])
    _stage(con, OCT)
    rows = con.execute("SELECT project, allocation_method, effective_cost, allocation_rule "
                       "FROM month_allocation").fetchall()
    assert [(p, m, c) for p, m, c, _ in rows] == [("ml-platform", CLUSTER_IDLE, Decimal("12.3400000000"))]
    assert "no job ran this month" in rows[0][3]
    [(ratio, details, resource)] = con.execute(
        "SELECT json_extract_string(AllocatedMethodDetails, '$.Elements[0].AllocatedRatio'), "
        "AllocatedMethodDetails, AllocatedResourceId FROM month_cost_allocation_focus").fetchall()
    assert Decimal(ratio) == 1 and resource is None  # FOCUS: the unallocated portion has no AllocatedResourceId
    assert json.loads(details)["Elements"][0]["UsageUnit"] == "NodeHours"
    _assert_reconciles(con, OCT)


def test_a_job_on_a_deleted_compute_is_named_and_moves_no_money():
    # The cluster the job ran on is gone from the inventory: its cost rows (another VM size) name
    # no compute there, so they stay on the workspace, and the job is reported as unpriced.
    con = _tenant([_cost(OCT, "old-gpu", "50.00", "10", 1, size="Standard_D4s_v3"), _cost(OCT, "live", "9.00", "3", 2)],
                  [_cluster("live")],
                  [_job("orphan", "old-gpu", "2026-10-02T00:00:00", "2026-10-02T05:00:00", 2),
                   _job("fine", "live", "2026-10-03T00:00:00", "2026-10-03T03:00:00", 1)])
    staged = _stage(con, OCT)
    assert staged.jobs.unpriced_jobs == ["orphan on old-gpu: no such compute in the inventory (deleted?)"]
    workspace = con.execute("SELECT aml_kind, effective_cost FROM month_allocation "
                            "WHERE allocation_method NOT IN ('job_split', 'cluster_idle')").fetchall()
    assert workspace == [("workspace", Decimal("50.0000000000"))]
    assert [r[0] for r in con.execute("SELECT job_name FROM month_job_costs").fetchall()] == ["fine"]
    _assert_reconciles(con, OCT)


def test_the_idle_line_can_go_to_a_configured_project_and_untagged_jobs_to_the_clusters():
    config = parse_config({"attribution": {"job_showback": {"idle_project": "(cluster idle)"}}})
    con = _tenant([_cost(OCT, "shared", "100.00", "10", 1)], [_cluster("shared", {"project": "ml-platform"})],
                  [_job("untagged", "shared", "2026-10-03T00:00:00", "2026-10-03T02:00:00", 2),
                   _job("tagged", "shared", "2026-10-04T00:00:00", "2026-10-04T03:00:00", 1,
                        {" PROJECT ": "Vision-QA "})])
    _stage(con, OCT, config)
    got = dict(con.execute("SELECT project, sum(effective_cost) FROM month_allocation GROUP BY 1").fetchall())
    assert got == {"ml-platform": Decimal("40.0000000000"), "vision-qa": Decimal("30.0000000000"),
                   "(cluster idle)": Decimal("30.0000000000")}
    _assert_reconciles(con, OCT)


def test_job_showback_can_be_turned_off():
    config = parse_config({"attribution": {"job_showback": {"enabled": False}}})
    con = _tenant([_cost(OCT, "shared", "100.00", "10", 1)], [_cluster("shared")],
                  [_job("a", "shared", "2026-10-03T00:00:00", "2026-10-03T02:00:00", 2, {"project": "fraud"})])
    _stage(con, OCT, config)
    # The cluster keeps its one row (compute found by its tag, project from the workspace's tag).
    assert con.execute("SELECT aml_name, allocation_method FROM month_allocation").fetchall() == [
        ("shared", "workspace_tag")]
    assert _total(con, "SELECT count(*) FROM month_job_costs") == 0


def test_an_invalid_idle_project_is_refused_naming_the_key():
    from dagster_project.config import ConfigError

    with pytest.raises(ConfigError, match="job_showback.idle_project"):
        parse_config({"attribution": {"job_showback": {"idle_project": "  "}}})


# -- generated job sets ---------------------------------------------------------------------------

AMOUNTS = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=10, allow_nan=False,
                      allow_infinity=False)
JOB_SECONDS = st.lists(st.integers(min_value=0, max_value=40 * 24 * 3600), max_size=12)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(amount=AMOUNTS, billed=st.decimals(min_value=0, max_value=10000, places=6), jobs=JOB_SECONDS)
def test_parts_add_up_exactly_never_negative_and_idle_never_below_zero(amount, billed, jobs):
    shares = cluster_shares(billed, [(f"job-{i}", s) for i, s in enumerate(jobs)])
    weights = [s.weight for s in shares]
    parts = split_amount(amount, weights)
    assert sum(parts, Decimal(0)) == amount  # to the last digit
    assert all(p >= 0 for p in parts)
    assert all(s.node_seconds >= 0 for s in shares)
    idle = [s for s in shares if s.job_id is None]
    assert len(idle) <= 1
    job_seconds = sum(s for s in jobs if s > 0)
    if job_seconds >= billed * 3600 and job_seconds > 0:
        assert idle == []  # scaled to the whole cost, no idle part
    elif idle:
        assert idle[0].node_seconds == billed * 3600 - job_seconds
    # A job's part never exceeds its node-hours' share by more than one unit of the last digit.
    for share, part in zip(shares, parts, strict=True):
        assert abs(part - amount * share.weight) < Decimal("1e-10")


@settings(max_examples=40, derandomize=True, deadline=None)
@given(costs=st.lists(st.tuples(AMOUNTS, st.decimals(min_value=0, max_value=500, places=6)), min_size=1, max_size=4),
       jobs=st.lists(st.tuples(st.integers(0, 31 * 24 * 3600), st.sampled_from([None, "a", "B", " c "])), max_size=8))
def test_random_job_sets_split_every_origin_charge_exactly(costs, jobs):
    """Several origin rows of one cluster (e.g. reserved and on-demand hours) and random jobs:
    each origin row's parts add up to it, job_costs and FOCUS to the cluster's total."""
    origins = pl.DataFrame([{
        "origin_id": i + 1, "billing_currency": "USD", "resource_id": WS, "workspace_id": WS, "aml_kind": "compute",
        "aml_name": "shared", "project": "ml-platform", "owner": "platform@contoso.com", "cost_center": "CC-1",
        "allocation_method": "compute_tag", "allocation_rule": f"rule {i}", "effective_cost": cost,
        "billed_cost": cost, "usage_hours": hours, "running_cost": cost, "committed_cost": Decimal(0),
        "committed_hours": Decimal(0), "compute_id": f"{WS}/computes/shared", "compute_tags": "{}",
        "subscription_id": SUB, "workspace_name": "ws-plat"} for i, (cost, hours) in enumerate(costs)])
    job_rows = pl.DataFrame([{
        "job_id": f"{WS}/jobs/j{i}", "workspace_id": WS, "compute_key": "shared", "compute_name": "shared",
        "job_name": f"j{i}", "experiment_name": "e", "submitter": "s",
        "tags": json.dumps({"project": tag} if tag else {}), "node_seconds": seconds}
        for i, (seconds, tag) in enumerate(jobs)], schema={
        "job_id": pl.String, "workspace_id": pl.String, "compute_key": pl.String, "compute_name": pl.String,
        "job_name": pl.String, "experiment_name": pl.String, "submitter": pl.String, "tags": pl.String,
        "node_seconds": pl.Int64})
    config = FinopsConfig()
    split = split_clusters(OCT, origins, job_rows, config, Resolver(config, InventoryIndex()),
                           {(WS, "shared"): "AmlCompute"})
    total = sum((c for c, _ in costs), Decimal(0))
    assert sum(split.parts["effective_cost"].to_list(), Decimal(0)) == total
    assert sum(split.job_costs["effective_cost"].to_list(), Decimal(0)) == total
    assert sum(split.focus["EffectiveCost"].to_list(), Decimal(0)) == total
    assert sum(split.focus["ConsumedQuantity"].to_list(), Decimal(0)) == sum((h for _, h in costs), Decimal(0))
    assert sum(split.job_costs["allocated_ratio"].to_list(), Decimal(0)) == 1
    assert all(v >= 0 for v in split.parts["effective_cost"].to_list())
    assert all(v >= 0 for v in split.job_costs["node_hours"].to_list())
    assert set(split.parts["project"].to_list()) <= {"ml-platform", "a", "b", "c"}
    for origin in split.focus["x_OriginEffectiveCost"].to_list():
        assert origin == total


# -- the packs, with hostile names (not from the generator) ---------------------------------------

def test_submitter_pages_and_the_finance_card_escape_hostile_names(tmp_path):
    from dagster_project.reporting.job_showback import (
        JobViews,
        job_showback_card,
        write_submitter_pages,
    )

    hostile = "../../x|y\n<script>alert(1)</script>"
    frame = pl.DataFrame([{"submitter": hostile, "billing_currency": "USD", "workspace_name": "ws", "compute_name": "c",
                           "job_name": "job|1\nrm -rf", "experiment_name": "<img src=x onerror=alert(1)>",
                           "project": "p", "node_hours": Decimal("1.5"), "effective_cost": Decimal("2.005"),
                           "billed_cost": Decimal("2.005")}])
    pages = write_submitter_pages(frame, OCT, tmp_path)
    [page] = pages.values()
    assert page.parent == tmp_path / "_jobs" and ".." not in page.name and "/" not in page.name
    text = page.read_text()
    assert "\\<script\\>" in text and "<script>" not in text.replace("\\<script\\>", "")  # escaped
    assert "\nrm -rf" not in text and "job\\|1" in text  # one line, the table's pipes escaped
    assert "2.01" in text  # half up to the cent
    clusters = pl.DataFrame([{"billing_currency": "USD", "workspace_name": "<b>ws</b>", "compute_name": "<i>c</i>",
                              "idle_project": "p", "jobs": 1, "projects": 1, "effective_cost": Decimal(3),
                              "job_effective_cost": Decimal(2), "idle_effective_cost": Decimal(1),
                              "billed_node_hours": Decimal(3), "idle_node_hours": Decimal(1),
                              "idle_share": Decimal("0.333333")}])
    experiments = frame.rename({"submitter": "submitters"}).with_columns(
        pl.lit("p").alias("projects"), pl.lit(1).alias("jobs"))
    card = job_showback_card(JobViews(clusters, experiments), "USD", "c0", "")
    assert "<i>c</i>" not in card and "&lt;i&gt;c&lt;/i&gt;" in card
    assert "<img" not in card and "<script>" not in card
    assert "33.33%" in card
    assert job_showback_card(JobViews(clusters, experiments), "EUR", "c0", "") == ""
