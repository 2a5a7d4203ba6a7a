# ruff: noqa: F811 (the shared fixtures imported from test_inventory_record are parameters here)
"""Live, dated inventory evidence: record over real HTTP into the snapshot store, replay the capture.

The estate is served by `LoopbackAzure` (tests/loopback_azure.py), an HTTP server on 127.0.0.1
answering the real azure-ai-ml / azure-mgmt-resource requests with the demo snapshot's bodies
(paged, with nextLinks) and checking the test credential's bearer token. Nothing in the SDK's path
is mocked: `MLClient` and `ResourceManagementClient` build their requests, azure-core's
`RequestsTransport` sends them over a socket; only the destination host is retargeted.

Beside the demo-derived cases: hand-written faults (an HTTP 403, a body that is not JSON, a list
body of the wrong shape, a missing file) and generated store layouts (`hypothesis`, fixed seed)
for the retention rule.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath

import duckdb
import pytest
from dagster import AssetKey, materialize
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback_azure import Fault, LoopbackAzure, LoopbackCredential, RetargetTransport
from test_inventory_record import _scopes  # noqa: F401

from assets.inventory import aml_inventory
from dagster_project.cli import main
from dagster_project.demo.generate import DEFAULT_END_MONTH
from dagster_project.demo.tenant import Tenant
from dagster_project.inventory.record import record_snapshot
from dagster_project.inventory.snapshot_paths import (
    SnapshotInfo,
    read_snapshot_info,
    snapshot_relpath,
)
from dagster_project.inventory.store import (
    Capture,
    LocalSnapshotStore,
    capture_for_day,
    capture_name,
    expired_captures,
    list_captures,
)
from dagster_project.inventory.tables import Inventory, load_inventory
from dagster_project.resources import InventoryResource, WarehouseResource

ARM = "https://management.azure.com"


class LoopbackInventory(InventoryResource):
    """The inventory resource with the test credential and the loopback destination; everything
    else (store, recording, retention, replay) is the production resource's."""

    port: int = 0

    def credential(self):
        return LoopbackCredential()

    def transport(self):
        return RetargetTransport(self.port)


def _same_tables(left: Inventory, right: Inventory) -> None:
    for name, frame in left.tables().items():
        assert frame.height > 0 or name == "inventory_failures", name  # a complete capture has none
        assert frame.drop("captured_at").equals(right.tables()[name].drop("captured_at")), name


def _plant_capture(store: Path, source: Path, captured_at: datetime) -> Path:
    """Copy a snapshot into `store` as a capture of `captured_at` (an older day of evidence)."""
    target = store / capture_name(captured_at)
    shutil.copytree(source, target)
    info = read_snapshot_info(target)
    (target / "snapshot.json").write_text(json.dumps(SnapshotInfo(captured_at, info.scopes, info.tool_version)
                                                     .to_json()))
    return target


# ------------------------------------------------------------------ record over HTTP → replay ------
def test_live_capture_over_http_into_the_store_then_replay_gives_the_demo_tables(
        demo_dir: Path, demo_inventory: Inventory, tmp_path: Path) -> None:
    store = tmp_path / "store"
    now = datetime.now(UTC)
    old = _plant_capture(store, demo_dir, now - timedelta(days=401))  # past the retention: deleted
    kept = _plant_capture(store, demo_dir, now - timedelta(days=30))  # within it: kept
    unfinished = store / ".capture-0123456789ab"  # an interrupted recording: never a capture
    unfinished.mkdir()
    with LoopbackAzure(demo_dir, page_size=2) as server:
        resource = LoopbackInventory(store_path=str(store), scopes=_scopes(demo_dir), port=server.port,
                                     retention_days=400)
        result = materialize([aml_inventory], partition_key=now.date().isoformat(),
                             resources={"inventory": resource, "warehouse": WarehouseResource(out_dir=str(tmp_path / "out"))})
    assert result.success
    assert server.unauthenticated == 0 and len(server.seen) > 50  # every call went over HTTP, with the token
    assert any("skipToken" in url for _, url in server.seen)  # lists were paged and the pages followed

    captures = list_captures(store)
    assert [c.path for c in captures[:-1]] == [kept] and not old.exists()
    capture = captures[-1]
    assert capture.day == now.date() and capture.name == capture_name(capture.captured_at)
    assert abs(capture.captured_at - now) < timedelta(minutes=5)
    # The stored capture holds the very bodies Azure (the server) answered, pages merged. (The demo
    # snapshot also holds files for resource-group and workspace scopes, not requested here.)
    recorded = {p.relative_to(capture.path) for p in capture.path.rglob("*.json")} - {Path("snapshot.json")}
    served = {p.relative_to(demo_dir) for p in demo_dir.rglob("*.json")} - {Path("snapshot.json")}
    assert recorded <= served and len(recorded) > 50
    for relative in recorded:
        assert json.loads((capture.path / relative).read_bytes()) == json.loads((demo_dir / relative).read_bytes())
    # Replaying the stored capture gives the demo's tables; the asset staged exactly those.
    _same_tables(demo_inventory, load_inventory(capture.path))
    materialized = {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    for table, frame in demo_inventory.tables().items():
        assert materialized[AssetKey(table)]["row_count"].value == frame.height, table
    assert materialized[AssetKey("inventory_failures")]["row_count"].value == 0
    assert materialized[AssetKey("inventory_computes")]["mode"].value == "recorded"
    [check] = result.get_asset_check_evaluations()
    assert check.passed


def test_a_past_day_replays_its_stored_capture_and_never_records(demo_dir: Path, tmp_path: Path) -> None:
    store = LocalSnapshotStore(tmp_path / "store")
    day = datetime(2026, 11, 24, 6, tzinfo=UTC)
    _plant_capture(store.root, demo_dir, day)
    later = _plant_capture(store.root, demo_dir, day + timedelta(hours=3))

    def record(_store):
        raise AssertionError("a past day must not be recorded")

    capture, recorded, deleted = capture_for_day(store, day.date(), date(2026, 12, 1), record)
    assert (capture.path, recorded, deleted) == (later, False, [])
    with pytest.raises(RuntimeError, match=r"no capture of 2026-11-23 .*captures from 2026-11-24T060000Z"):
        capture_for_day(store, date(2026, 11, 23), date(2026, 12, 1), record)
    with pytest.raises(RuntimeError, match="in the future"):
        capture_for_day(store, date(2026, 12, 2), date(2026, 12, 1), record)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(ages=st.lists(st.integers(min_value=0, max_value=2000), min_size=0, max_size=12),
       retention=st.integers(min_value=1, max_value=900))
def test_retention_deletes_exactly_the_expired_and_never_the_newest(ages: list[int], retention: int) -> None:
    now = datetime(2026, 12, 1, 5, tzinfo=UTC)
    captures = [Capture(capture_name(now - timedelta(days=a, seconds=i)), now - timedelta(days=a, seconds=i),
                        Path(f"/store/{i}")) for i, a in enumerate(ages)]
    expired = expired_captures(captures, retention, now)
    newest = max(captures, key=lambda c: c.captured_at) if captures else None
    assert newest not in expired
    for capture in captures:
        old = capture.captured_at < now - timedelta(days=retention)
        assert (capture in expired) == (old and capture is not newest)


def test_the_store_ignores_what_is_not_a_complete_capture(demo_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    good = _plant_capture(store, demo_dir, datetime(2026, 11, 24, 6, tzinfo=UTC))
    (store / "2026-11-25T060000Z").mkdir()  # no snapshot.json: an upload that never finished
    (store / "notes").mkdir()
    shutil.copytree(good, store / ".2026-11-26T060000Z.recording-1a2b3c4d")
    assert [c.path for c in list_captures(store)] == [good]
    damaged = _plant_capture(store, demo_dir, datetime(2026, 11, 27, 6, tzinfo=UTC))
    (damaged / "snapshot.json").write_text("{")
    with pytest.raises(ValueError, match="2026-11-27T060000Z/snapshot.json: not valid JSON"):
        list_captures(store)


# ------------------------------------------------------------------ faults are never silent -------
def _fraud(tenant: Tenant) -> tuple[str, PurePosixPath]:
    fraud = tenant.workspace("mlw-fraud-prod")
    return fraud.id, snapshot_relpath("GET", f"{ARM}{fraud.id}/computes")


def test_an_http_error_live_is_recorded_in_the_capture_and_reported_on_replay(
        demo_dir: Path, tenant: Tenant, tmp_path: Path) -> None:
    workspace_id, computes = _fraud(tenant)
    with LoopbackAzure(demo_dir, faults={computes: Fault(status=403)}) as server:
        inventory = record_snapshot(LoopbackCredential(), _scopes(demo_dir), tmp_path / "capture",
                                    transport=RetargetTransport(server.port))
    assert [(f.scope, f.call) for f in inventory.failures] == [(workspace_id, "compute.list()")]
    stored = read_snapshot_info(tmp_path / "capture").failures
    assert [(f["scope"], f["call"]) for f in stored] == [(workspace_id, "compute.list()")]
    assert "403" in stored[0]["error"] or "Forbidden" in stored[0]["error"]
    replayed = load_inventory(tmp_path / "capture")
    # The recorded reason (the HTTP error) is kept; the replay's "no recording" adds nothing.
    assert [(f.scope, f.call, f.error) for f in replayed.failures] == [
        (workspace_id, "compute.list()", stored[0]["error"])]


def _faulty_copy(source: Path, target: Path, relpath: PurePosixPath, fault: str) -> Path:
    shutil.copytree(source, target)
    path = target.joinpath(*relpath.parts)
    if fault == "missing":
        path.unlink()
    elif fault == "invalid-json":
        path.write_text('{"value": [')
    elif fault == "wrong-shape":
        path.write_text(json.dumps({"items": json.loads((source / relpath).read_bytes())["value"]}))
    return target


@pytest.fixture(scope="module")
def one_month(tmp_path_factory):
    from dagster_project.demo.generate import generate_demo

    return generate_demo(tmp_path_factory.mktemp("tenant") / "demo", seed=42, months=1)


@pytest.mark.parametrize("fault", ["missing", "invalid-json", "wrong-shape"])
def test_each_replay_fault_fails_the_run_naming_workspace_and_call(
        one_month, tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture, fault: str) -> None:
    _, computes = _fraud(tenant)
    inventory = _faulty_copy(one_month.inventory, tmp_path / "inventory", computes, fault)
    out = tmp_path / "out"
    code = main(["run", "--exports", str(one_month.exports), "--inventory", str(inventory), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "mlw-fraud-prod: compute.list()" in err and "--allow-partial-inventory" in err
    assert "computes.json" in err  # the file that is missing or wrong
    assert not (out / "finops.duckdb").exists() or _published(out, "inventory_computes") == 0


def _published(out: Path, table: str) -> int:
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
                   .fetchall()}
        return con.execute(f"SELECT count(*) FROM main.{table}").fetchall()[0][0] if table in present else 0  # noqa: S608 (a fixed name)


def test_allow_partial_inventory_publishes_and_lists_the_failures(
        one_month, tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import DagsterInstance

    workspace_id, computes = _fraud(tenant)
    inventory = _faulty_copy(one_month.inventory, tmp_path / "inventory", computes, "wrong-shape")
    out = tmp_path / "out"
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the CLI records its runs in this instance
    code = main(["run", "--exports", str(one_month.exports), "--inventory", str(inventory), "--out", str(out),
                 "--allow-partial-inventory"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Warning: inventory: 1 inventory call(s) failed in 1 workspace(s): mlw-fraud-prod: compute.list()" in printed
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        rows = con.sql("SELECT workspace_id, workspace_name, call, reason FROM inventory_failures").fetchall()
    assert [r[:3] for r in rows] == [(workspace_id.lower(), "mlw-fraud-prod", "compute.list()")]
    assert "unexpected shape" in rows[0][3]
    # The Dagster UI of that DAGSTER_HOME shows the CLI's materializations.
    with DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(AssetKey("inventory_failures"))
        assert event is not None and event.dagster_event.partition == "2026-11-01"
        month = instance.get_latest_materialization_event(AssetKey("published_month"))
        assert month is not None and month.dagster_event.partition == DEFAULT_END_MONTH.isoformat()
