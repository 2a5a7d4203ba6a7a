"""The deployable code location: configuration from finops.yaml and FINOPS_* variables, `dagster
definitions validate`, `make dev` on a fresh copy of the repository, the sample deploy/dagster.yaml (`dagster
definitions validate` is tests/test_cli.py's).

The materialization test points a finops.yaml at folders that are not the demo's (exports in a
"landing" folder, a snapshot store of dated captures in an "evidence" folder, the outputs
elsewhere) and runs the code location's own jobs, loaded the way Dagster loads them: no code is
changed and no resource is built by the test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import DagsterInstance, EnvVar

from dagster_project import definitions as location
from dagster_project.config import ConfigError
from dagster_project.inventory.snapshot_paths import SnapshotInfo, read_snapshot_info

REPO = Path(__file__).resolve().parents[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FINOPS_", "DAGSTER_"))}
    return {**env, **extra}


# ------------------------------------------------------------------ configuration ----------------
def test_nothing_configured_is_the_demo_and_variables_win_over_the_file(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./finops.yaml here
    demo = location.deployment_resources({})
    assert demo["cost_exports"].root == location.DEMO_EXPORTS
    assert demo["inventory"].snapshot_dir == location.DEMO_INVENTORY
    assert demo["warehouse"].out_dir == "reports" and demo["finops_config"].path is None

    (tmp_path / "finops.yaml").write_text(yaml.safe_dump({"sources": {
        "exports": {"kind": "local", "path": "landing/exports"},
        "snapshots": {"kind": "local", "path": "evidence", "retention_days": 30,
                      "scopes": ["/subscriptions/0000"], "workspaces": ["mlw-a"]}}}))
    from_file = location.deployment_resources({})
    assert from_file["cost_exports"].root == "landing/exports"
    inventory = from_file["inventory"]
    assert (inventory.mode, inventory.store_path, inventory.retention_days, inventory.scopes, inventory.workspaces) == (
        "store", "evidence", 30, ["/subscriptions/0000"], ["mlw-a"])
    assert from_file["finops_config"].path == "finops.yaml"

    env = {"FINOPS_EXPORTS": "https://acct.blob.core.windows.net/exports/focus",
           "FINOPS_SNAPSHOT_STORE": "https://acct.blob.core.windows.net/evidence/aml",
           "FINOPS_OUT_DIR": "/srv/finops"}
    resources = location.deployment_resources(env)
    exports, inventory = resources["cost_exports"], resources["inventory"]
    assert (exports.kind, exports.account_url, exports.container, exports.root_path) == (
        "blob", "https://acct.blob.core.windows.net", "exports", "focus")
    assert (inventory.account_url, inventory.container, inventory.root_path, inventory.retention_days) == (
        "https://acct.blob.core.windows.net", "evidence", "aml", 30)  # the file's capture settings stay
    assert isinstance(resources["warehouse"].out_dir, EnvVar)  # resolved by Dagster when a run starts
    local = location.deployment_resources({"FINOPS_SNAPSHOT_STORE": "/srv/evidence", "FINOPS_INVENTORY": "/audit/s"})
    assert isinstance(local["inventory"].snapshot_dir, EnvVar)  # a folder to replay wins over the store

    with pytest.raises(ConfigError, match=r"FINOPS_SNAPSHOT_STORE: .*no SAS"):
        location.deployment_resources({"FINOPS_SNAPSHOT_STORE": "https://acct.blob.core.windows.net/e?sig=x"})
    with pytest.raises(ConfigError, match=r"missing.yaml: configuration file not found \(named by \$FINOPS_CONFIG\)"):
        location.deployment_resources({"FINOPS_CONFIG": str(tmp_path / "missing.yaml")})
    (tmp_path / "bad.yaml").write_text("sources:\n  snapshots:\n    kind: blob\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: sources.snapshots: kind 'blob' needs account_url, container"):
        location.deployment_resources({"FINOPS_CONFIG": str(tmp_path / "bad.yaml")})


def _plant_capture(store: Path, source: Path) -> str:
    info = read_snapshot_info(source)
    name = info.captured_at.strftime("%Y-%m-%dT%H%M%SZ")
    shutil.copytree(source, store / name)
    return name


def test_a_finops_yaml_pointing_at_other_folders_runs_the_inventory_day_and_a_month(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_project.demo.generate import DEFAULT_END_MONTH, generate_demo

    tenant = generate_demo(tmp_path / "generated", seed=7, months=1)
    landing = tmp_path / "landing" / "exports"
    shutil.copytree(tenant.exports, landing)
    store = tmp_path / "evidence" / "snapshots"
    capture = _plant_capture(store, tenant.inventory)
    shutil.rmtree(tmp_path / "generated")  # nothing may be read from where the demo was written
    config = tmp_path / "etc" / "finops.yaml"
    config.parent.mkdir()
    config.write_text(yaml.safe_dump({"sources": {
        "exports": {"kind": "local", "path": str(landing)},
        "snapshots": {"kind": "local", "path": str(store), "scopes": read_snapshot_info(store / capture).scopes}}}))
    out = tmp_path / "published"
    for name, value in {"FINOPS_CONFIG": str(config), "FINOPS_OUT_DIR": str(out)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path / "etc")

    defs = location.defs()  # exactly what the code location runs
    day = capture[:10]
    with DagsterInstance.ephemeral() as instance:
        inventory = defs.resolve_job_def("inventory_job").execute_in_process(partition_key=day, instance=instance)
        assert inventory.success
        meta = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in inventory.get_asset_materialization_events()}
        assert meta["inventory_computes"]["mode"].value == "replayed from the store"
        assert meta["inventory_computes"]["capture"].value == capture
        month = defs.resolve_job_def("monthly_job").execute_in_process(partition_key=DEFAULT_END_MONTH.isoformat(),
                                                                   instance=instance)
        assert month.success
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM inventory_computes").fetchall()[0][0] > 0
        assert con.sql("SELECT count(*) FROM inventory_failures").fetchall()[0][0] == 0
        captured = con.sql("SELECT DISTINCT captured_at FROM inventory_workspaces").fetchall()
        assert [row[0].astimezone(UTC) for row in captured] == [read_snapshot_info(store / capture).captured_at]
        lines = con.sql("SELECT count(*) FROM cost_line_items WHERE billing_month = $m",
                        params={"m": DEFAULT_END_MONTH}).fetchall()[0][0]
        assert lines > 0
    assert (out / "reports" / f"{DEFAULT_END_MONTH:%Y-%m}" / "finance").is_dir()


def test_a_past_day_without_a_capture_fails_naming_the_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    store.mkdir()
    config = tmp_path / "finops.yaml"
    config.write_text(yaml.safe_dump({"sources": {"snapshots": {"kind": "local", "path": str(store),
                                                                "scopes": ["/subscriptions/0000"]}}}))
    monkeypatch.setenv("FINOPS_CONFIG", str(config))
    monkeypatch.setenv("FINOPS_OUT_DIR", str(tmp_path / "out"))
    with DagsterInstance.ephemeral() as instance:
        result = location.defs().resolve_job_def("inventory_job").execute_in_process(
            partition_key="2026-11-24", instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no capture of 2026-11-24" in str(failure.event_specific_data.error)


# ------------------------------------------------------------------ dagster, make dev ----------
def test_the_sample_dagster_yaml_is_a_valid_instance_configuration(tmp_path: Path) -> None:
    from dagster._core.instance.config import dagster_instance_config

    shutil.copy(REPO / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    env = {name: "x" for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        config, _ = dagster_instance_config(str(tmp_path))
    assert config["telemetry"] == {"enabled": False}
    assert config["run_coordinator"]["config"]["max_concurrent_runs"] == 1  # one DuckDB writer
    assert "password" not in json.dumps(yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["storage"]).replace(
        '"password": {"env": "DAGSTER_PG_PASSWORD"}', "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str) -> dict | None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    try:
        with opener.open(request, timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name " \
            "locationOrLoadError { __typename ... on PythonError { message } } } } } }"


def test_make_dev_serves_the_ui_on_a_fresh_copy(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("make dev needs make (and git to list the repository's files): apt-get install make git")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                            text=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the fresh copy is made from `git ls-files`")
    clone = tmp_path / "clone"
    for name in listed.stdout.splitlines():
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    assert not (clone / ".dagster_home").exists()
    port = _free_port()
    # STAMP= skips the install step: this test's virtualenv already has the project installed.
    process = subprocess.Popen(["make", "dev", f"VENV={sys.prefix}", "STAMP=", "HOST=127.0.0.1", f"PORT={port}"],
                               cwd=clone, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline, loaded = time.monotonic() + 240, None
        while time.monotonic() < deadline and process.poll() is None:
            answer = _graphql(port, LOCATIONS)
            entries = (answer or {}).get("data", {}).get("workspaceOrError", {}).get("locationEntries") or []
            if entries and entries[0]["locationOrLoadError"]:
                loaded = entries[0]
                break
            time.sleep(1)
        assert process.poll() is None, process.stdout.read().decode(errors="replace")[-3000:]
        assert loaded is not None, "the GraphQL endpoint did not answer with a loaded code location in time"
        assert loaded["name"] == "aml_finops"
        assert loaded["locationOrLoadError"]["__typename"] == "RepositoryLocation", loaded
        version = _graphql(port, "{ version }")
        assert version and version["data"]["version"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # make, dagster dev, its webserver, daemon and code server
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        process.stdout.close()
    home = clone / ".dagster_home"
    assert yaml.safe_load((home / "dagster.yaml").read_text()) == {"telemetry": {"enabled": False}}


def test_snapshot_info_failures_round_trip(tmp_path: Path) -> None:
    """The capture's own failures are part of snapshot.json only when there are some."""
    from dagster_project.inventory.snapshot_paths import write_snapshot_info

    when = datetime(2026, 11, 24, 6, tzinfo=UTC)
    write_snapshot_info(tmp_path, SnapshotInfo(when, ["/subscriptions/s"], "t"))
    assert "failures" not in json.loads((tmp_path / "snapshot.json").read_text())
    failure = {"scope": "/subscriptions/s", "call": "compute.list()", "error": "HttpResponseError: 403"}
    write_snapshot_info(tmp_path, SnapshotInfo(when, ["/subscriptions/s"], "t", failures=[failure]))
    assert read_snapshot_info(tmp_path).failures == [failure]
    (tmp_path / "snapshot.json").write_text(json.dumps({**json.loads((tmp_path / "snapshot.json").read_text()),
                                                        "failures": [{"scope": 1}]}))
    with pytest.raises(ValueError, match="failures must be a list"):
        read_snapshot_info(tmp_path)


def test_the_cli_replays_the_newest_capture_of_the_configured_store(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    from dagster_project.cli import _synced_store, main
    from dagster_project.config import SnapshotsSource
    from dagster_project.demo.snapshot import write_snapshot
    from dagster_project.demo.tenant import build_tenant
    from dagster_project.resources import given_inventory

    store = tmp_path / "store"
    store.mkdir()
    config = tmp_path / "finops.yaml"
    config.write_text(yaml.safe_dump({"sources": {"exports": {"kind": "local", "path": str(tmp_path)},
                                                  "snapshots": {"kind": "local", "path": str(store)}}}))
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    assert f"no capture in the snapshot store {store}" in capsys.readouterr().err
    source = tmp_path / "snapshot"
    write_snapshot(build_tenant(seed=42), source)
    info = read_snapshot_info(source)
    for days in (8, 1, 15):
        name = (info.captured_at - timedelta(days=days)).strftime("%Y-%m-%dT%H%M%SZ")
        shutil.copytree(source, store / name)
        when = info.captured_at - timedelta(days=days)
        (store / name / "snapshot.json").write_text(json.dumps(SnapshotInfo(when, info.scopes).to_json()))
    synced = _synced_store(SnapshotsSource(kind="local", path=str(store)), tmp_path / "out")
    assert synced == store
    # The run replays the newest capture and judges each month against its own capture of the store.
    resource = given_inventory(synced)
    assert Path(resource.snapshot_dir).name == (info.captured_at - timedelta(days=1)).strftime("%Y-%m-%dT%H%M%SZ")
    assert resource.store_path == str(store) and resource.mode == "replay"
