"""The pipeline over a snapshot store of three captures a week apart, with planted changes.

The captures are hand-edited copies of a snapshot folder (JSON bodies changed here, one file
removed), not generator output: C1 (2026-10-18), C2 (2026-10-25) and C3 (2026-11-01). October is
re-run as each capture arrives (month to date, then after the month ends), as the schedules do.

Planted, C1 → C2: ci-bob-gpu's nightly stop schedule enabled; gpu-cluster-warm scales to 0 minimum
nodes and gets another owner tag. C2 → C3: a new cluster gpu-cluster-new (2 warm nodes) in
mlw-recs-prod; fraud-realtime's traffic moves from live to shadow; mlw-shared-platform's compute
list is missing (a failed call).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project import runner
from dagster_project.budgets.evaluate import EVENT_RULES
from dagster_project.cli import main
from dagster_project.demo.generate import generate_demo

OCTOBER, SEPTEMBER, AUGUST = date(2026, 10, 1), date(2026, 9, 1), date(2026, 8, 1)
C1, C2, C3 = (datetime(2026, 10, 18, 6, tzinfo=UTC), datetime(2026, 10, 25, 6, tzinfo=UTC),
              datetime(2026, 11, 1, 6, tzinfo=UTC))
RECS = "resourcegroups/rg-recs/providers/microsoft.machinelearningservices/workspaces/mlw-recs-prod"
FRAUD = "resourcegroups/rg-fraud-prod/providers/microsoft.machinelearningservices/workspaces/mlw-fraud-prod"
PLATFORM = "resourcegroups/rg-ml-platform/providers/microsoft.machinelearningservices/workspaces/mlw-shared-platform"
PLATFORM_COMPUTES = ("ci-carol-churn", "old-churn-cluster", "forecast-train")


def _file(snapshot: Path, workspace: str, name: str) -> Path:
    [found] = snapshot.glob(f"subscriptions/*/{workspace}/{name}")
    return found


def _edit(path: Path, change) -> None:
    body = json.loads(path.read_text())
    change(body)
    path.write_text(json.dumps(body))


def _capture(source: Path, target: Path, at: datetime) -> Path:
    shutil.copytree(source, target)
    _edit(target / "snapshot.json", lambda info: info.update(captured_at=at.isoformat().replace("+00:00", "Z")))
    return target


def _computes(body, name):
    return next(c for c in body["value"] if c["name"] == name)


def plant_c2(snapshot: Path) -> None:
    def change(body):
        for schedule in _computes(body, "ci-bob-gpu")["properties"]["properties"]["schedules"]["computeStartStop"]:
            if schedule["action"] == "Stop":
                schedule["status"] = "Enabled"
        cluster = _computes(body, "gpu-cluster-warm")
        cluster["properties"]["properties"]["scaleSettings"]["minNodeCount"] = 0
        cluster["tags"] = {**cluster.get("tags", {}), "Owner": "carol@contoso.com"}
    _edit(_file(snapshot, RECS, "computes.json"), change)


def plant_c3(snapshot: Path) -> None:
    def add(body):
        new = json.loads(json.dumps(_computes(body, "gpu-cluster-warm")))
        new["name"] = "gpu-cluster-new"
        new["id"] = new["id"].rsplit("/", 1)[0] + "/gpu-cluster-new"
        new["properties"]["properties"]["scaleSettings"]["minNodeCount"] = 2
        body["value"].append(new)
    _edit(_file(snapshot, RECS, "computes.json"), add)

    def traffic(body):
        endpoint = next(e for e in body["value"] if e["name"] == "fraud-realtime")
        endpoint["properties"]["traffic"] = {"live": 0, "shadow": 100}
    _edit(_file(snapshot, FRAUD, "onlineendpoints.json"), traffic)
    _file(snapshot, PLATFORM, "computes.json").unlink()


@pytest.fixture(scope="module")
def store_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    paths = generate_demo(root / "tenant", months=3)
    store = root / "store"
    store.mkdir()
    c1 = _capture(paths.inventory, store / "2026-10-18T060000Z", C1)
    c2 = _capture(c1, store / "2026-10-25T060000Z", C2)
    plant_c2(c2)
    c3 = _capture(c2, store / "2026-11-01T060000Z", C3)
    plant_c3(c3)
    # Each capture arrives in turn: the store grows, October is re-run.
    growing = root / "growing"
    growing.mkdir()
    out = root / "out"
    states = {}
    for capture in (c1, c2, c3):
        shutil.copytree(capture, growing / capture.name)
        # The third capture lost a compute list on purpose: the run must be told to go on.
        summary = runner.run_pipeline(paths.exports, growing, out, months=[OCTOBER],
                                      allow_partial_inventory=True)
        states[capture.name] = (_findings(out, OCTOBER), summary)
    runner.run_pipeline(paths.exports, growing, out, months=[SEPTEMBER], allow_partial_inventory=True)
    return {"paths": paths, "store": store, "captures": (c1, c2, c3), "out": out, "states": states}


def _findings(out: Path, month: date) -> dict[tuple[str, str], dict]:
    con = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    try:
        rows = con.sql("SELECT rule_id, resource_name, status, first_seen, last_seen, CAST(evidence AS VARCHAR) "
                       "AS evidence FROM findings WHERE billing_month = $m "
                       # budget and anomaly findings are events of the cost data, not of a capture
                       "AND NOT list_contains($events, rule_id)", params={"m": month, "events": sorted(EVENT_RULES)}).fetchall()
    finally:
        con.close()
    return {(r[0], r[1]): {"status": r[2], "first_seen": r[3], "last_seen": r[4], "evidence": json.loads(r[5])}
            for r in rows}


def _query(out: Path, sql: str, params=None):
    con = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    try:
        return con.sql(sql, params=params or {}).fetchall()
    finally:
        con.close()


def test_each_run_is_judged_against_its_capture(store_runs):
    for name, (findings, _) in store_runs["states"].items():
        stamp = f"{name[:10]}T06:00:00Z"
        # A resolution keeps the capture that observed it.
        assert {f["evidence"]["snapshot_captured_at"] for f in findings.values() if f["status"] == "open"} == {stamp}
        assert {f["evidence"]["resolved_at"] for f in findings.values() if f["status"] == "resolved"} <= {
            "2026-10-25T06:00:00Z"}
        # gpu-cluster-warm's October idle was its warm node's, claimed (and, once scaled down,
        # realized) by cluster_warm_nodes: no second finding for the same hours (docs/findings.md).
        assert ("cluster_idle_share", "gpu-cluster-warm") not in findings, name
    c1_findings = store_runs["states"]["2026-10-18T060000Z"][0]
    some = next(iter(c1_findings.values()))
    assert "before 2026-10 ended" in some["evidence"]["snapshot_note"]
    # A resolution is stamped with the capture that saw it gone, and its note is that capture's.
    resolved = store_runs["states"]["2026-10-25T060000Z"][0][("cluster_warm_nodes", "gpu-cluster-warm")]["evidence"]
    assert resolved["snapshot_captured_at"] == "2026-10-25T06:00:00Z"
    assert "captured 2026-10-25T06:00:00Z before 2026-10 ended" in resolved["snapshot_note"]


def test_budget_and_anomaly_events_stand_outside_the_capture_history(store_runs):
    """Events of the cost data: no capture stamp, never resolved, never in the cleanup ledger."""
    rows = _query(store_runs["out"], "SELECT rule_id, status, CAST(evidence AS VARCHAR) FROM findings "
                                     "WHERE list_contains($events, rule_id)", {"events": sorted(EVENT_RULES)})
    assert rows, "the demo's October has anomaly events"
    assert all(json.loads(r[2]).get("snapshot_captured_at") is None for r in rows)
    assert {r[1] for r in rows} <= {"open", "suppressed"}
    assert not _query(store_runs["out"], "SELECT * FROM realized_savings WHERE list_contains($events, rule_id)",
                      {"events": sorted(EVENT_RULES)})


def test_the_job_split_of_a_backfilled_month_uses_its_own_capture(store_runs):
    """September (judged against C1) is split among the jobs and clusters of C1, not of the newest
    capture C3 the CLI staged, which lost mlw-shared-platform's compute list."""
    split = {r[0] for r in _query(store_runs["out"], "SELECT DISTINCT compute_name FROM job_costs "
                                                     "WHERE billing_month = $m", {"m": SEPTEMBER})}
    assert "gpu-shared" in split  # a cluster of mlw-shared-platform with jobs in September
    assert "gpu-cluster-new" not in split  # added only in C3


def test_first_seen_and_resolved_follow_the_captures(store_runs):
    first, second, third = (store_runs["states"][c.name][0] for c in store_runs["captures"])
    bob = ("ci_no_idle_shutdown", "ci-bob-gpu")
    warm = ("cluster_warm_nodes", "gpu-cluster-warm")
    assert first[bob]["status"] == "open" and first[warm]["status"] == "open"
    for key in (bob, warm):
        assert second[key]["status"] == "resolved", key
        assert second[key]["first_seen"] == C1 and second[key]["last_seen"] == C1
        assert second[key]["evidence"]["resolved_at"] == "2026-10-25T06:00:00Z"
        assert third[key] == second[key]  # the same resolution, kept in the month
    new = ("cluster_warm_nodes", "gpu-cluster-new")
    assert new not in second and third[new]["first_seen"] == C3 and third[new]["status"] == "open"
    # Everything seen since C1 keeps C1 as its first sighting.
    for key, row in third.items():
        if key in first and first[key]["status"] == "open" and row["status"] == "open":
            assert row["first_seen"] == C1, key


def test_the_failed_workspace_keeps_its_findings_open(store_runs):
    second, third = (store_runs["states"][c.name][0] for c in store_runs["captures"][1:])
    carried = {k: v for k, v in second.items() if v["status"] == "open" and k[1] in PLATFORM_COMPUTES}
    assert len(carried) >= 3, "the planted workspace has compute findings to carry"
    for key in carried:
        assert third[key]["status"] == "open", key
        assert "could not be listed" in third[key]["evidence"]["carried_forward"]
        assert third[key]["first_seen"] == second[key]["first_seen"]
    assert not [k for k, v in third.items() if v["status"] == "resolved" and k[1] in PLATFORM_COMPUTES]


def test_inventory_changes_list_exactly_the_planted_changes(store_runs):
    rows = _query(store_runs["out"], "SELECT captured_before, captured_after, resource_kind, resource_name, change, "
                                     "field, before, after FROM inventory_changes WHERE billing_month = $m "
                                     "ORDER BY ALL", {"m": OCTOBER})
    found = {(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}
    assert len(rows) == len(found)
    assert found == {
        (C1, C2, "compute", "ci-bob-gpu", "changed", "stop_schedule_enabled", "false", "true"),
        (C1, C2, "compute", "gpu-cluster-warm", "changed", "min_nodes", "1", "0"),
        (C1, C2, "compute", "gpu-cluster-warm", "changed", "owner", None, "carol@contoso.com"),
        (C1, C2, "compute", "gpu-cluster-warm", "changed", "tags.owner", None, "carol@contoso.com"),
        (C2, C3, "compute", "gpu-cluster-new", "added", None, None, None),
        (C2, C3, "endpoint", "fraud-realtime", "changed", "traffic", _traffic_before(store_runs),
         '{"live": 0, "shadow": 100}'),
    }


def _traffic_before(store_runs) -> str:
    body = json.loads(_file(store_runs["captures"][1], FRAUD, "onlineendpoints.json").read_text())
    traffic = next(e for e in body["value"] if e["name"] == "fraud-realtime")["properties"]["traffic"]
    return json.dumps(traffic, sort_keys=True)


def test_the_ledger_records_each_resolution(store_runs):
    rows = _query(store_runs["out"], "SELECT rule_id, resource_name, resolved_in_month, month_before, month_after, "
                                     "cost_before, cost_after, ledger_status FROM realized_savings ORDER BY ALL")
    ledger = {(r[0], r[1]): r[2:] for r in rows}
    assert set(ledger) == {("ci_no_idle_shutdown", "ci-bob-gpu"), ("cluster_warm_nodes", "gpu-cluster-warm")}
    [september_cost] = _query(store_runs["out"], "SELECT sum(effective_cost) FROM aml_resource_usage WHERE "
                                                 "billing_month = $m AND aml_name = 'ci-bob-gpu'", {"m": SEPTEMBER})[0:1]
    month, before, after, cost_before, cost_after, status = ledger[("ci_no_idle_shutdown", "ci-bob-gpu")]
    assert (month, before, after) == (OCTOBER, SEPTEMBER, date(2026, 11, 1))
    assert cost_before == september_cost[0] and cost_before > 0
    assert cost_after is None and status == "pending"  # November is not published


def test_a_backfilled_month_cites_no_event_after_it(store_runs, tmp_path):
    """September is judged against C1 (2026-10-18), the nearest capture after it ended; August with
    the plain demo snapshot (2026-11-01): neither cites an event after its month."""
    september = _findings(store_runs["out"], SEPTEMBER)
    assert {f["evidence"]["snapshot_captured_at"] for f in september.values()} == {"2026-10-18T06:00:00Z"}
    out = tmp_path / "august"
    paths = store_runs["paths"]
    runner.run_pipeline(paths.exports, paths.inventory, out, months=[AUGUST])
    august = _findings(out, AUGUST)
    bob = [f for (rule, name), f in august.items() if name == "ci-bob-gpu"]
    assert bob
    for month, findings, end in ((SEPTEMBER, september, "2026-10-01"), (AUGUST, august, "2026-09-01")):
        for key, finding in findings.items():
            evidence = finding["evidence"]
            assert "backfill" in evidence["snapshot_note"], key
            for field in ("last_operation_time", "created_on", "last_job"):
                value = evidence.get(field)
                assert value is None or value[:10] < end, (month, key, field, value)
    assert any("last_operation_time" in f["evidence"].get("not_cited_after_month_end", []) for f in bob)
    assert "2026-10-20" not in json.dumps([f["evidence"] for f in bob])


def test_diff_prints_exactly_the_planted_changes(store_runs, capsys):
    c1, c2, c3 = store_runs["captures"]
    assert main(["diff", str(c1), str(c2), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted((r["resource_name"], r["field"], r["before"], r["after"]) for r in rows) == [
        ("ci-bob-gpu", "stop_schedule_enabled", "false", "true"),
        ("gpu-cluster-warm", "min_nodes", "1", "0"),
        ("gpu-cluster-warm", "owner", None, "carol@contoso.com"),
        ("gpu-cluster-warm", "tags.owner", None, "carol@contoso.com")]
    assert main(["diff", str(c1), str(c2), "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("captured_before,captured_after,resource_kind") and len(csv) == 5
    assert main(["diff", str(c1), str(c2)]) == 0
    table = capsys.readouterr().out
    assert "4 changes" in table and "gpu-cluster-warm" in table and "carol@contoso.com" in table
    # C3 lost mlw-shared-platform's compute list: printed, exit 1, unless tolerated.
    assert main(["diff", str(c2), str(c3), "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert "mlw-shared-platform" in captured.err and "computes" in captured.err
    assert {r["resource_name"] for r in json.loads(captured.out)} == {"gpu-cluster-new", "fraud-realtime"}
    assert main(["diff", str(c2), str(c3), "--format", "json", "--allow-partial-inventory"]) == 0
    capsys.readouterr()


def test_diff_usage_errors_are_one_line_and_exit_2(store_runs, tmp_path, capsys):
    c1 = store_runs["captures"][0]
    assert main(["diff", str(c1), str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "SNAPSHOT_B folder not found" in err
    assert main(["diff", str(store_runs["store"]), str(c1)]) == 2
    assert "name one capture folder as SNAPSHOT_A" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_format:
        main(["diff", str(c1), str(c1), "--format", "xml"])
    assert bad_format.value.code == 2


def test_the_packs_show_the_review_and_how_long_findings_are_open(store_runs):
    from dagster_project.reporting import month_reports_dir
    from dagster_project.reporting.packs import HTML_NAME

    reports = month_reports_dir(store_runs["out"], OCTOBER)
    page = (reports / "finance" / HTML_NAME).read_text()
    review = page[page.index('id="review"'):page.index("</section>", page.index('id="review"'))]
    assert "Changes since the last review" in review and "2026-11-01T06:00:00Z" in review
    assert "gpu-cluster-new" in review and "carol@contoso.com" in review and "6 changes" in review
    # October's pack was written before September was published: the ledger says so.
    assert "Resolved this month (2)" in review and "ci-bob-gpu" in review and "month before not published" in review
    packs = "\n".join(p.read_text() for p in (reports / "engineers").rglob("*.md"))
    assert "Judged against the inventory captured 2026-11-01T06:00:00Z" in packs
    # ci-carol-churn's finding has been shown by every capture since C1: 14 days.
    assert "- **Open for:** 14 days (first seen 2026-10-18, last seen 2026-11-01)" in packs
