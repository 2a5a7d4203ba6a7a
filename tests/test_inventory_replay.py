"""Replay the demo tenant's snapshot through azure-ai-ml and check every entity comes back right."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import polars as pl
import pytest
from azure.ai.ml import MLClient

from dagster_project.demo.snapshot import write_snapshot
from dagster_project.demo.tenant import Tenant, build_tenant
from dagster_project.inventory.listing import ListingFailure
from dagster_project.inventory.replay import (
    ReplayCredential,
    ReplayTransport,
    SnapshotFormatError,
    SnapshotRequestNotRecorded,
)
from dagster_project.inventory.snapshot_paths import (
    SnapshotInfo,
    read_snapshot_info,
    snapshot_relpath,
    write_snapshot_info,
)
from dagster_project.inventory.tables import (
    TABLE_SCHEMAS,
    Inventory,
    enum_text,
    load_inventory,
    utc_time,
)

ARM = "https://management.azure.com"


def _by(frame: pl.DataFrame, key: str) -> dict[str, dict]:
    return {row[key]: row for row in frame.iter_rows(named=True)}


# ---------------------------------------------------------------------------------------------
# snapshot_paths
# ---------------------------------------------------------------------------------------------

def test_snapshot_relpath_drops_host_api_version_and_paging_tokens_and_lowercases() -> None:
    url = (f"{ARM}/subscriptions/ABC/resourceGroups/RG-Fraud/providers/Microsoft.MachineLearningServices"
           "/workspaces/MLW/computes?api-version=2023-08-01-preview&$skipToken=XyZ&$skip=2")
    assert snapshot_relpath("GET", url) == PurePosixPath(
        "subscriptions/abc/resourcegroups/rg-fraud/providers/microsoft.machinelearningservices/workspaces/mlw/computes.json"
    )
    # skipToken without `$` is a paging token too.
    assert snapshot_relpath("GET", f"{ARM}/a/B?skipToken=1&api-version=x") == PurePosixPath("a/b.json")


def test_snapshot_relpath_keeps_other_query_params_sorted_and_lowercased() -> None:
    url = f"{ARM}/subs/WS/Models/M/versions?listViewType=All&api-version=2023&$orderBy=CreatedAt%20desc&Tag=Team"
    assert str(snapshot_relpath("GET", url)) == "subs/ws/models/m/versions@$orderby=createdat desc&listviewtype=all&tag=team.json"
    # The same request with the params in another order maps to the same file.
    other = f"{ARM}/subs/WS/Models/M/versions?Tag=Team&$orderBy=CreatedAt%20desc&listViewType=All"
    assert snapshot_relpath("GET", other) == snapshot_relpath("GET", url)
    # Characters that would break the name stay encoded.
    assert str(snapshot_relpath("GET", f"{ARM}/x?filter=a%2Fb%26c")) == "x@filter=a%2Fb%26c.json"


def test_snapshot_relpath_post_action_and_data_plane_and_rejections() -> None:
    node_url = f"{ARM}/subscriptions/S/resourceGroups/R/providers/Microsoft.MachineLearningServices/workspaces/W/computes/C/listNodes?api-version=1"
    assert str(snapshot_relpath("POST", node_url)).endswith("/computes/c/listnodes.json")
    history = "https://EastUS2.api.azureml.ms/history/v1.0/subscriptions/S/resourceGroups/R/providers/Microsoft.MachineLearningServices/workspaces/W/runs/Job-1"
    assert str(snapshot_relpath("GET", history)) == (
        "history/v1.0/subscriptions/s/resourcegroups/r/providers/microsoft.machinelearningservices/workspaces/w/runs/job-1.json"
    )
    with pytest.raises(ValueError, match="read requests"):
        snapshot_relpath("PUT", node_url)
    with pytest.raises(ValueError, match="cannot name a snapshot file"):
        snapshot_relpath("GET", f"{ARM}/subscriptions/%2E%2E/x")
    with pytest.raises(ValueError, match="no path"):
        snapshot_relpath("GET", f"{ARM}/?api-version=1")


def test_snapshot_info_roundtrip_and_clear_errors(tmp_path: Path) -> None:
    info = SnapshotInfo(datetime(2026, 11, 1, 6, tzinfo=UTC), ["/subscriptions/x"], "t/1")
    write_snapshot_info(tmp_path, info)
    assert json.loads((tmp_path / "snapshot.json").read_text())["captured_at"] == "2026-11-01T06:00:00Z"
    assert read_snapshot_info(tmp_path) == info

    missing = tmp_path / "nothing"
    with pytest.raises(ValueError, match=r"nothing/snapshot\.json: missing"):
        read_snapshot_info(missing)
    (tmp_path / "snapshot.json").write_text('{"format": "aml-finops-snapshot/1", "captured_at": "2026-11-01T06:00:00"}')
    with pytest.raises(ValueError, match="snapshot.json: captured_at .* has no UTC offset"):
        read_snapshot_info(tmp_path)
    (tmp_path / "snapshot.json").write_text('{"format": "other/2", "captured_at": "2026-11-01T06:00:00Z"}')
    with pytest.raises(ValueError, match="format is 'other/2'"):
        read_snapshot_info(tmp_path)
    (tmp_path / "snapshot.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_snapshot_info(tmp_path)


# ---------------------------------------------------------------------------------------------
# Demo snapshot → tables
# ---------------------------------------------------------------------------------------------

def test_demo_snapshot_is_deterministic(demo_tenant: Tenant, demo_snapshot_dir: Path, tmp_path: Path) -> None:
    write_snapshot(build_tenant(seed=42), tmp_path)

    def digest(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*.json"))}

    assert digest(tmp_path) == digest(demo_snapshot_dir)
    assert read_snapshot_info(demo_snapshot_dir).captured_at == demo_tenant.captured_at


def test_replay_has_no_failures_and_fixed_schemas(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    assert demo_snapshot_inventory.failures == []
    assert demo_snapshot_inventory.captured_at == demo_tenant.captured_at
    for name, frame in demo_snapshot_inventory.tables().items():
        assert frame.schema == TABLE_SCHEMAS[name], name
        for column, dtype in frame.schema.items():
            if isinstance(dtype, pl.Datetime):
                assert dtype.time_zone == "UTC", (name, column)
        assert (frame["captured_at"] == demo_tenant.captured_at).all(), name


def test_workspaces_with_dependencies_and_messy_tags(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    rows = _by(demo_snapshot_inventory.workspaces, "workspace_id")
    assert set(rows) == {w.id.lower() for w in demo_tenant.workspaces}
    for workspace in demo_tenant.workspaces:
        row = rows[workspace.id.lower()]
        assert row["workspace_id_original"] == workspace.id
        assert row["workspace_name"] == workspace.name
        assert row["resource_group"] == workspace.resource_group.lower()
        assert row["subscription_id"] == workspace.subscription_id
        assert row["location"] == workspace.location
        listed = workspace.listed_dependencies()  # a Foundry project: its hub's, or none
        assert row["storage_account_id"] == (listed["storageAccount"].lower() if listed["storageAccount"] else None)
        assert row["container_registry_id"] == (listed["containerRegistry"].lower() if listed["containerRegistry"] else None)
        assert row["key_vault_id"] == (listed["keyVault"].lower() if listed["keyVault"] else None)
        assert row["application_insights_id"] == (listed["applicationInsights"].lower() if listed["applicationInsights"] else None)
        assert json.loads(row["tags"]) == workspace.tags
        assert row["created_on"] == workspace.created_on
        # Contract 1.2: the workspace's kind and, for a project, its hub.
        assert row["workspace_kind"] == workspace.kind
        assert row["hub_workspace_id"] == (workspace.hub.id.lower() if workspace.hub else None)
    kinds = {w.kind for w in demo_tenant.workspaces}
    assert {"Default", "Hub", "Project"} <= kinds
    project_rows = [r for r in rows.values() if r["workspace_kind"] == "Project"]
    assert any(r["storage_account_id"] is None for r in project_rows), "one project lists no dependency"
    assert json.loads(rows[demo_tenant.workspace("mlw-vision-dev").id.lower()]["tags"])[" project"] == "vision-qa "


def test_compute_instances(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    rows = _by(demo_snapshot_inventory.computes, "compute_id")
    for ci in demo_tenant.compute_instances:
        row = rows[ci.id.lower()]
        assert row["compute_id_original"] == ci.id
        assert row["workspace_id"] == ci.workspace.id.lower()
        assert row["compute_type"] == "ComputeInstance"
        assert row["vm_size"] == ci.vm_size
        assert row["state"] == ci.state
        assert row["provisioning_state"] == "Succeeded"
        assert row["created_on"] == ci.created_on
        assert row["created_by"] == ci.assigned_user_name
        assert row["last_operation_name"] == ci.last_operation.name
        assert row["last_operation_time"] == ci.last_operation.time
        assert row["last_operation_status"] == ci.last_operation.status
        assert row["idle_shutdown"] == ci.idle_shutdown
        expected_minutes = int(ci.idle_shutdown[2:-1]) if ci.idle_shutdown else None
        assert row["idle_shutdown_minutes"] == expected_minutes
        assert row["stop_schedule_enabled"] is ci.stop_schedule_enabled, ci.name
        assert row["assigned_user_object_id"] == ci.assigned_user_object_id
        assert json.loads(row["tags"]) == ci.tags
        assert row["min_nodes"] is None and row["current_nodes"] is None


def test_clusters_keep_the_node_counts_the_entities_drop(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    rows = _by(demo_snapshot_inventory.computes, "compute_id")
    assert len(rows) == len(demo_tenant.compute_instances) + len(demo_tenant.clusters)
    for cluster in demo_tenant.clusters:
        row = rows[cluster.id.lower()]
        assert row["compute_type"] == "AmlCompute"
        assert row["state"] == "Steady"
        assert row["vm_size"] == cluster.vm_size
        assert row["vm_priority"] == cluster.vm_priority
        assert row["min_nodes"] == cluster.min_nodes
        assert row["max_nodes"] == cluster.max_nodes
        assert row["idle_seconds_before_scaledown"] == cluster.idle_seconds_before_scaledown
        assert row["current_nodes"] == cluster.current_nodes
        assert row["idle_nodes"] == cluster.idle_nodes
        assert row["created_on"] == cluster.created_on
        assert json.loads(row["tags"]) == cluster.tags
    warm = rows[next(c for c in demo_tenant.clusters if c.name == "gpu-cluster-warm").id.lower()]
    assert (warm["min_nodes"], warm["current_nodes"], warm["idle_nodes"]) == (1, 1, 1)


def test_enum_values_use_the_service_spelling(demo_snapshot_inventory: Inventory) -> None:
    for frame, column in [(demo_snapshot_inventory.computes, "state"), (demo_snapshot_inventory.computes, "provisioning_state"),
                          (demo_snapshot_inventory.computes, "last_operation_name"), (demo_snapshot_inventory.deployments, "provisioning_state"),
                          (demo_snapshot_inventory.endpoints, "auth_mode"), (demo_snapshot_inventory.jobs, "status")]:
        values = [v for v in frame[column].to_list() if v is not None]
        assert values, column
        assert not any("." in v or v.isupper() for v in values), (column, values)
    assert set(demo_snapshot_inventory.computes["state"].drop_nulls()) == {"Running", "Stopped", "Steady"}
    assert enum_text("ComputeInstanceState.RUNNING") == "Running"
    assert enum_text("VmPriority.LOW_PRIORITY") == "LowPriority"
    assert enum_text("SomethingUnknown.JOB_RUNNING") == "JobRunning"


def test_every_asset_version_including_archived(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    frame = demo_snapshot_inventory.asset_versions
    assert frame.height == len(demo_tenant.asset_versions)
    rows = _by(frame, "asset_id")
    for version in demo_tenant.asset_versions:
        row = rows[version.id.lower()]
        assert row["asset_id_original"] == version.id
        assert (row["kind"], row["name"], row["version"]) == (version.kind, version.name, version.version)
        assert row["workspace_id"] == version.workspace.id.lower()
        assert row["is_archived"] is version.is_archived
        assert row["created_on"] == version.created_on
        assert row["created_by"] == version.created_by
        assert row["path"] == version.path
        assert row["image"] == version.image
        if version.conda_file is None:
            assert row["conda_file"] is None
        else:
            assert json.loads(row["conda_file"]) == version.conda_file
            # Key order as the author wrote it (duplicate detection must canonicalize, not us).
            assert list(json.loads(row["conda_file"])) == list(version.conda_file)
    archived = {(r["name"], r["version"]) for r in frame.filter(pl.col("is_archived")).iter_rows(named=True)}
    assert archived == {(v.name, v.version) for v in demo_tenant.asset_versions if v.is_archived}
    assert ("fraud-xgb", "1") in archived


def test_endpoints_and_deployments_with_traffic(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    endpoints = _by(demo_snapshot_inventory.endpoints, "endpoint_id")
    deployments = _by(demo_snapshot_inventory.deployments, "deployment_id")
    assert set(endpoints) == {e.id.lower() for e in demo_tenant.endpoints}
    assert len(deployments) == sum(len(e.deployments) for e in demo_tenant.endpoints)
    for endpoint in demo_tenant.endpoints:
        row = endpoints[endpoint.id.lower()]
        assert row["endpoint_name"] == endpoint.name
        assert json.loads(row["traffic"]) == endpoint.traffic
        assert json.loads(row["mirror_traffic"]) == endpoint.mirror_traffic
        assert json.loads(row["tags"]) == endpoint.tags
        assert row["auth_mode"] == "Key" and row["provisioning_state"] == "Succeeded"
        assert row["created_on"] == endpoint.created_on
        for deployment in endpoint.deployments:
            dep = deployments[f"{endpoint.id}/deployments/{deployment.name}".lower()]
            assert dep["endpoint_id"] == endpoint.id.lower()
            assert dep["endpoint_name"] == endpoint.name and dep["deployment_name"] == deployment.name
            assert dep["instance_type"] == deployment.instance_type
            assert dep["instance_count"] == deployment.instance_count
            assert dep["provisioning_state"] == deployment.provisioning_state
            assert dep["model"] == deployment.model
            assert dep["environment"] == deployment.environment
            assert dep["traffic_pct"] == endpoint.traffic.get(deployment.name, 0)
            assert dep["mirror_traffic_pct"] == endpoint.mirror_traffic.get(deployment.name, 0)
            assert dep["scale_type"] == "Default"
            assert dep["created_on"] == deployment.created_on
    canary = deployments[f"{demo_tenant.workspace('mlw-vision-dev').id}/onlineEndpoints/vision-api/deployments/canary".lower()]
    assert (canary["provisioning_state"], canary["traffic_pct"], canary["instance_count"]) == ("Failed", 0, 1)


def test_jobs_with_compute_and_run_history_timing(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    rows = _by(demo_snapshot_inventory.jobs, "job_id")
    assert set(rows) == {j.id.lower() for j in demo_tenant.jobs}
    for job in demo_tenant.jobs:
        row = rows[job.id.lower()]
        assert row["job_name"] == job.name and row["display_name"] == job.display_name
        assert row["experiment_name"] == job.experiment_name
        assert row["job_type"] == "Command"
        assert row["compute_name"] == job.compute_name
        assert row["compute_id"] == f"{job.workspace.id}/computes/{job.compute_name}".lower()
        assert row["status"] == job.status
        assert row["created_on"] == job.created_on
        assert row["start_time"] == job.start_time
        assert row["end_time"] == job.end_time
        assert row["environment"] == job.environment
    # Every job's compute is in the computes table (the join the findings rely on).
    assert set(demo_snapshot_inventory.jobs["compute_id"]) <= set(demo_snapshot_inventory.computes["compute_id"])


# ---------------------------------------------------------------------------------------------
# Failures and the transport
# ---------------------------------------------------------------------------------------------

def test_request_without_recording_names_the_expected_file(demo_snapshot_dir: Path) -> None:
    client = MLClient(ReplayCredential(), "sub-x", "rg-x", "ws-x", transport=ReplayTransport(demo_snapshot_dir),
                      enable_telemetry=False, show_progress=False, cloud="AzureCloud")
    with pytest.raises(SnapshotRequestNotRecorded) as caught:
        list(client.compute.list())
    message = str(caught.value)
    assert "subscriptions/sub-x/resourcegroups/rg-x/providers/microsoft.machinelearningservices/workspaces/ws-x/computes.json" in message
    assert "https://management.azure.com/subscriptions/sub-x/resourceGroups/rg-x" in message
    assert str(demo_snapshot_dir) in message


def test_a_failing_workspace_is_reported_and_the_others_complete(demo_tenant: Tenant, tmp_path: Path) -> None:
    write_snapshot(demo_tenant, tmp_path)
    recs = demo_tenant.workspace("mlw-recs-prod")
    computes_file = tmp_path / str(snapshot_relpath("GET", f"{ARM}{recs.id}/computes"))
    computes_file.unlink()
    versions_file = tmp_path / str(snapshot_relpath("GET", f"{ARM}{recs.id}/models/recs-two-tower/versions?listViewType=All"))
    versions_file.unlink()
    messages: list[str] = []
    demo_snapshot_inventory = load_inventory(tmp_path, progress=messages.append)

    assert {(f.scope, f.call) for f in demo_snapshot_inventory.failures} == {
        (recs.id, "compute.list()"),
        (recs.id, "models.list(name='recs-two-tower', list_view_type=ALL)"),
    }
    assert all(isinstance(f, ListingFailure) and "SnapshotRequestNotRecorded" in f.error for f in demo_snapshot_inventory.failures)
    assert any(str(computes_file) in f.error for f in demo_snapshot_inventory.failures)
    assert any("FAILED" in m and recs.id in m for m in messages)
    # Everything else is still there.
    assert demo_snapshot_inventory.workspaces.height == len(demo_tenant.workspaces)
    assert demo_snapshot_inventory.computes.height == len(demo_tenant.compute_instances) + len(demo_tenant.clusters) - 2
    lost = [v for v in demo_tenant.asset_versions if v.workspace == recs and v.name == "recs-two-tower"]
    assert demo_snapshot_inventory.asset_versions.height == len(demo_tenant.asset_versions) - len(lost)
    assert demo_snapshot_inventory.jobs.height == len(demo_tenant.jobs)


def test_transport_rejects_unmerged_pages_and_writes(tmp_path: Path) -> None:
    target = tmp_path / "subscriptions" / "s" / "things.json"
    target.parent.mkdir(parents=True)
    target.write_text('{"value": [], "nextLink": "https://management.azure.com/subscriptions/s/things?$skip=2"}')
    transport = ReplayTransport(tmp_path)
    from azure.core.rest import HttpRequest

    with pytest.raises(SnapshotFormatError, match="nextLink"):
        transport.send(HttpRequest("GET", f"{ARM}/subscriptions/s/things?api-version=1"))
    with pytest.raises(ValueError, match="read requests"):
        transport.send(HttpRequest("DELETE", f"{ARM}/subscriptions/s/things"))


def test_transport_caches_reads_and_is_shared_across_threads(demo_snapshot_dir: Path, demo_tenant: Tenant) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from azure.core.rest import HttpRequest

    transport = ReplayTransport(demo_snapshot_dir)
    url = f"{ARM}{demo_tenant.workspaces[0].id}/computes?api-version=2023-08-01-preview"
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: transport.send(HttpRequest("GET", url)).read(), range(64)))
    assert len(set(bodies)) == 1 and json.loads(bodies[0])["value"]
    assert transport.requests_served == 64
    assert len(transport._cache) == 1


def test_utc_time_accepts_every_service_spelling() -> None:
    expected = datetime(2021, 4, 1, 22, 0, tzinfo=UTC)
    for text in ["2021-04-01T22:00:00.0000000+00:00", "2021-04-01T22:00:00Z", "2021-04-01T22:00:00.000000+0000",
                 "2021-04-01T22:00:00", "2021-04-02T00:00:00+02:00"]:
        assert utc_time(text) == expected, text
