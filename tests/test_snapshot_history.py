"""Which capture judges which month, and the history of findings across captures.

Hand-built: snapshot folders written here (only `snapshot.json` matters for the selection), and
finding rows written out below for three captures a week apart — no demo generator.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.catalog import table
from dagster_project.findings.lifecycle import apply_history
from dagster_project.findings.rules import FINDINGS_SCHEMA
from dagster_project.inventory.history import (
    FAILURES_SCHEMA,
    Capture,
    Selection,
    censor_after_month,
    failed_workspaces,
    hiding_failures,
    list_captures,
    month_end,
    read_failures,
    select_capture,
)
from dagster_project.inventory.snapshot_paths import SnapshotInfo, write_snapshot_info
from dagster_project.sql import load_sql


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def make_store(root, times: list[str]):
    for moment in times:
        folder = root / moment.replace(":", "")
        write_snapshot_info(folder, SnapshotInfo(captured_at=t(moment)))
    return root


# -- selection ---------------------------------------------------------------------------------


def test_each_month_takes_the_capture_nearest_after_it_ends(tmp_path):
    store = make_store(tmp_path / "store", ["2026-10-08T06:00:00Z", "2026-09-01T06:00:00Z",
                                            "2026-09-08T06:00:00Z", "2026-10-01T06:00:00Z"])
    captures = list_captures(store)
    assert [c.captured_at for c in captures] == sorted(c.captured_at for c in captures)
    august = select_capture(captures, date(2026, 8, 1))
    assert august.captured_at == t("2026-09-01T06:00:00Z") and august.after_month and not august.backfill
    assert august.note() is None
    september = select_capture(captures, date(2026, 9, 1))
    assert september.captured_at == t("2026-10-01T06:00:00Z")
    # No capture after October yet: the latest, and the evidence says it was before the month ended.
    october = select_capture(captures, date(2026, 10, 1))
    assert october.captured_at == t("2026-10-08T06:00:00Z") and not october.after_month
    assert "before 2026-10 ended" in october.note()
    # A July backfill only has captures from September on.
    july = select_capture(captures, date(2026, 7, 1))
    assert july.captured_at == t("2026-09-01T06:00:00Z") and july.backfill
    assert "backfill" in july.note() and "after 2026-07-31 are not cited" in july.note()


def test_one_plain_snapshot_folder_is_a_store_of_one(tmp_path):
    write_snapshot_info(tmp_path / "snap", SnapshotInfo(captured_at=t("2026-11-01T06:00:00Z")))
    [capture] = list_captures(tmp_path / "snap")
    assert capture.path == tmp_path / "snap"
    assert select_capture([capture], date(2026, 8, 1)).backfill


def test_a_store_that_cannot_be_read_is_refused_naming_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: neither a snapshot"):
        list_captures(tmp_path / "empty")
    store = make_store(tmp_path / "store", ["2026-11-01T06:00:00Z"])
    (store / "2026-11-02T060000Z").mkdir()
    (store / "2026-11-02T060000Z" / "snapshot.json").write_text("{not json")
    with pytest.raises(ValueError, match="2026-11-02T060000Z/snapshot.json: not valid JSON"):
        list_captures(store)
    twin = make_store(tmp_path / "twin", ["2026-11-01T06:00:00Z"])
    write_snapshot_info(twin / "copy", SnapshotInfo(captured_at=t("2026-11-01T06:00:00Z")))
    with pytest.raises(ValueError, match="same captured_at"):
        list_captures(twin)


def test_a_backfill_cites_no_event_after_the_month():
    capture = Capture(t("2026-11-01T06:00:00Z"), None)
    august = Selection(date(2026, 8, 1), capture, month_end(date(2026, 8, 1)))
    evidence = censor_after_month({"state": "Running", "last_operation_time": "2026-10-20T09:00:00+00:00",
                                   "days_since": 12, "created_on": "2026-06-06T09:00:00+00:00", "age_days": 148},
                                  august)
    assert evidence["last_operation_time"] is None and "days_since" not in evidence
    assert evidence["created_on"] == "2026-06-06T09:00:00+00:00" and evidence["age_days"] == 148
    assert evidence["not_cited_after_month_end"] == ["last_operation_time"]
    assert evidence["snapshot_captured_at"] == "2026-11-01T06:00:00Z"
    assert "backfill" in evidence["snapshot_note"]
    assert "2026-09" not in json.dumps(evidence).replace("2026-09-01", "")  # nothing dated after August
    assert "2026-10-2" not in json.dumps(evidence)


# -- history across three captures a week apart ---------------------------------------------------

C1, C2, C3 = t("2026-11-01T06:00:00Z"), t("2026-11-08T06:00:00Z"), t("2026-11-15T06:00:00Z")
NOVEMBER = date(2026, 11, 1)
SUB = "s1"


def rid(workspace: str, name: str) -> str:
    return (f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/"
            f"{workspace}/computes/{name}")


def finding(fid: str, workspace: str, name: str, at: datetime, month: date = NOVEMBER) -> dict:
    return {"billing_month": month, "finding_id": fid, "rule_id": "ci_left_running", "category": "idle_compute",
            "severity": "low", "workspace": workspace, "resource_id": rid(workspace, name), "resource_name": name,
            "project": "p", "owner": "o", "evidence": json.dumps({"snapshot_captured_at": at.isoformat()}),
            "savings": Decimal("1.00"), "currency": "USD", "action": "stop", "command": "az ml compute stop",
            "first_seen": at, "last_seen": at, "status": "open", "suppression_reason": None}


def evaluation(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FINDINGS_SCHEMA, orient="row") if rows else pl.DataFrame(schema=FINDINGS_SCHEMA)


class Warehouse:
    """The findings table in DuckDB, read back through sql/intermediate/finding_history.sql."""

    def __init__(self):
        self.con = duckdb.connect()
        self.con.execute(table("findings").create_sql())

    def history(self) -> pl.DataFrame:
        return self.con.sql(load_sql("intermediate/finding_history")).pl()

    def run(self, month: date, at: datetime, rows: list[dict], failed=None) -> dict[str, dict]:
        result = apply_history(evaluation(rows), self.history(), month, at, failed)
        self.con.execute("DELETE FROM findings WHERE billing_month = $m", {"m": month})
        self.con.register("result", result)
        self.con.execute("INSERT INTO findings SELECT * FROM result")
        self.con.unregister("result")
        return {r["finding_id"]: r for r in result.iter_rows(named=True)}


FAILED_B = failed_workspaces(pl.DataFrame(
    [{"captured_at": C3, "subscription": SUB, "workspace": "ws-b", "call": "computes.list()",
      "reason": "snapshot file missing"}], schema=FAILURES_SCHEMA))


def test_first_seen_resolved_and_carried_forward_follow_the_captures():
    wh = Warehouse()
    # C1: a, b and c are open. C2: b is fixed, d appears. C3: ws-b failed to list, so c is absent.
    first = wh.run(NOVEMBER, C1, [finding("a", "ws-a", "ci-a", C1), finding("b", "ws-a", "ci-b", C1),
                                  finding("c", "ws-b", "ci-c", C1)])
    assert {f: r["first_seen"] for f, r in first.items()} == {"a": C1, "b": C1, "c": C1}
    second = wh.run(NOVEMBER, C2, [finding("a", "ws-a", "ci-a", C2), finding("c", "ws-b", "ci-c", C2),
                                   finding("d", "ws-a", "ci-d", C2)])
    assert second["a"]["first_seen"] == C1 and second["a"]["last_seen"] == C2
    assert second["d"]["first_seen"] == C2
    assert second["b"]["status"] == "resolved" and second["b"]["last_seen"] == C1
    assert json.loads(second["b"]["evidence"])["resolved_at"] == "2026-11-08T06:00:00Z"
    third = wh.run(NOVEMBER, C3, [finding("a", "ws-a", "ci-a", C3), finding("d", "ws-a", "ci-d", C3)],
                   failed=FAILED_B)
    assert third["c"]["status"] == "open", "a failed listing never resolves a finding"
    note = json.loads(third["c"]["evidence"])["carried_forward"]
    assert "computes.list(): snapshot file missing" in note and "2026-11-15T06:00:00Z" in note
    assert third["c"]["first_seen"] == C1 and third["c"]["last_seen"] == C2
    # b was resolved at C2: November keeps it resolved (same resolution), a later month does not repeat it.
    assert third["b"]["status"] == "resolved" and json.loads(third["b"]["evidence"])["resolved_at"] == \
        "2026-11-08T06:00:00Z"
    december = wh.run(date(2026, 12, 1), t("2026-12-01T06:00:00Z"), [finding("a", "ws-a", "ci-a", C3)])
    assert "b" not in december
    # Re-running the latest capture changes nothing.
    again = wh.run(NOVEMBER, C3, [finding("a", "ws-a", "ci-a", C3), finding("d", "ws-a", "ci-d", C3)],
                   failed=FAILED_B)
    assert again == third


def test_without_the_failure_the_absent_finding_resolves():
    wh = Warehouse()
    wh.run(NOVEMBER, C1, [finding("c", "ws-b", "ci-c", C1)])
    assert wh.run(NOVEMBER, C2, [])["c"]["status"] == "resolved"


def test_a_subscription_wide_failure_carries_every_workspace_of_it():
    wh = Warehouse()
    wh.run(NOVEMBER, C1, [finding("a", "ws-a", "ci-a", C1), finding("c", "ws-b", "ci-c", C1)])
    failed = failed_workspaces(pl.DataFrame([{"captured_at": C2, "subscription": SUB, "workspace": None,
                                              "call": "workspaces.list(scope='subscription')", "reason": "HTTP 500"}],
                                            schema=FAILURES_SCHEMA))
    result = wh.run(NOVEMBER, C2, [], failed=failed)
    assert {r["status"] for r in result.values()} == {"open"}


def test_tag_lookups_that_failed_hide_no_finding():
    failures = pl.DataFrame([
        {"captured_at": C2, "subscription": SUB, "workspace": None, "call": "resource_groups.list()", "reason": "x"},
        {"captured_at": C2, "subscription": SUB, "workspace": "ws-b", "call": "jobs.list()", "reason": "y"}],
        schema=FAILURES_SCHEMA)
    assert failed_workspaces(hiding_failures(failures)) == {("s1", "ws-b"): "jobs.list(): y"}


def test_months_judged_out_of_order_use_only_earlier_captures():
    """October judged at C3 first, then September at C1: September is not compared with C3."""
    wh = Warehouse()
    october, september = date(2026, 10, 1), date(2026, 9, 1)
    wh.run(october, C3, [finding("a", "ws-a", "ci-a", C3, october)])
    result = wh.run(september, C1, [finding("b", "ws-a", "ci-b", C1, september)])
    assert set(result) == {"b"} and result["b"]["first_seen"] == C1
    # And October re-run at C3 now sees b open at C1 and gone: resolved; a keeps first_seen C3.
    again = wh.run(october, C3, [finding("a", "ws-a", "ci-a", C3, october)])
    assert again["b"]["status"] == "resolved" and again["a"]["first_seen"] == C3


def test_the_failures_reader_reads_one_capture(tmp_path):
    con = duckdb.connect()
    # The columns the inventory asset publishes (catalog: inventory_failures).
    con.execute("CREATE TABLE inventory_failures (captured_at TIMESTAMPTZ, subscription_id VARCHAR, "
                "workspace_id VARCHAR, workspace_name VARCHAR, scope VARCHAR, call VARCHAR, reason VARCHAR)")
    con.execute("INSERT INTO inventory_failures VALUES ($a, 's1', NULL, 'ws-b', 's', 'computes.list()', 'missing'), "
                "($b, 's1', NULL, 'ws-a', 's', 'jobs.list()', 'HTTP 500')", {"a": C2, "b": C3})
    rows = read_failures(con, C2)
    assert rows.select("workspace", "call").rows() == [("ws-b", "computes.list()")]
    assert read_failures(duckdb.connect(), C2).height == 0  # no table yet: no failures recorded


# -- the realized-savings ledger ---------------------------------------------------------------------


def _ledger_db(months: list[date]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("findings", "aml_resource_usage", "cost_allocation"):
        con.execute(table(name).create_sql())
    con.execute(load_sql("schema/realized_savings"))
    for month in months:  # a published month has allocation rows
        con.execute("INSERT INTO cost_allocation VALUES ($m, 'USD', 'r', NULL, 'other', NULL, 'p', NULL, NULL, "
                    "'tag', 'row', 1, 1)", {"m": month})
    return con


def _usage(con, month: date, name: str, cost: str, kind: str = "compute") -> None:
    ws = rid("ws-a", "x").rsplit("/computes/", 1)[0]
    con.execute("INSERT INTO aml_resource_usage VALUES ($m, 'USD', $ws, $k, $n, $c, 10, $c, 0, 0)",
                {"m": month, "ws": ws, "k": kind, "n": name, "c": Decimal(cost)})


def test_the_ledger_measures_the_month_before_and_after_the_resolution():
    """ci-b resolved in November (captured 2026-12-01): October cost 120.50, December 7.25."""
    october, december = date(2026, 10, 1), date(2026, 12, 1)
    wh = Warehouse()
    wh.con.execute(table("aml_resource_usage").create_sql())
    wh.con.execute(table("cost_allocation").create_sql())
    wh.run(october, t("2026-11-01T06:00:00Z"), [finding("b", "ws-a", "ci-b", t("2026-11-01T06:00:00Z"), october)])
    wh.run(NOVEMBER, t("2026-12-01T06:00:00Z"), [])
    con = wh.con
    con.execute(load_sql("schema/realized_savings"))
    for month in (october, NOVEMBER):
        con.execute("INSERT INTO cost_allocation VALUES ($m, 'USD', 'r', NULL, 'other', NULL, 'p', NULL, NULL, "
                    "'tag', 'row', 1, 1)", {"m": month})
    _usage(con, october, "CI-B", "120.50")  # names compare case-insensitively
    _usage(con, NOVEMBER, "ci-b", "60.00")
    _usage(con, october, "ci-other", "99.00")
    pending = con.sql("SELECT resolved_in_month, month_before, month_after, cost_before, cost_after, realized, "
                      "ledger_status FROM realized_savings").fetchall()
    assert pending == [(NOVEMBER, october, december, Decimal("120.5"), None, None, "pending")]
    con.execute("INSERT INTO cost_allocation VALUES ($m, 'USD', 'r', NULL, 'other', NULL, 'p', NULL, NULL, "
                "'tag', 'row', 1, 1)", {"m": december})
    _usage(con, december, "ci-b", "7.25")
    [row] = con.sql("SELECT finding_id, resource_name, cost_before, cost_after, realized, ledger_status, "
                    "resolved_at FROM realized_savings").fetchall()
    assert row[:6] == ("b", "ci-b", Decimal("120.5"), Decimal("7.25"), Decimal("113.25"), "measured")
    assert row[6] == t("2026-12-01T06:00:00Z")


def test_a_resolution_seen_by_two_months_is_one_ledger_row():
    """November and December both judged against the same capture resolve the finding: one row."""
    con = _ledger_db([date(2026, 10, 1)])
    resolved = finding("b", "ws-a", "ci-b", t("2026-11-01T06:00:00Z"))
    resolved.update(status="resolved", evidence=json.dumps({"resolved_at": "2026-12-01T06:00:00Z",
                                                            "snapshot_captured_at": "2026-12-01T06:00:00Z"}))
    frame = evaluation([resolved, {**resolved, "billing_month": date(2026, 12, 1)}])
    con.register("rows", frame)
    con.execute("INSERT INTO findings SELECT * FROM rows")
    rows = con.sql("SELECT resolved_in_month, cost_before, ledger_status FROM realized_savings").fetchall()
    assert rows == [(NOVEMBER, Decimal(0), "pending")]


# -- any order ------------------------------------------------------------------------------------

# Three months, each judged against its capture; what each capture shows.
PLAN = [
    (date(2026, 8, 1), t("2026-09-01T06:00:00Z"), {"a", "b", "c"}),
    (date(2026, 9, 1), t("2026-10-01T06:00:00Z"), {"a", "c", "d"}),
    (date(2026, 10, 1), t("2026-11-01T06:00:00Z"), {"a", "d"}),
]


def _run_plan(wh: Warehouse, order) -> dict:
    for index in order:
        month, at, shown = PLAN[index]
        wh.run(month, at, [finding(f, "ws-a", f"ci-{f}", at, month) for f in sorted(shown)])
    return {m: {r["finding_id"]: (r["status"], r["first_seen"], r["last_seen"])
                for r in wh.con.sql("SELECT * FROM findings WHERE billing_month = $m", params={"m": m}).pl()
                .iter_rows(named=True)} for m, _, _ in PLAN}


@settings(max_examples=12, deadline=None, derandomize=True)
@given(order=st.lists(st.integers(0, 2), min_size=1, max_size=5))
def test_months_run_in_any_order_then_in_order_give_the_same_history(order):
    """Whatever was run before (any months, any order, repeats), running the months in order
    gives the history of running them in order once."""
    expected = _run_plan(Warehouse(), [0, 1, 2])
    assert expected[date(2026, 9, 1)]["b"] == ("resolved", t("2026-09-01T06:00:00Z"), t("2026-09-01T06:00:00Z"))
    assert expected[date(2026, 10, 1)]["c"][0] == "resolved"
    assert expected[date(2026, 10, 1)]["d"][1] == t("2026-10-01T06:00:00Z")
    assert expected[date(2026, 10, 1)]["a"][1] == t("2026-09-01T06:00:00Z")
    wh = Warehouse()
    _run_plan(wh, order)
    assert _run_plan(wh, [0, 1, 2]) == expected
