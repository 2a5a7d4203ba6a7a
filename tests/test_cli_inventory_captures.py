"""`aml-finops run --inventory DIR` over a hand-built store of captures, one snapshot folder, and a
partial inventory the run refuses.

The captures are copies of a snapshot folder with hand-written `captured_at` times and one
hand-edited body (not generator output): each billing month of one CLI run must be judged against
its own capture, say which, and say when it is a backfill or precedes the month's end.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.budgets.evaluate import EVENT_RULES
from dagster_project.cli import main
from dagster_project.warehouse import INVENTORY_TABLES, Warehouse

SEPTEMBER, OCTOBER = date(2026, 9, 1), date(2026, 10, 1)
RECS = "resourcegroups/rg-recs/providers/microsoft.machinelearningservices/workspaces/mlw-recs-prod"
FRAUD = "resourcegroups/rg-fraud-prod/providers/microsoft.machinelearningservices/workspaces/mlw-fraud-prod"


def _file(snapshot: Path, workspace: str, name: str) -> Path:
    [found] = snapshot.glob(f"subscriptions/*/{workspace}/{name}")
    return found


def _capture(source: Path, target: Path, captured_at: str) -> Path:
    shutil.copytree(source, target)
    info = json.loads((target / "snapshot.json").read_text())
    (target / "snapshot.json").write_text(json.dumps({**info, "captured_at": captured_at}))
    return target


def _scale_to_zero(snapshot: Path, name: str) -> None:
    path = _file(snapshot, RECS, "computes.json")
    body = json.loads(path.read_text())
    next(c for c in body["value"] if c["name"] == name)["properties"]["properties"]["scaleSettings"]["minNodeCount"] = 0
    path.write_text(json.dumps(body))


def _findings(out: Path, month: date) -> dict[tuple[str, str], dict]:
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        rows = con.sql("SELECT rule_id, resource_name, CAST(evidence AS VARCHAR) FROM findings "
                       "WHERE billing_month = $m AND NOT list_contains($events, rule_id)",
                       params={"m": month, "events": sorted(EVENT_RULES)}).fetchall()
    return {(r[0], r[1]): json.loads(r[2]) for r in rows}


def _run(paths, inventory: Path, out: Path, *extra: str) -> int:
    return main(["run", "--exports", str(paths.exports), "--inventory", str(inventory), "--out", str(out),
                 "--config", str(paths.config), *extra])


EVENT_FIELDS = ("last_operation_time", "created_on", "last_job")


def _no_event_after(findings: dict, end: str) -> None:
    for key, evidence in findings.items():
        for field in EVENT_FIELDS:
            value = evidence.get(field)
            assert value is None or value[:10] < end, (key, field, value)


def test_each_month_of_a_cli_run_over_a_store_is_judged_against_its_own_capture(demo_two_months, tmp_path, capsys):
    store = tmp_path / "store"
    early = _capture(demo_two_months.inventory, store / "2026-10-03T060000Z", "2026-10-03T06:00:00Z")
    _scale_to_zero(early, "gpu-cluster-warm")  # as it was then: no warm node yet
    _capture(demo_two_months.inventory, store / "2026-11-20T060000Z", "2026-11-20T06:00:00Z")
    out = tmp_path / "out"
    assert _run(demo_two_months, store, out) == 0, capsys.readouterr().err
    september, october = _findings(out, SEPTEMBER), _findings(out, OCTOBER)
    assert september and october
    # September: the capture two days after it ended, timely (no note), its own content.
    assert {e["snapshot_captured_at"] for e in september.values()} == {"2026-10-03T06:00:00Z"}
    assert not [k for k, e in september.items() if "backfill" in (e.get("snapshot_note") or "")]
    assert ("cluster_warm_nodes", "gpu-cluster-warm") not in september
    _no_event_after(september, "2026-10-01")
    assert any(e.get(f) for e in september.values() for f in EVENT_FIELDS)  # events are cited, up to its end
    # October: only a capture 19 days after its end: a backfill, which says so.
    assert {e["snapshot_captured_at"] for e in october.values()} == {"2026-11-20T06:00:00Z"}
    for key, evidence in october.items():
        assert "backfill" in evidence["snapshot_note"] and "19 days after 2026-10 ended" in evidence["snapshot_note"], key
    assert ("cluster_warm_nodes", "gpu-cluster-warm") in october
    _no_event_after(october, "2026-11-01")
    # The finance pack of each month cites the capture that judged it.
    from dagster_project.reporting import month_reports_dir
    from dagster_project.reporting.packs import HTML_NAME

    for month, captured in ((SEPTEMBER, "2026-10-03"), (OCTOBER, "2026-11-20")):
        page = (month_reports_dir(out, month) / "finance" / HTML_NAME).read_text()
        other = "2026-11-20" if captured == "2026-10-03" else "2026-10-03"
        assert captured in page and other not in page, month
    # The store is read, never written: no capture recorded, none deleted.
    assert sorted(p.name for p in store.iterdir()) == ["2026-10-03T060000Z", "2026-11-20T060000Z"]


def test_one_snapshot_folder_judges_every_month_and_says_how(demo_two_months, tmp_path, capsys):
    folder = _capture(demo_two_months.inventory, tmp_path / "evidence", "2026-10-15T06:00:00Z")
    out = tmp_path / "out"
    assert _run(demo_two_months, folder, out) == 0, capsys.readouterr().err
    september, october = _findings(out, SEPTEMBER), _findings(out, OCTOBER)
    for findings in (september, october):
        assert {e["snapshot_captured_at"] for e in findings.values()} == {"2026-10-15T06:00:00Z"}
    for key, evidence in september.items():  # captured 14 days after September: a backfill
        assert "backfill" in evidence["snapshot_note"] and "14 days after 2026-09 ended" in evidence["snapshot_note"], key
    _no_event_after(september, "2026-10-01")
    for key, evidence in october.items():  # captured before October ended
        assert "before 2026-10 ended" in evidence["snapshot_note"], key


def _nothing_staged(out: Path, published_computes: int) -> None:
    """Nothing of a refused inventory is staged, no view shows it, no folder is half-published."""
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        staged = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'staging'")
                  .fetchall()}
        assert not staged & set(INVENTORY_TABLES)
        assert con.execute("SELECT count(*) FROM staging.staged_parts").fetchall() == [(0,)]
    assert not (out / ".publish").is_dir() or not list((out / ".publish").iterdir())
    warehouse = Warehouse(out)
    with warehouse.connect() as con:  # a writer's views: the published inventory, as before
        assert con.execute("SELECT count(*) FROM inventory_computes").fetchall() == [(published_computes,)]


@pytest.fixture(scope="module")
def october_before_the_fault(demo_two_months, tmp_path_factory):
    """October published from a store of one complete capture (2026-10-25, before October ended)."""
    root = tmp_path_factory.mktemp("faults")
    store = root / "store"
    _capture(demo_two_months.inventory, store / "2026-10-25T060000Z", "2026-10-25T06:00:00Z")
    out = root / "out"
    assert _run(demo_two_months, store, out, "--month", "2026-10") == 0
    return store, out


def _plant_fault(capture: Path, fault: str) -> None:
    """mlw-recs-prod's compute list broken in one of the ways a capture can be."""
    path = _file(capture, RECS, "computes.json")
    if fault == "missing":
        path.unlink()
    elif fault == "invalid-json":
        path.write_text('{"value": [')
    elif fault == "wrong-shape":
        path.write_text(json.dumps({"items": json.loads(path.read_text())["value"]}))
    elif fault == "http-error":  # as the recorder stores a call Azure answered 403: no body, the failure noted
        workspace = "/" + str(path.parent.relative_to(capture))
        path.unlink()
        info = json.loads((capture / "snapshot.json").read_text())
        info["failures"] = [{"scope": workspace, "call": "compute.list()",
                             "error": "HttpResponseError: (AuthorizationFailed) Operation returned an invalid "
                                      "status 'Forbidden' (403)"}]
        (capture / "snapshot.json").write_text(json.dumps(info))


@pytest.mark.parametrize("fault", ["missing", "http-error", "invalid-json", "wrong-shape"])
def test_each_inventory_fault_is_named_exits_1_and_resolves_no_finding_of_the_workspace(
        demo_two_months, october_before_the_fault, tmp_path, capsys, fault):
    base_store, base_out = october_before_the_fault
    store, out = tmp_path / "store", tmp_path / "out"
    shutil.copytree(base_store, store)
    shutil.copytree(base_out, out)
    before = _findings(out, OCTOBER)
    mine = {key for key in before if key[1] in ("ci-bob-gpu", "gpu-cluster-warm")}
    assert len(mine) >= 2, "mlw-recs-prod has compute findings to lose"
    _plant_fault(_capture(demo_two_months.inventory, store / "2026-11-01T060000Z", "2026-11-01T06:00:00Z"), fault)
    tables = _tables(out)
    # By default: named, exit 1, nothing changed, nothing of the refused inventory left staged.
    assert _run(demo_two_months, store, out, "--month", "2026-10") == 1
    err = capsys.readouterr().err
    assert "mlw-recs-prod: compute.list()" in err and "--allow-partial-inventory" in err
    assert _findings(out, OCTOBER) == before and _tables(out) == tables
    _nothing_staged(out, tables["inventory_computes"])
    if fault == "missing":  # once: a re-run without the broken capture is as if it never happened
        broken = store / "2026-11-01T060000Z"
        shutil.move(broken, tmp_path / "aside")
        assert _run(demo_two_months, store, out, "--month", "2026-10", "--force") == 0
        assert _findings(out, OCTOBER) == before and _tables(out) == tables
        shutil.move(tmp_path / "aside", broken)
    # Tolerated: published, and the workspace's findings stay open, carried forward with the reason.
    assert _run(demo_two_months, store, out, "--month", "2026-10", "--allow-partial-inventory") == 0
    capsys.readouterr()
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        rows = con.sql("SELECT rule_id, resource_name, status, workspace, CAST(evidence AS VARCHAR) FROM findings "
                       "WHERE billing_month = $m AND NOT list_contains($events, rule_id)",
                       params={"m": OCTOBER, "events": sorted(EVENT_RULES)}).fetchall()
    after = {(r[0], r[1]): (r[2], r[3], json.loads(r[4])) for r in rows}
    assert {after[key][1] for key in mine} == {"mlw-recs-prod"}
    assert not [k for k, (status, workspace, _) in after.items() if status == "resolved" and workspace == "mlw-recs-prod"]
    for key in mine:
        status, _, evidence = after[key]
        assert status == "open" and "compute.list()" in evidence["carried_forward"], key
        assert evidence["snapshot_captured_at"] == "2026-11-01T06:00:00Z"


def _tables(out: Path) -> dict[str, int]:
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                           "ORDER BY 1").fetchall()]
        return {name: con.execute(f"SELECT count(*) FROM main.{name}").fetchall()[0][0] for name in names}  # noqa: S608


@pytest.fixture(autouse=True)
def _no_dagster_home(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
