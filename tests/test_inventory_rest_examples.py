"""Replay the official Azure REST API examples (azure-rest-api-specs, 2025-12-01) through azure-ai-ml.

The examples are read from ../shared/fixtures/external (never copied into the repo). A snapshot is
built in tmp_path exactly as a recorder would: each example's `responses.200.body`, list pages
merged (`nextLink` dropped). Several example values are placeholders (`"id": "string"`, a
`condaFile` of `"string"`); azure-ai-ml rejects those, so the builder fills in real-looking ids and
a YAML conda spec where noted, and one test keeps the placeholders to check that a rejected item is
reported without losing the rest.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from azure.ai.ml import MLClient
from cost_support import EXTERNAL

from dagster_project.inventory.replay import ReplayCredential, ReplayTransport
from dagster_project.inventory.snapshot_paths import (
    SnapshotInfo,
    snapshot_file,
    snapshot_relpath,
    write_snapshot_info,
)
from dagster_project.inventory.tables import Inventory, collect_inventory

EXAMPLES = EXTERNAL / "azure-rest-api-specs" / "machinelearningservices" / "2025-12-01" / "examples"

pytestmark = pytest.mark.external

ARM = "https://management.azure.com"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"  # the workspace list example's subscription
WORKSPACE_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/workspace-1234/providers/Microsoft.MachineLearningServices/workspaces/testworkspace"
OTHER_WORKSPACE_ID = WORKSPACE_ID.replace("workspace-1234", "workspace-5678")
CAPTURED_AT = datetime(2026, 11, 1, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def examples() -> Path:
    if not EXAMPLES.is_dir():
        pytest.skip(f"external REST examples not available at {EXAMPLES} (clone ../shared beside the repo)")
    return EXAMPLES


def _body(examples: Path, name: str) -> dict[str, Any]:
    document = json.loads((examples / name).read_text(encoding="utf-8"))
    return copy.deepcopy(document["responses"]["200"]["body"])


def _merged(*pages: dict[str, Any]) -> dict[str, Any]:
    """What the recorder stores for a list: every page's values, no nextLink."""
    return {"value": [item for page in pages for item in page["value"]]}


def _put(root: Path, url: str, body: dict[str, Any]) -> None:
    target = snapshot_file(root, "GET", url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(body), encoding="utf-8")


def _with_ids(page: dict[str, Any], collection_id: str, names: list[str]) -> dict[str, Any]:
    """Fill the examples' placeholder ids/names ("string") with ARM ids under `collection_id`."""
    for item, name in zip(page["value"], names, strict=True):
        item["id"] = f"{collection_id}/{name}"
        item["name"] = name
    return page


def build_snapshot(examples: Path, root: Path, *, fix_placeholders: bool = True) -> None:
    """Write the example bodies at the paths the listing requests for workspace-1234/testworkspace.

    workspace-5678/testworkspace (also in the list example) deliberately gets no files.
    """
    base = f"{ARM}{WORKSPACE_ID}"
    _put(root, f"{ARM}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/workspaces",
         _merged(_body(examples, "Workspace/listBySubscription.json")))
    _put(root, f"{base}/computes", {"value": [
        _body(examples, "Compute/get/ComputeInstance.json"),
        {**_body(examples, "Compute/get/AmlCompute.json"), "name": "cluster123",
         "id": _body(examples, "Compute/get/AmlCompute.json")["id"].replace("compute123", "cluster123")},
    ]})

    # Containers: the specs hold no container-list example, so these are the minimal bodies the
    # service returns, naming the container the version examples were requested for ("string").
    for plural in ("models", "environments", "data"):
        _put(root, f"{base}/{plural}?listViewType=All",
             {"value": [{"id": f"{WORKSPACE_ID}/{plural}/string", "name": "string", "properties": {}}]})

    models = _merged(_body(examples, "Workspace/ModelVersion/list.json"))
    environments = _merged(_body(examples, "Workspace/EnvironmentVersion/list.json"))
    data = _merged(_body(examples, "Workspace/DataVersionBase/list.json"))
    if fix_placeholders:
        _with_ids(models, f"{WORKSPACE_ID}/models/string/versions", ["3"])
        models["value"][0]["properties"]["modelUri"] = "azureml://datastores/workspaceblobstore/paths/models/m/3/"
        _with_ids(environments, f"{WORKSPACE_ID}/environments/string/versions", ["2"])
        environments["value"][0]["properties"]["condaFile"] = "name: example\nchannels:\n- conda-forge\ndependencies:\n- python=3.10\n"
        _with_ids(data, f"{WORKSPACE_ID}/data/string/versions", ["1"])
    _put(root, f"{base}/models/string/versions?listViewType=All", models)
    _put(root, f"{base}/environments/string/versions?listViewType=All", environments)
    _put(root, f"{base}/data/string/versions?listViewType=All", data)

    endpoints = _with_ids(_merged(_body(examples, "Workspace/OnlineEndpoint/list.json")),
                          f"{WORKSPACE_ID}/onlineEndpoints", ["testEndpointName"])
    _put(root, f"{base}/onlineEndpoints", endpoints)
    deployments = _merged(_body(examples, "OnlineDeployment/list.json"),
                          {"value": [_body(examples, "OnlineDeployment/ManagedOnlineDeployment/get.json")]})
    # The endpoint example routes {"string": 1}: the managed deployment keeps the name "string".
    _with_ids(deployments, f"{WORKSPACE_ID}/onlineEndpoints/testEndpointName/deployments", ["k8s-deployment", "string"])
    _put(root, f"{base}/onlineEndpoints/testEndpointName/deployments", deployments)

    jobs = _with_ids(_merged(_body(examples, "Job/CommandJob/list.json"), _body(examples, "Job/PipelineJob/list.json")),
                     f"{WORKSPACE_ID}/jobs", ["command-job", "pipeline-job"])
    if fix_placeholders:
        # azure-ai-ml resolves codeId as an ARM id; the placeholder "string" makes it give up.
        jobs["value"][0]["properties"]["codeId"] = f"{WORKSPACE_ID}/codes/train-code/versions/1"
    _put(root, f"{base}/jobs?listViewType=All", jobs)
    write_snapshot_info(root, SnapshotInfo(CAPTURED_AT, [f"/subscriptions/{SUBSCRIPTION}"], "rest-examples"))


def _replay(root: Path) -> Inventory:
    # The specs have no run-history example, so job timing is not replayed here.
    return collect_inventory(ReplayCredential(), [f"/subscriptions/{SUBSCRIPTION}"], ReplayTransport(root),
                             captured_at=CAPTURED_AT, include_run_history=False)


@pytest.fixture(scope="module")
def inventory(examples: Path, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    root = tmp_path_factory.mktemp("rest-examples")
    build_snapshot(examples, root)
    return _replay(root)


def test_workspace_list_and_the_unrecorded_workspace_is_a_named_failure(inventory: Inventory) -> None:
    rows = {row["workspace_id"]: row for row in inventory.workspaces.iter_rows(named=True)}
    assert set(rows) == {WORKSPACE_ID.lower(), OTHER_WORKSPACE_ID.lower()}
    row = rows[WORKSPACE_ID.lower()]
    assert row["workspace_id_original"] == WORKSPACE_ID
    assert (row["resource_group"], row["workspace_name"], row["location"]) == ("workspace-1234", "testworkspace", "eastus2euap")
    assert row["storage_account_id"] == (f"/subscriptions/{SUBSCRIPTION}/resourcegroups/accountcrud-1234/providers/"
                                         "microsoft.storage/storageaccounts/teststorageaccount")
    assert row["container_registry_id"].endswith("/microsoft.containerregistry/registries/testregistry")
    assert row["key_vault_id"].endswith("/microsoft.keyvault/vaults/testkv")
    assert row["application_insights_id"].endswith("/microsoft.insights/components/testinsights")
    assert rows[OTHER_WORKSPACE_ID.lower()]["storage_account_id"].endswith("/teststorageaccountold")
    # Nothing was recorded inside workspace-5678: each of its calls is a failure naming it.
    other = {f.call for f in inventory.failures if f.scope == OTHER_WORKSPACE_ID}
    assert other == {"compute.list()", "models.list(list_view_type=ALL)", "environments.list(list_view_type=ALL)",
                     "data.list(list_view_type=ALL)", "online_endpoints.list()", "jobs.list(list_view_type=ALL)"}
    # The specs hold no resource-group or subscription example, so this snapshot is like one
    # recorded before those were listed: empty tables and one named failure per missing call.
    outside = [f for f in inventory.failures if f.scope != OTHER_WORKSPACE_ID]
    assert {(f.scope, f.call) for f in outside} == {
        (f"/subscriptions/{SUBSCRIPTION}", "resource_groups.list()"),
        (f"/subscriptions/{SUBSCRIPTION}", f"subscriptions.get({SUBSCRIPTION!r})"),
    }
    assert all("SnapshotRequestNotRecorded" in f.error for f in outside)
    assert inventory.resource_groups.is_empty() and inventory.subscriptions.is_empty()


def test_compute_instance_and_aml_compute_details(inventory: Inventory) -> None:
    rows = {row["compute_name"]: row for row in inventory.computes.iter_rows(named=True)}
    instance, cluster = rows["compute123"], rows["cluster123"]
    assert instance["compute_type"] == "ComputeInstance"
    assert instance["state"] == "Running"
    assert instance["vm_size"] == "STANDARD_NC6"
    assert instance["provisioning_state"] == "Succeeded"
    assert instance["created_on"] == datetime(2021, 4, 1, 22, 0, tzinfo=UTC)
    assert instance["created_by"] == "foobar@microsoft.com"
    assert instance["assigned_user_object_id"] == "00000000-0000-0000-0000-000000000000"
    assert instance["idle_shutdown"] is None and instance["stop_schedule_enabled"] is False
    assert instance["workspace_id"] == WORKSPACE_ID.lower()
    assert cluster["compute_type"] == "AmlCompute"
    assert (cluster["state"], cluster["vm_priority"]) == ("Resizing", "Dedicated")
    assert (cluster["min_nodes"], cluster["max_nodes"], cluster["idle_seconds_before_scaledown"]) == (0, 1, 300)
    assert (cluster["current_nodes"], cluster["idle_nodes"]) == (0, 0)


def test_model_environment_and_data_versions(inventory: Inventory) -> None:
    rows = {row["kind"]: row for row in inventory.asset_versions.iter_rows(named=True)}
    assert set(rows) == {"model", "environment", "data"}
    model, environment, data = rows["model"], rows["environment"], rows["data"]
    assert (model["name"], model["version"]) == ("string", "3")
    assert model["asset_id"] == f"{WORKSPACE_ID}/models/string/versions/3".lower()
    assert model["path"] == "azureml://datastores/workspaceblobstore/paths/models/m/3/"
    assert model["created_on"] == datetime(2020, 1, 1, 12, 34, 56, 999000, tzinfo=UTC)
    assert model["created_by"] == "string" and model["is_archived"] is False
    assert json.loads(model["tags"]) == {"string": "string"}
    assert environment["image"] == "docker.io/tensorflow/serving:latest"
    assert json.loads(environment["conda_file"]) == {"name": "example", "channels": ["conda-forge"],
                                                     "dependencies": ["python=3.10"]}
    assert data["path"] == "string" and data["version"] == "1"


def test_endpoints_and_deployments(inventory: Inventory) -> None:
    (endpoint,) = inventory.endpoints.iter_rows(named=True)
    assert endpoint["endpoint_name"] == "testEndpointName"
    assert (endpoint["auth_mode"], endpoint["provisioning_state"]) == ("AMLToken", "Creating")
    assert json.loads(endpoint["traffic"]) == {"string": 1}
    rows = {row["deployment_name"]: row for row in inventory.deployments.iter_rows(named=True)}
    assert set(rows) == {"k8s-deployment", "string"}
    managed = rows["string"]
    assert managed["deployment_id"] == f"{WORKSPACE_ID}/onlineEndpoints/testEndpointName/deployments/string".lower()
    assert managed["endpoint_id"] == f"{WORKSPACE_ID}/onlineEndpoints/testEndpointName".lower()
    assert (managed["traffic_pct"], managed["mirror_traffic_pct"]) == (1, 0)
    assert (managed["provisioning_state"], managed["scale_type"]) == ("Creating", "Default")
    assert managed["instance_count"] == 1  # sku.capacity
    k8s = rows["k8s-deployment"]
    assert (k8s["traffic_pct"], k8s["instance_type"], k8s["model"], k8s["environment"]) == (0, "string", "string", "string")


def test_command_and_pipeline_jobs(inventory: Inventory) -> None:
    rows = {row["job_name"]: row for row in inventory.jobs.iter_rows(named=True)}
    assert set(rows) == {"command-job", "pipeline-job"}
    command = rows["command-job"]
    assert (command["job_type"], command["status"]) == ("Command", "NotStarted")
    # The example's computeId is a bare name: it names a compute of this workspace.
    assert command["compute_name"] == "string"
    assert command["compute_id"] == f"{WORKSPACE_ID}/computes/string".lower()
    assert command["created_on"] == datetime(2020, 1, 1, 12, 34, 56, 999000, tzinfo=UTC)
    assert command["start_time"] is None and command["end_time"] is None
    assert rows["pipeline-job"]["job_type"] == "Pipeline"


def test_placeholder_items_the_sdk_rejects_are_reported_and_the_rest_survives(examples: Path, tmp_path: Path) -> None:
    build_snapshot(examples, tmp_path, fix_placeholders=False)
    inventory = _replay(tmp_path)
    calls = {f.call for f in inventory.failures if f.scope == WORKSPACE_ID}
    # azure-ai-ml cannot build a versioned asset from the id "string".
    assert "models.list(name='string', list_view_type=ALL)" in calls
    assert "environments.list(name='string', list_view_type=ALL)" in calls
    assert inventory.asset_versions.height == 0
    # The command job's placeholder codeId stops the SDK's entity, but the row needs only the REST model.
    (job_failure,) = [f for f in inventory.failures if f.call == "jobs.list(list_view_type=ALL)" and f.scope == WORKSPACE_ID]
    assert "command-job kept from its REST model" in job_failure.error
    assert inventory.computes.height == 2 and inventory.deployments.height == 2 and inventory.jobs.height == 2


class _RecordedPagesTransport(ReplayTransport):
    """Replays a recording that kept its pages apart: page 1 as recorded (with its nextLink),
    page 2 served when the SDK follows that link. Test-only; the public format merges pages."""

    def __init__(self, root: Path, pages: dict[PurePosixPath, list[bytes]]) -> None:
        super().__init__(root)
        self.pages = pages
        self.urls: list[str] = []

    def load_body(self, relpath: PurePosixPath, method: str, url: str) -> bytes:
        self.urls.append(url)
        if relpath in self.pages:
            return self.pages[relpath][1 if "$skip=" in url else 0]
        return super().load_body(relpath, method, url)


def test_next_link_with_another_api_version_is_followed(examples: Path, tmp_path: Path) -> None:
    first = _body(examples, "Compute/list.json")  # two AKS computes and a nextLink (api-version=2025-07-01-preview)
    assert "api-version=2025-07-01-preview" in first["nextLink"]
    second = {"value": [_body(examples, "Compute/get/ComputeInstance.json"),
                        {**_body(examples, "Compute/get/AmlCompute.json"), "name": "cluster123"}]}
    url = first["nextLink"].split("?")[0]
    relpath = snapshot_relpath("GET", url)
    transport = _RecordedPagesTransport(tmp_path, {relpath: [json.dumps(first).encode(), json.dumps(second).encode()]})
    client = MLClient(ReplayCredential(), "34adfa4f-cedf-4dc0-ba29-b6d1a69ab345", "testrg123", "workspaces123",
                      transport=transport, enable_telemetry=False, show_progress=False, cloud="AzureCloud")
    names = [compute.name for compute in client.compute.list()]
    assert names == ["compute123", "compute1234", "compute123", "cluster123"]
    assert len(transport.urls) == 2 and "$skip=2" in transport.urls[1]
    # The follow-up page maps to the same snapshot file: api-version and $skip are not part of it.
    assert {snapshot_relpath("GET", u) for u in transport.urls} == {relpath}
