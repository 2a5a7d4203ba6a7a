"""Normalize the azure-ai-ml listing into the `inventory_*` Polars tables (docs/inventory.md).

Every table has a fixed `pl.Schema` from the table catalog (an empty listing still yields typed, empty frames) and the
same conventions:

* ids are lowercased for joins (`*_id`) and kept as the service wrote them (`*_id_original`);
* enum values use the service's spelling (`Running`, `Steady`, `Succeeded`), never the SDK's
  `ComputeInstanceState.RUNNING` rendering;
* timestamps are `Datetime("us", "UTC")` whatever format the service used (`+00:00` with seven
  fractional digits, `Z`, `+0000`, naive = UTC);
* JSON columns (`tags`, `traffic`, `conda_file`, ...) hold the value as returned, as JSON text.

The columns of all eight tables are documented in ``docs/inventory.md``.

`load_inventory(snapshot_dir)` replays a snapshot end to end through azure-ai-ml (what the Dagster
asset calls); `collect_inventory(credential, subscriptions)` lists live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import polars as pl
from azure.ai.ml._restclient.arm_ml_service import models as rest_models
from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

from dagster_project.catalog import INVENTORY_TABLES, inventory_attribute, polars_schema, table
from dagster_project.inventory.listing import (
    DEFAULT_MAX_WORKERS,
    Listed,
    ListingFailure,
    ProgressCallback,
    WorkspaceListing,
    list_inventory,
)
from dagster_project.inventory.replay import ReplayCredential, ReplayTransport
from dagster_project.inventory.snapshot_paths import read_snapshot_info

UTC_TIME = pl.Datetime("us", "UTC")

# The columns of every inventory table live in the catalog (dagster_project/catalog/tables/inventory.py).
TABLE_SCHEMAS: dict[str, pl.Schema] = {name: polars_schema(name) for name in INVENTORY_TABLES}
RESOURCE_GROUPS_SCHEMA = TABLE_SCHEMAS["inventory_resource_groups"]
SUBSCRIPTIONS_SCHEMA = TABLE_SCHEMAS["inventory_subscriptions"]


@dataclass
class Inventory:
    """The eight inventory tables of one capture, its `captured_at`, and what could not be listed.

    A snapshot recorded before resource groups and subscriptions were listed has no files for
    them: replaying it yields empty `resource_groups` / `subscriptions` frames and one failure per
    missing call (``resource_groups.list()``, ``subscriptions.get(...)``), never an abort.
    """

    workspaces: pl.DataFrame
    computes: pl.DataFrame
    asset_versions: pl.DataFrame
    endpoints: pl.DataFrame
    deployments: pl.DataFrame
    jobs: pl.DataFrame
    captured_at: datetime
    failures: list[ListingFailure] = field(default_factory=list)
    resource_groups: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RESOURCE_GROUPS_SCHEMA))
    subscriptions: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SUBSCRIPTIONS_SCHEMA))

    def tables(self) -> dict[str, pl.DataFrame]:
        """The frames by published table name, in the catalog's order."""
        return {name: getattr(self, inventory_attribute(name)) for name in INVENTORY_TABLES}


# --------------------------------------------------------------------------------------------
# Value normalization
# --------------------------------------------------------------------------------------------

_ENUM_REPR = re.compile(r"^(?P<cls>[A-Za-z_][A-Za-z0-9_]*)\.(?P<member>[A-Z0-9_]+)$")
_FRACTION = re.compile(r"\.(\d+)")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_ASSET_VERSION_ARM_ID = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.machinelearningservices/"
    r"workspaces/[^/]+/(?:models|environments|data)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)


def enum_text(value: Any) -> str | None:
    """The service's spelling of an enum value.

    `ComputeInstanceState.RUNNING` (the enum, or its str() rendering) → `Running`; plain strings
    pass through. A rendering whose class is not an azure-ai-ml REST enum is converted from
    UPPER_SNAKE to PascalCase (`LOW_PRIORITY` → `LowPriority`), the service's convention.
    """
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    text = str(value)
    match = _ENUM_REPR.match(text)
    if not match:
        return text
    enum_class = getattr(rest_models, match.group("cls"), None)
    member = getattr(enum_class, match.group("member"), None) if enum_class is not None else None
    if isinstance(member, Enum):
        return str(member.value)
    return "".join(part.capitalize() for part in match.group("member").split("_"))


def utc_time(value: Any) -> datetime | None:
    """A UTC-aware datetime from a datetime or any ISO-8601 spelling the service uses."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
        # .NET writes 7 fractional digits; Python accepts at most 6.
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text, count=1)
        text = _COMPACT_OFFSET.sub(r"\1:\2", text)
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


def _json_text(value: Any) -> str:
    """JSON text of a mapping as returned (key order kept); None → `{}`."""
    return json.dumps(dict(value) if value else {}, ensure_ascii=False)


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    import isodate

    return int(isodate.parse_duration(str(value)).total_seconds())


def asset_reference(value: Any) -> str | None:
    """A workspace asset version's ARM id → `azureml:<name>:<version>`; anything else unchanged.

    The service stores deployment and job references as ARM ids; the CLI, the studio and the
    findings all speak `azureml:<name>:<version>`. Registry references (`azureml://registries/...`)
    and `azureml:` references pass through.
    """
    if not value:
        return None
    text = str(value)
    match = _ASSET_VERSION_ARM_ID.match(text)
    if match:
        return f"azureml:{match.group('name')}:{match.group('version')}"
    return text


def _system_data(rest: Any) -> tuple[datetime | None, str | None]:
    system_data = getattr(rest, "system_data", None)
    if system_data is None:
        return None, None
    return utc_time(system_data.created_at), system_data.created_by


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------

# The service writes a workspace's kind in varying case (`Default`, `hub`, `Project`,
# `featurestore`); the table uses one spelling. A workspace without a kind is a Default one.
WORKSPACE_KINDS = {"default": "Default", "hub": "Hub", "project": "Project", "featurestore": "FeatureStore"}


def workspace_kind(value: Any) -> str:
    """`hub` → `Hub`; an unknown kind is kept as returned, a missing one is `Default`."""
    text = enum_text(value)
    if not text:
        return "Default"
    return WORKSPACE_KINDS.get(text.strip().lower().replace("_", ""), text)


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
    }


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

    frames = {inventory_attribute(name): _frame(rows[name], TABLE_SCHEMAS[name], table(name).key)
              for name in INVENTORY_TABLES}
    return Inventory(**frames, captured_at=captured, failures=failures)


def collect_inventory(
    credential: TokenCredential,
    subscriptions: str | Iterable[str],
    transport: HttpTransport | None = None,
    *,
    resource_group: str | None = None,
    workspace_names: Iterable[str] | None = None,
    captured_at: datetime | None = None,
    include_run_history: bool = True,
    max_workers: int = DEFAULT_MAX_WORKERS,
    progress: ProgressCallback | None = None,
) -> Inventory:
    """List the inventory live (or through `transport`) and normalize it.

    `captured_at` defaults to the moment listing starts (UTC): ages are measured from it.
    """
    started = captured_at or datetime.now(UTC)
    result = list_inventory(
        credential,
        subscriptions,
        transport=transport,
        resource_group=resource_group,
        workspace_names=workspace_names,
        include_run_history=include_run_history,
        max_workers=max_workers,
        progress=progress,
    )
    return build_inventory(result.workspaces, started, result.failures, result.resource_groups, result.subscriptions)


# Replay is CPU-bound (SDK deserialization under the GIL; file reads are the only I/O): more
# threads only add contention. docs/performance.md has the measurements.
REPLAY_MAX_WORKERS = 2


def load_inventory(
    snapshot_dir: Path,
    *,
    max_workers: int = REPLAY_MAX_WORKERS,
    progress: ProgressCallback | None = None,
) -> Inventory:
    """Replay a snapshot folder through azure-ai-ml and normalize it (no network).

    The scopes to list and `captured_at` come from `snapshot.json`; every response comes from the
    recorded files. Calls whose file is missing are reported in `Inventory.failures`.
    """
    info = read_snapshot_info(Path(snapshot_dir))
    if not info.scopes:
        raise ValueError(f"{Path(snapshot_dir) / 'snapshot.json'}: scopes is empty; nothing to replay")
    return collect_inventory(
        ReplayCredential(),
        info.scopes,
        ReplayTransport(Path(snapshot_dir)),
        captured_at=info.captured_at,
        max_workers=max_workers,
        progress=progress,
    )
