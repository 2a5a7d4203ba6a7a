"""Row builders: one listed resource → one row of its `inventory_*` table; `build_inventory` makes the frames."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import polars as pl

from dagster_project.catalog import INVENTORY_TABLES, inventory_attribute, table
from dagster_project.inventory.listing import (
    Listed,
    ListingFailure,
    WorkspaceListing,
)
from dagster_project.inventory.model import TABLE_SCHEMAS, Inventory
from dagster_project.inventory.normalize import (
    _int,
    _json_text,
    _lower,
    _seconds,
    _system_data,
    asset_reference,
    enum_text,
    utc_time,
    workspace_kind,
)


def _workspace_row(listing: WorkspaceListing, captured_at: datetime) -> dict[str, Any]:
    rest, entity = listing.workspace.rest, listing.workspace.entity
    properties = rest.properties
    created_on, _ = _system_data(rest)
    return {
        "workspace_id": listing.id.lower(),
        "workspace_id_original": listing.id,
        "subscription_id": listing.subscription_id.lower(),
        "resource_group": listing.resource_group.lower(),
        "workspace_name": entity.name,
        "location": rest.location,
        "storage_account_id": _lower(properties.storage_account),
        "container_registry_id": _lower(properties.container_registry),
        "key_vault_id": _lower(properties.key_vault),
        "application_insights_id": _lower(properties.application_insights),
        "tags": _json_text(rest.tags),
        "created_on": created_on,
        "captured_at": captured_at,
        "workspace_kind": workspace_kind(rest.kind),
        "hub_workspace_id": _lower(getattr(properties, "hub_resource_id", None)),
        "public_network_access": enum_text(getattr(properties, "public_network_access", None)),
    }


def _compute_row(workspace_id: str, item: Listed, captured_at: datetime) -> dict[str, Any]:
    rest, entity = item.rest, item.entity
    resource = rest.properties
    compute_type = enum_text(resource.compute_type)
    details = getattr(resource, "properties", None)
    row: dict[str, Any] = {
        "compute_id": str(rest.id).lower(),
        "compute_id_original": rest.id,
        "workspace_id": workspace_id,
        "compute_name": rest.name,
        "compute_type": compute_type,
        "vm_size": None,
        "vm_priority": None,
        "state": None,
        "provisioning_state": enum_text(resource.provisioning_state),
        "created_on": utc_time(resource.created_on),
        "created_by": _system_data(rest)[1],
        "last_operation_name": None,
        "last_operation_time": None,
        "last_operation_status": None,
        "idle_shutdown": None,
        "idle_shutdown_minutes": None,
        "stop_schedule_enabled": False,
        "assigned_user_object_id": None,
        "min_nodes": None,
        "max_nodes": None,
        "idle_seconds_before_scaledown": None,
        "current_nodes": None,
        "idle_nodes": None,
        "tags": _json_text(rest.tags),
        "captured_at": captured_at,
        "created_by_object_id": None,
    }
    if details is None:
        return row
    row["vm_size"] = getattr(details, "vm_size", None)
    if compute_type == "ComputeInstance":
        last_operation = details.last_operation
        schedules = details.schedules.compute_start_stop if details.schedules else None
        settings = details.personal_compute_instance_settings
        row.update({
            "state": enum_text(details.state),
            "created_by": details.created_by.user_name if details.created_by else row["created_by"],
            "created_by_object_id": details.created_by.user_id if details.created_by else None,
            "last_operation_name": enum_text(last_operation.operation_name) if last_operation else None,
            "last_operation_time": utc_time(last_operation.operation_time) if last_operation else None,
            "last_operation_status": enum_text(last_operation.operation_status) if last_operation else None,
            "idle_shutdown": details.idle_time_before_shutdown,
            # The SDK entity turns the ISO-8601 duration into minutes; use its arithmetic.
            "idle_shutdown_minutes": _int(getattr(entity, "idle_time_before_shutdown_minutes", None)),
            "stop_schedule_enabled": any(
                enum_text(schedule.action) == "Stop" and enum_text(schedule.status) == "Enabled"
                for schedule in schedules or []
            ),
            "assigned_user_object_id": (
                settings.assigned_user.object_id if settings and settings.assigned_user else None
            ),
        })
    elif compute_type == "AmlCompute":
        scale = details.scale_settings
        counts = details.node_state_counts
        row.update({
            "vm_priority": enum_text(details.vm_priority),
            "state": enum_text(details.allocation_state),
            "min_nodes": _int(scale.min_node_count) if scale else None,
            "max_nodes": _int(scale.max_node_count) if scale else None,
            "idle_seconds_before_scaledown": _seconds(scale.node_idle_time_before_scale_down) if scale else None,
            "current_nodes": _int(details.current_node_count),
            "idle_nodes": _int(counts.idle_node_count) if counts else None,
        })
    return row


def _asset_row(workspace_id: str, kind: str, item: Listed, captured_at: datetime) -> dict[str, Any]:
    rest, entity = item.rest, item.entity
    properties = rest.properties
    context = getattr(entity, "creation_context", None)
    if context is not None and context.created_at is not None:
        # The SDK already parsed systemData into the entity; reading the REST model's field again
        # would re-parse the timestamp (the generated models deserialize on every access), which
        # is a measurable share of a replay with tens of thousands of versions.
        created_on, created_by = utc_time(context.created_at), context.created_by
    else:
        created_on, created_by = _system_data(rest)
    path = image = conda_file = None
    if kind == "model":
        path = properties.model_uri
    elif kind == "data":
        path = properties.data_uri
    else:
        image = properties.image
        # The service stores condaFile as YAML text; the SDK entity has parsed it.
        conda = getattr(entity, "conda_file", None)
        if isinstance(conda, dict):
            conda_file = json.dumps(conda, ensure_ascii=False)
        elif properties.conda_file:
            conda_file = json.dumps(properties.conda_file, ensure_ascii=False)
    return {
        "asset_id": str(rest.id).lower(),
        "asset_id_original": rest.id,
        "workspace_id": workspace_id,
        "kind": kind,
        "name": entity.name,
        "version": str(entity.version),
        "created_on": created_on,
        "created_by": created_by,
        "is_archived": bool(properties.is_archived),
        "path": path,
        "image": image,
        "conda_file": conda_file,
        "tags": _json_text(properties.tags),
        "captured_at": captured_at,
    }


def _endpoint_row(workspace_id: str, item: Listed, captured_at: datetime) -> dict[str, Any]:
    rest = item.rest
    properties = rest.properties
    return {
        "endpoint_id": str(rest.id).lower(),
        "endpoint_id_original": rest.id,
        "workspace_id": workspace_id,
        "endpoint_name": rest.name,
        "auth_mode": enum_text(properties.auth_mode),
        "provisioning_state": enum_text(properties.provisioning_state),
        "traffic": _json_text(properties.traffic),
        "mirror_traffic": _json_text(getattr(properties, "mirror_traffic", None)),
        "tags": _json_text(rest.tags),
        "created_on": _system_data(rest)[0],
        "captured_at": captured_at,
        "public_network_access": enum_text(getattr(properties, "public_network_access", None)),
    }


def _deployment_row(
    workspace_id: str, endpoint: Listed | None, endpoint_name: str, item: Listed, captured_at: datetime
) -> dict[str, Any]:
    rest, entity = item.rest, item.entity
    properties = rest.properties
    endpoint_id_original = str(endpoint.rest.id) if endpoint else str(rest.id).rsplit("/deployments/", 1)[0]
    traffic = dict(endpoint.rest.properties.traffic or {}) if endpoint else {}
    mirror = dict(getattr(endpoint.rest.properties, "mirror_traffic", None) or {}) if endpoint else {}
    instance_count = rest.sku.capacity if getattr(rest, "sku", None) and rest.sku.capacity is not None else None
    if instance_count is None:
        instance_count = getattr(entity, "instance_count", None)
    scale = getattr(properties, "scale_settings", None)
    return {
        "deployment_id": f"{endpoint_id_original}/deployments/{rest.name}".lower(),
        "deployment_id_original": rest.id,
        "endpoint_id": endpoint_id_original.lower(),
        "workspace_id": workspace_id,
        "endpoint_name": endpoint_name,
        "deployment_name": rest.name,
        "instance_type": getattr(properties, "instance_type", None),
        "instance_count": _int(instance_count),
        "provisioning_state": enum_text(properties.provisioning_state),
        "model": asset_reference(getattr(properties, "model", None)),
        "environment": asset_reference(getattr(properties, "environment_id", None)),
        "traffic_pct": _int(traffic.get(rest.name, 0)),
        "mirror_traffic_pct": _int(mirror.get(rest.name, 0)),
        "scale_type": enum_text(scale.scale_type) if scale else None,
        "tags": _json_text(rest.tags),
        "created_on": _system_data(rest)[0],
        "captured_at": captured_at,
    }


def _job_row(workspace_id: str, item: Listed, run: Any, captured_at: datetime) -> dict[str, Any]:
    rest, entity = item.rest, item.entity
    properties = rest.properties
    raw_compute = getattr(properties, "compute_id", None)
    compute_name: str | None = None
    compute_id: str | None = None
    if raw_compute:
        if "/computes/" in raw_compute.lower():
            compute_id = raw_compute.lower()
            compute_name = raw_compute.rsplit("/", 1)[-1]
        elif "/" not in raw_compute:
            # Older jobs store the bare compute name; it names a compute in this workspace.
            compute_name = raw_compute
            compute_id = f"{workspace_id}/computes/{raw_compute}".lower()
    if compute_name is None and entity is not None and isinstance(getattr(entity, "compute", None), str):
        compute_name = entity.compute
    return {
        "job_id": str(rest.id).lower(),
        "job_id_original": rest.id,
        "workspace_id": workspace_id,
        "job_name": rest.name,
        "display_name": properties.display_name,
        "experiment_name": properties.experiment_name,
        "job_type": enum_text(properties.job_type),
        "compute_name": compute_name,
        "compute_id": compute_id,
        "status": enum_text(properties.status),
        "created_on": _system_data(rest)[0],
        "start_time": utc_time(getattr(run, "start_time_utc", None)) if run is not None else None,
        "end_time": utc_time(getattr(run, "end_time_utc", None)) if run is not None else None,
        "environment": asset_reference(getattr(properties, "environment_id", None)),
        "captured_at": captured_at,
        **job_showback_fields(rest, run),
    }


def job_showback_fields(rest: Any, run: Any) -> dict[str, Any]:
    """Tags, node count and submitter of a job (contract 1.5): the split of a shared cluster's cost.

    The node count is the job's `resources.instanceCount` (None when the job type has none, e.g.
    a pipeline); the submitter is run history's `createdBy.userName`, else the ARM `createdBy`.
    """
    properties = rest.properties
    resources = getattr(properties, "resources", None)
    count = getattr(resources, "instance_count", None) if resources is not None else None
    creator = getattr(run, "created_by", None) if run is not None else None
    submitter = getattr(creator, "user_name", None) or getattr(creator, "upn", None) or _system_data(rest)[1]
    return {"tags": _json_text(getattr(properties, "tags", None) or None),
            "instance_count": int(count) if count is not None else None, "submitter": submitter}


def _resource_group_row(subscription_id: str, rest: Any, captured_at: datetime) -> dict[str, Any]:
    properties = getattr(rest, "properties", None)
    arm_id = str(rest.id) if rest.id else f"/subscriptions/{subscription_id}/resourceGroups/{rest.name}"
    return {
        "resource_group_id": arm_id.lower(),
        "subscription_id": subscription_id.lower(),
        "resource_group": str(rest.name).lower(),
        "resource_group_original": rest.name,
        "location": rest.location,
        "provisioning_state": enum_text(properties.provisioning_state) if properties is not None else None,
        "managed_by": _lower(getattr(rest, "managed_by", None)),
        "tags": _json_text(rest.tags),
        "captured_at": captured_at,
    }


def _subscription_row(body: dict[str, Any], captured_at: datetime) -> dict[str, Any]:
    subscription_id = body.get("subscriptionId") or str(body["id"]).rstrip("/").rsplit("/", 1)[-1]
    return {
        "subscription_id": str(subscription_id).lower(),
        "display_name": body.get("displayName"),
        "state": enum_text(body.get("state")),
        "tags": _json_text(body.get("tags")),
        "captured_at": captured_at,
    }


def _frame(rows: list[dict[str, Any]], schema: pl.Schema, sort_by: str | None) -> pl.DataFrame:
    frame = pl.from_dicts(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return frame.sort(sort_by, maintain_order=True)


def build_inventory(
    listings: Iterable[WorkspaceListing],
    captured_at: datetime,
    failures: list[ListingFailure] | None = None,
    resource_groups: Iterable[tuple[str, Any]] = (),
    subscriptions: Iterable[dict[str, Any]] = (),
) -> Inventory:
    """Turn listed workspaces, resource groups and subscriptions into the eight tables. Rows are
    sorted by their lowercase id.

    A resource that cannot be normalized (a required field missing) becomes a `ListingFailure`
    instead of aborting the table.
    """
    captured = utc_time(captured_at)
    assert captured is not None
    failures = list(failures or [])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_SCHEMAS}

    def add(table: str, scope: str, what: str, build: Any, *args: Any) -> None:
        try:
            rows[table].append(build(*args))
        except Exception as exc:  # noqa: BLE001 - one odd resource must not lose the table
            failures.append(ListingFailure(scope, f"normalize {what}", f"{type(exc).__name__}: {exc}"))

    for listing in listings:
        scope, workspace_id = listing.id, listing.id.lower()
        add("inventory_workspaces", scope, "workspace", _workspace_row, listing, captured)
        for item in listing.computes:
            add("inventory_computes", scope, f"compute {item.rest.name}", _compute_row, workspace_id, item, captured)
        for kind, item in listing.asset_versions:
            add("inventory_asset_versions", scope, f"{kind} {item.rest.id}",
                _asset_row, workspace_id, kind, item, captured)
        endpoints_by_name = {str(item.rest.name): item for item in listing.endpoints}
        for item in listing.endpoints:
            add("inventory_endpoints", scope, f"endpoint {item.rest.name}", _endpoint_row, workspace_id, item, captured)
        for endpoint_name, item in listing.deployments:
            add("inventory_deployments", scope, f"deployment {endpoint_name}/{item.rest.name}", _deployment_row,
                workspace_id, endpoints_by_name.get(endpoint_name), endpoint_name, item, captured)
        for item in listing.jobs:
            add("inventory_jobs", scope, f"job {item.rest.name}", _job_row,
                workspace_id, item, listing.runs.get(str(item.rest.name)), captured)

    for subscription_id, rest in resource_groups:
        add("inventory_resource_groups", f"/subscriptions/{subscription_id}",
            f"resource group {getattr(rest, 'name', '?')}", _resource_group_row, subscription_id, rest, captured)
    for body in subscriptions:
        add("inventory_subscriptions", str(body.get("id") or "?"), "subscription", _subscription_row, body, captured)

    # `inventory_failures` is built from `failures` by `Inventory.tables()`.
    frames = {inventory_attribute(name): _frame(rows[name], TABLE_SCHEMAS[name], table(name).key)
              for name in INVENTORY_TABLES if name != "inventory_failures"}
    return Inventory(**frames, captured_at=captured, failures=failures)
