"""Render the demo tenant as an inventory snapshot: the REST bodies Azure would return.

`write_snapshot` writes, for every request the inventory listing makes, the JSON body the real
service returns (shapes taken from the azure-rest-api-specs 2025-12-01 examples), at the path
`snapshot_relpath` assigns to that request. Replaying the folder through azure-ai-ml
(`dagster_project.inventory.tables.load_inventory`) then yields exactly the tenant's entities.

Bodies deliberately use the service's own spellings and formats, including the inconsistent
ones: compute `createdOn` with seven fractional digits and `+00:00`, `systemData` times with `Z`,
run history with `startTimeUtc`, condaFile as YAML text, model / environment references as ARM
ids. Output is deterministic: stable request order, sorted JSON keys, fixed ids derived from the
tenant's seed.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from dagster_project.demo.tenant import (
    AssetVersion,
    Cluster,
    ComputeInstance,
    Job,
    OnlineEndpoint,
    ResourceGroup,
    Subscription,
    Tenant,
    Workspace,
)
from dagster_project.inventory.snapshot_paths import (
    SnapshotInfo,
    snapshot_relpath,
    write_snapshot_info,
)

ARM = "https://management.azure.com"
TOOL_VERSION = "aml-finops-demo/1"
_ASSET_PLURAL = {"model": "models", "environment": "environments", "data": "data"}


def _ms_time(moment: datetime) -> str:
    """The `createdOn` style of compute resources: 7 fractional digits and an explicit offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def _z_time(moment: datetime) -> str:
    """The `systemData` / run-history style: milliseconds and `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _guid(tenant: Tenant, *parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aml-finops-demo-snapshot/{tenant.seed}/" + "/".join(map(str, parts))))


def _system_data(created_at: datetime, created_by: str, by_type: str = "User") -> dict[str, Any]:
    return {
        "createdAt": _z_time(created_at),
        "createdBy": created_by,
        "createdByType": by_type,
        "lastModifiedAt": _z_time(created_at),
        "lastModifiedBy": created_by,
        "lastModifiedByType": by_type,
    }


def _model_arm_id(workspace: Workspace, reference: str) -> str:
    _, name, version = reference.split(":")
    return f"{workspace.id}/models/{name}/versions/{version}"


def _environment_arm_id(workspace: Workspace, reference: str) -> str:
    _, name, version = reference.split(":")
    return f"{workspace.id}/environments/{name}/versions/{version}"


class _SnapshotWriter:
    """Collects bodies by snapshot path, then writes them in sorted path order."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.bodies: dict[str, Any] = {}

    def put(self, url: str, body: Any, method: str = "GET") -> None:
        relpath = str(snapshot_relpath(method, url))
        # The host is not part of a path, so the discovery documents of two regions share one file.
        # Keep the first: replay drops the host again, so any region's body serves every workspace.
        self.bodies.setdefault(relpath, body)

    def flush(self) -> None:
        for relpath in sorted(self.bodies):
            target = self.out_dir.joinpath(*relpath.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.bodies[relpath], indent=1, sort_keys=True, ensure_ascii=False)
            target.write_text(text + "\n", encoding="utf-8")


def _resource_group_body(group: ResourceGroup) -> dict[str, Any]:
    """A `Resource Groups - List` item (api-version 2025-04-01). ARM omits `tags` when there are none."""
    body: dict[str, Any] = {
        "id": group.id,
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": group.location,
        "properties": {"provisioningState": "Succeeded"},
    }
    if group.tags:
        body["tags"] = dict(group.tags)
    return body


def _subscription_body(tenant: Tenant, subscription: Subscription) -> dict[str, Any]:
    """The `Subscriptions - Get` body (api-version 2022-12-01)."""
    return {
        "id": f"/subscriptions/{subscription.id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": dict(subscription.tags),
        "subscriptionId": subscription.id,
        "tenantId": _guid(tenant, "aad-tenant"),
        "displayName": subscription.name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def _workspace_body(tenant: Tenant, workspace: Workspace) -> dict[str, Any]:
    owner = workspace.tags.get("owner") or workspace.tags.get("Owner") or "platform@contoso.com"
    return {
        "id": workspace.id,
        "name": workspace.name,
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": workspace.location,
        "kind": workspace.kind,
        "tags": dict(workspace.tags),
        "identity": {
            "type": "SystemAssigned",
            "principalId": _guid(tenant, "principal", workspace.name),
            "tenantId": _guid(tenant, "aad-tenant"),
        },
        "sku": {"name": "Basic", "tier": "Basic"},
        "systemData": _system_data(workspace.created_on, owner),
        "properties": {
            "friendlyName": workspace.name,
            "description": "",
            **{key: value for key, value in workspace.listed_dependencies().items() if value},
            **({"hubResourceId": workspace.hub.id} if workspace.hub is not None else {}),
            "discoveryUrl": f"https://{workspace.location}.api.azureml.ms/discovery",
            "mlFlowTrackingUri": f"azureml://{workspace.location}.api.azureml.ms/mlflow/v1.0{workspace.id}",
            "workspaceId": _guid(tenant, "workspace", workspace.name),
            "provisioningState": "Succeeded",
            "hbiWorkspace": False,
            "publicNetworkAccess": "Enabled",
            "v1LegacyMode": False,
        },
    }


def _discovery_body(location: str) -> dict[str, str]:
    base = f"https://{location}.api.azureml.ms"
    return {
        "api": base,
        "catalog": base,
        "experimentation": base,
        "gallery": f"{base}/gallery/v1.0",
        "history": base,
        "hyperdrive": base,
        "labeling": base,
        "modelmanagement": base,
        "pipelines": base,
        "studiometadata": base,
    }


def _compute_instance_body(tenant: Tenant, ci: ComputeInstance) -> dict[str, Any]:
    # Schedules exercise the "any enabled schedule whose action is Stop" rule both ways: an
    # instance with the flag has an enabled Stop; some without it carry a disabled Stop or an
    # enabled Start, which must not count.
    schedules: list[dict[str, Any]] = []
    if ci.stop_schedule_enabled:
        schedules.append(_schedule(tenant, ci, "Stop", "Enabled", "0 19 * * 1-5"))
    elif ci.idle_shutdown is None and ci.state == "Running":
        schedules.append(_schedule(tenant, ci, "Stop", "Disabled", "0 20 * * *"))
        schedules.append(_schedule(tenant, ci, "Start", "Enabled", "0 8 * * 1-5"))
    properties: dict[str, Any] = {
        "vmSize": ci.vm_size,
        "applicationSharingPolicy": "Personal",
        "computeInstanceAuthorizationType": "personal",
        "personalComputeInstanceSettings": {
            "assignedUser": {"objectId": ci.assigned_user_object_id, "tenantId": _guid(tenant, "aad-tenant")}
        },
        "createdBy": {
            "userName": ci.assigned_user_name,
            "userOrgId": _guid(tenant, "aad-tenant"),
            "userId": ci.assigned_user_object_id,
        },
        "sshSettings": {"sshPublicAccess": "Disabled", "adminUserName": "azureuser", "sshPort": 4001},
        "lastOperation": {
            "operationName": ci.last_operation.name,
            "operationTime": _z_time(ci.last_operation.time),
            "operationStatus": ci.last_operation.status,
            "operationTrigger": "User",
        },
        "schedules": {"computeStartStop": schedules},
        "enableNodePublicIp": True,
        "errors": None,
        "state": ci.state,
    }
    if ci.idle_shutdown is not None:
        properties["idleTimeBeforeShutdown"] = ci.idle_shutdown
    return {
        "id": ci.id,
        "name": ci.name,
        "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "location": ci.workspace.location,
        "tags": dict(ci.tags),
        "properties": {
            "description": None,
            "computeType": "ComputeInstance",
            "computeLocation": ci.workspace.location,
            "createdOn": _ms_time(ci.created_on),
            "modifiedOn": _ms_time(ci.last_operation.time),
            "provisioningState": "Succeeded",
            "disableLocalAuth": True,
            "isAttachedCompute": False,
            "properties": properties,
        },
    }


def _schedule(tenant: Tenant, ci: ComputeInstance, action: str, status: str, cron: str) -> dict[str, Any]:
    return {
        "id": _guid(tenant, "schedule", ci.id, action, status),
        "provisioningStatus": "Completed",
        "status": status,
        "action": action,
        "triggerType": "Cron",
        "cron": {"startTime": "2025-01-01T00:00:00", "timeZone": "UTC", "expression": cron},
    }


def _cluster_body(cluster: Cluster) -> dict[str, Any]:
    running = cluster.current_nodes - cluster.idle_nodes
    return {
        "id": cluster.id,
        "name": cluster.name,
        "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "location": cluster.workspace.location,
        "tags": dict(cluster.tags),
        "identity": {"type": "None"},
        "properties": {
            "description": None,
            "computeType": "AmlCompute",
            "computeLocation": cluster.workspace.location,
            "createdOn": _ms_time(cluster.created_on),
            "modifiedOn": _ms_time(cluster.created_on),
            "provisioningState": "Succeeded",
            "disableLocalAuth": True,
            "isAttachedCompute": False,
            "properties": {
                "vmSize": cluster.vm_size,
                "vmPriority": cluster.vm_priority,
                "osType": "Linux",
                "isolatedNetwork": False,
                "scaleSettings": {
                    "maxNodeCount": cluster.max_nodes,
                    "minNodeCount": cluster.min_nodes,
                    "nodeIdleTimeBeforeScaleDown": f"PT{cluster.idle_seconds_before_scaledown}S",
                },
                "remoteLoginPortPublicAccess": "NotSpecified",
                "allocationState": "Steady",
                "allocationStateTransitionTime": _z_time(cluster.created_on),
                "errors": None,
                "currentNodeCount": cluster.current_nodes,
                "targetNodeCount": cluster.current_nodes,
                "nodeStateCounts": {
                    "preparingNodeCount": 0,
                    "runningNodeCount": running,
                    "idleNodeCount": cluster.idle_nodes,
                    "unusableNodeCount": 0,
                    "leavingNodeCount": 0,
                    "preemptedNodeCount": 0,
                },
                "enableNodePublicIp": True,
            },
        },
    }


def _container_body(workspace: Workspace, kind: str, name: str, versions: list[AssetVersion]) -> dict[str, Any]:
    latest = max(versions, key=lambda v: int(v.version))
    first = min(versions, key=lambda v: v.created_on)
    return {
        "id": f"{workspace.id}/{_ASSET_PLURAL[kind]}/{name}",
        "name": name,
        "type": f"Microsoft.MachineLearningServices/workspaces/{_ASSET_PLURAL[kind]}",
        "properties": {
            "description": None,
            "tags": {},
            "properties": {},
            "isArchived": all(v.is_archived for v in versions),
            "latestVersion": latest.version,
            "nextVersion": str(int(latest.version) + 1),
            "provisioningState": "Succeeded",
        },
        "systemData": _system_data(first.created_on, first.created_by),
    }


def _version_body(version: AssetVersion) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "description": version.description or None,
        "tags": dict(version.tags),
        "properties": {},
        "isAnonymous": False,
        "isArchived": version.is_archived,
        "provisioningState": "Succeeded",
    }
    if version.kind == "model":
        properties.update({"modelType": "custom_model", "modelUri": version.path, "flavors": {}, "jobName": None})
    elif version.kind == "data":
        properties.update({"dataType": "uri_folder", "dataUri": version.path})
    else:
        properties.update(
            {
                "environmentType": "UserCreated",
                "image": version.image,
                "osType": "Linux",
                "autoRebuild": "Disabled",
                # The service stores the conda spec as YAML text, in the author's key order.
                "condaFile": yaml.safe_dump(version.conda_file, sort_keys=False) if version.conda_file else None,
            }
        )
    return {
        "id": version.id,
        "name": version.version,
        "type": f"Microsoft.MachineLearningServices/workspaces/{_ASSET_PLURAL[version.kind]}/versions",
        "properties": properties,
        "systemData": _system_data(version.created_on, version.created_by),
    }


def _endpoint_body(tenant: Tenant, endpoint: OnlineEndpoint) -> dict[str, Any]:
    workspace = endpoint.workspace
    return {
        "id": endpoint.id,
        "name": endpoint.name,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "location": workspace.location,
        "kind": "Managed",
        "tags": dict(endpoint.tags),
        "identity": {
            "type": "SystemAssigned",
            "principalId": _guid(tenant, "principal", endpoint.id),
            "tenantId": _guid(tenant, "aad-tenant"),
        },
        "systemData": _system_data(endpoint.created_on, workspace.tags.get("owner", "svc-ml")),
        "properties": {
            "description": None,
            "authMode": "Key",
            "provisioningState": "Succeeded",
            "traffic": dict(endpoint.traffic),
            "mirrorTraffic": dict(endpoint.mirror_traffic),
            "scoringUri": f"https://{endpoint.name}.{workspace.location}.inference.ml.azure.com/score",
            "swaggerUri": f"https://{endpoint.name}.{workspace.location}.inference.ml.azure.com/swagger.json",
            "publicNetworkAccess": "Enabled",
            "properties": {"azureml.onlineendpointid": endpoint.id.lower()},
        },
    }


def _deployment_bodies(endpoint: OnlineEndpoint) -> list[dict[str, Any]]:
    workspace = endpoint.workspace
    bodies = []
    for deployment in endpoint.deployments:
        bodies.append(
            {
                "id": f"{endpoint.id}/deployments/{deployment.name}",
                "name": deployment.name,
                "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
                "location": workspace.location,
                "kind": "Managed",
                "tags": {},
                "sku": {"name": "Default", "tier": "Standard", "capacity": deployment.instance_count},
                "systemData": _system_data(deployment.created_on, workspace.tags.get("owner", "svc-ml")),
                "properties": {
                    "description": None,
                    "endpointComputeType": "Managed",
                    "instanceType": deployment.instance_type,
                    "model": _model_arm_id(workspace, deployment.model),
                    "environmentId": _environment_arm_id(workspace, deployment.environment),
                    "codeConfiguration": None,
                    "provisioningState": deployment.provisioning_state,
                    "scaleSettings": {"scaleType": "Default"},
                    "requestSettings": {
                        "maxConcurrentRequestsPerInstance": 1,
                        "maxQueueWait": "PT0.5S",
                        "requestTimeout": "PT5S",
                    },
                    "livenessProbe": {
                        "failureThreshold": 30,
                        "initialDelay": "PT10S",
                        "period": "PT10S",
                        "successThreshold": 1,
                        "timeout": "PT2S",
                    },
                    "appInsightsEnabled": False,
                    "egressPublicNetworkAccess": "Enabled",
                    "properties": {},
                },
            }
        )
    return bodies


def _job_body(job: Job) -> dict[str, Any]:
    workspace = job.workspace
    return {
        "id": job.id,
        "name": job.name,
        "type": "Microsoft.MachineLearningServices/workspaces/jobs",
        "systemData": _system_data(job.created_on, job.submitter or workspace.tags.get("owner", "svc-ml")),
        "properties": {
            "jobType": "Command",
            "displayName": job.display_name,
            "experimentName": job.experiment_name,
            "status": job.status,
            "computeId": f"{workspace.id}/computes/{job.compute_name}",
            "environmentId": _environment_arm_id(workspace, job.environment),
            "command": "python train.py",
            "description": None,
            "isArchived": False,
            "tags": dict(job.tags),
            "properties": {"_azureml.ComputeTargetType": "amlctrain"},
            "resources": {"instanceCount": job.instance_count, "shmSize": "2g"},
            "inputs": {
                f"model_{index}": {"jobInputType": "custom_model", "mode": "ReadOnlyMount", "uri": reference}
                for index, reference in enumerate(job.model_inputs)
            },
            "outputs": {
                "default": {
                    "jobOutputType": "uri_folder",
                    "mode": "ReadWriteMount",
                    "uri": f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{job.name}",
                }
            },
            "services": {
                "Studio": {
                    "jobServiceType": "Studio",
                    "endpoint": f"https://ml.azure.com/runs/{job.name}?wsid={workspace.id}",
                }
            },
        },
    }


def _run_body(tenant: Tenant, job: Job) -> dict[str, Any]:
    duration: timedelta | None = job.end_time - job.start_time if job.end_time else None
    return {
        "runId": job.name,
        "runUuid": _guid(tenant, "run", job.id),
        "rootRunId": job.name,
        "experimentId": _guid(tenant, "experiment", job.workspace.id, job.experiment_name),
        "name": job.name,
        "displayName": job.display_name,
        "status": job.status,
        "createdUtc": _z_time(job.created_on),
        "startTimeUtc": _z_time(job.start_time),
        "endTimeUtc": _z_time(job.end_time) if job.end_time else None,
        "duration": str(duration) if duration is not None else None,
        "target": job.compute_name,
        "runType": "azureml.scriptrun",
        "hidden": False,
        "properties": {"_azureml.ComputeTargetType": "amlctrain"},
        "tags": dict(job.tags),
        **({"createdBy": {"userName": job.submitter, "userObjectId": _guid(tenant, "user", job.submitter)}}
           if job.submitter else {}),
    }


def write_snapshot(tenant: Tenant, out_dir: Path) -> None:
    """Write the tenant's Azure ML inventory to `out_dir` in the aml-finops-snapshot/1 layout.

    One file per request the listing makes (per subscription its workspace list, its resource
    groups with their tags and the subscription itself; per workspace its
    GET and discovery document, computes, model / environment / data containers and every version
    per name, online endpoints and their deployments, jobs and one run-history record per job),
    plus `snapshot.json` with `captured_at = tenant.captured_at` and the subscription scopes.
    """
    writer = _SnapshotWriter(out_dir)
    by_workspace: dict[str, dict[str, list[Any]]] = {
        w.id: {"computes": [], "endpoints": [], "jobs": [], "versions": []} for w in tenant.workspaces
    }
    for compute in tenant.compute_instances:
        by_workspace[compute.workspace.id]["computes"].append(_compute_instance_body(tenant, compute))
    for cluster in tenant.clusters:
        by_workspace[cluster.workspace.id]["computes"].append(_cluster_body(cluster))
    for endpoint in tenant.endpoints:
        by_workspace[endpoint.workspace.id]["endpoints"].append(endpoint)
    for job in tenant.jobs:
        by_workspace[job.workspace.id]["jobs"].append(job)
    for version in tenant.asset_versions:
        by_workspace[version.workspace.id]["versions"].append(version)

    for subscription in tenant.subscriptions:
        workspaces = [w for w in tenant.workspaces if w.subscription_id == subscription.id]
        writer.put(
            f"{ARM}/subscriptions/{subscription.id}/providers/Microsoft.MachineLearningServices/workspaces"
            "?api-version=2024-10-01-preview",
            {"value": [_workspace_body(tenant, w) for w in workspaces]},
        )
        writer.put(f"{ARM}/subscriptions/{subscription.id}?api-version=2022-12-01",
                   _subscription_body(tenant, subscription))
        writer.put(
            f"{ARM}/subscriptions/{subscription.id}/resourcegroups?api-version=2025-04-01",
            {"value": [_resource_group_body(g) for g in tenant.resource_groups if g.subscription_id == subscription.id]},
        )

    # Resource-group scopes (`--resource-group`, or named workspaces): the group itself and the
    # workspaces listed in it.
    for group in tenant.resource_groups:
        writer.put(f"{ARM}{group.id}?api-version=2025-04-01", _resource_group_body(group))
        writer.put(
            f"{ARM}{group.id}/providers/Microsoft.MachineLearningServices/workspaces?api-version=2024-10-01-preview",
            {"value": [_workspace_body(tenant, w) for w in tenant.workspaces
                       if w.subscription_id == group.subscription_id and w.resource_group == group.name]},
        )

    for workspace in tenant.workspaces:
        base = f"{ARM}{workspace.id}"
        parts = by_workspace[workspace.id]
        writer.put(f"{base}?api-version=2024-10-01-preview", _workspace_body(tenant, workspace))
        writer.put(f"https://{workspace.location}.api.azureml.ms/discovery", _discovery_body(workspace.location))
        writer.put(f"{base}/computes?api-version=2023-08-01-preview", {"value": parts["computes"]})

        for kind, plural in _ASSET_PLURAL.items():
            names: dict[str, list[AssetVersion]] = {}
            for version in parts["versions"]:
                if version.kind == kind:
                    names.setdefault(version.name, []).append(version)
            containers = [_container_body(workspace, kind, name, versions) for name, versions in names.items()]
            writer.put(f"{base}/{plural}?listViewType=All", {"value": containers})
            for name, versions in names.items():
                ordered = sorted(versions, key=lambda v: int(v.version), reverse=True)
                writer.put(
                    f"{base}/{plural}/{name}/versions?listViewType=All",
                    {"value": [_version_body(v) for v in ordered]},
                )

        endpoints: list[OnlineEndpoint] = parts["endpoints"]
        writer.put(f"{base}/onlineEndpoints", {"value": [_endpoint_body(tenant, e) for e in endpoints]})
        for endpoint in endpoints:
            writer.put(f"{base}/onlineEndpoints/{endpoint.name}/deployments", {"value": _deployment_bodies(endpoint)})

        jobs: list[Job] = sorted(parts["jobs"], key=lambda j: j.created_on, reverse=True)
        writer.put(f"{base}/jobs?listViewType=All", {"value": [_job_body(j) for j in jobs]})
        history = f"https://{workspace.location}.api.azureml.ms/history/v1.0{workspace.id}/runs"
        for job in jobs:
            writer.put(f"{history}/{job.name}", _run_body(tenant, job))

    writer.flush()
    write_snapshot_info(
        out_dir,
        SnapshotInfo(
            captured_at=tenant.captured_at,
            scopes=[f"/subscriptions/{s.id}" for s in tenant.subscriptions],
            tool_version=TOOL_VERSION,
        ),
    )
