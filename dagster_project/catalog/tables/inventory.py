"""Inventory tables: the Azure ML estate at one capture, replayed through azure-ai-ml (snapshot tables).

The order of `TABLES` is the order of the `aml_inventory` asset's outputs.
"""

from __future__ import annotations

from dagster_project.catalog import fields
from dagster_project.catalog.model import Column, Table
from dagster_project.catalog.types import BIGINT, BOOLEAN, TEXT, UTC_TIME

INVENTORY_WORKSPACES_COLUMNS = (
    Column('workspace_id', TEXT, 'ARM id, lowercased'),
    Column('workspace_id_original', TEXT, 'ARM id as returned'),
    Column('subscription_id', TEXT, 'lowercased'),
    Column('resource_group', TEXT, 'lowercased'),
    Column('workspace_name', TEXT, 'as returned'),
    Column('location', TEXT, 'as returned'),
    Column('storage_account_id', TEXT, 'storage account ARM id, lowercased (null when none)'),
    Column('container_registry_id', TEXT, 'container registry ARM id, lowercased (null when none)'),
    Column('key_vault_id', TEXT, 'key vault ARM id, lowercased (null when none)'),
    Column('application_insights_id', TEXT, 'Application Insights ARM id, lowercased (null when none)'),
    Column('tags', TEXT, 'JSON text: workspace tags, keys and values exactly as written'),
    fields.CREATED_ON.described('`systemData.createdAt`'),
    fields.CAPTURED_AT,
    Column('workspace_kind', TEXT, '*(contract 1.4)* `Default`, `Hub`, `Project` or `FeatureStore` (the ARM `kind`, spelled one way whatever case the service used; `Default` when absent)'),
    Column('hub_workspace_id', TEXT, "*(contract 1.4)* a project's hub (`properties.hubResourceId`, lowercased; null otherwise)"),
)

INVENTORY_COMPUTES_COLUMNS = (
    Column('compute_id', TEXT, 'ARM id, lowercased'),
    Column('compute_id_original', TEXT, 'ARM id as returned'),
    fields.WORKSPACE_ID,
    Column('compute_name', TEXT, 'compute name'),
    Column('compute_type', TEXT, '`ComputeInstance`, `AmlCompute`, `Kubernetes`, …'),
    Column('vm_size', TEXT, 'VM size, e.g. `Standard_DS11_v2`'),
    Column('vm_priority', TEXT, 'clusters: `Dedicated` or `LowPriority`'),
    Column('state', TEXT, 'instance state (`Running`, `Stopped`, …) or cluster allocation state (`Steady`, `Resizing`)'),
    fields.PROVISIONING_STATE,
    Column('created_on', UTC_TIME, 'creation time'),
    Column('created_by', TEXT, "the instance's creator user name (else `systemData.createdBy`)"),
    Column('last_operation_name', TEXT, 'instances: last Start / Stop / Restart / Create'),
    Column('last_operation_time', UTC_TIME, 'instances: when the last operation ran'),
    Column('last_operation_status', TEXT, "instances: the last operation's status"),
    Column('idle_shutdown', TEXT, 'instances: idle shutdown as an ISO-8601 duration, as returned'),
    Column('idle_shutdown_minutes', BIGINT, 'instances: idle shutdown in minutes'),
    Column('stop_schedule_enabled', BOOLEAN, 'instances: any *enabled* schedule whose action is `Stop`'),
    Column('assigned_user_object_id', TEXT, "instances: assigned user's object id"),
    Column('min_nodes', BIGINT, 'clusters: minimum nodes (read from the REST model: the SDK entity drops node counts)'),
    Column('max_nodes', BIGINT, 'clusters: maximum nodes'),
    Column('idle_seconds_before_scaledown', BIGINT, 'clusters: idle seconds before scale-down'),
    Column('current_nodes', BIGINT, 'clusters: current nodes'),
    Column('idle_nodes', BIGINT, 'clusters: idle nodes'),
    fields.TAGS,
    fields.CAPTURED_AT,
    Column('created_by_object_id', TEXT, "*(contract 1.4)* instances: the creator's object id (`createdBy.userId`), so the owner chain can name the assigned user by the creator's user name when they are the same person"),
)

INVENTORY_ASSET_VERSIONS_COLUMNS = (
    Column('asset_id', TEXT, 'version ARM id, lowercased'),
    Column('asset_id_original', TEXT, 'version ARM id as returned'),
    fields.WORKSPACE_ID,
    Column('kind', TEXT, '`model`, `environment`, `data`'),
    Column('name', TEXT, 'asset name'),
    Column('version', TEXT, 'version label'),
    Column('created_on', UTC_TIME, '`systemData.createdAt`'),
    Column('created_by', TEXT, '`systemData.createdBy`'),
    Column('is_archived', BOOLEAN, 'archived versions are listed too'),
    Column('path', TEXT, 'model / data URI'),
    Column('image', TEXT, 'environments: base image'),
    Column('conda_file', TEXT, "environments: JSON text of the conda spec parsed from the service's YAML text, author's key order"),
    fields.TAGS,
    fields.CAPTURED_AT,
)

INVENTORY_ENDPOINTS_COLUMNS = (
    Column('endpoint_id', TEXT, 'online endpoint ARM id, lowercased'),
    Column('endpoint_id_original', TEXT, 'online endpoint ARM id as returned'),
    fields.WORKSPACE_ID,
    Column('endpoint_name', TEXT, 'endpoint name'),
    Column('auth_mode', TEXT, '`key`, `aml_token`, …'),
    fields.PROVISIONING_STATE,
    Column('traffic', TEXT, 'JSON text: deployment name → percent of traffic'),
    Column('mirror_traffic', TEXT, 'JSON text: deployment name → percent of mirrored traffic'),
    fields.TAGS,
    fields.CREATED_ON,
    fields.CAPTURED_AT,
)

INVENTORY_DEPLOYMENTS_COLUMNS = (
    Column('deployment_id', TEXT, '`<endpoint id>/deployments/<name>` lowercased'),
    Column('deployment_id_original', TEXT, '`<endpoint id>/deployments/<name>` as returned'),
    Column('endpoint_id', TEXT, "the endpoint's ARM id, lowercased"),
    fields.WORKSPACE_ID,
    Column('endpoint_name', TEXT, 'endpoint name'),
    Column('deployment_name', TEXT, 'deployment name'),
    Column('instance_type', TEXT, 'VM size of the instances'),
    Column('instance_count', BIGINT, "`sku.capacity` (else the entity's count)"),
    fields.PROVISIONING_STATE,
    Column('model', TEXT, '`azureml:<name>:<version>` (ARM ids rewritten); registry references unchanged'),
    Column('environment', TEXT, '`azureml:<name>:<version>` (ARM ids rewritten); registry references unchanged'),
    Column('traffic_pct', BIGINT, "this deployment's share of the endpoint's traffic"),
    Column('mirror_traffic_pct', BIGINT, "this deployment's share of the endpoint's mirror traffic"),
    Column('scale_type', TEXT, '`Default`, `TargetUtilization`, …'),
    fields.TAGS,
    fields.CREATED_ON,
    fields.CAPTURED_AT,
)

INVENTORY_JOBS_COLUMNS = (
    Column('job_id', TEXT, 'job ARM id, lowercased'),
    Column('job_id_original', TEXT, 'job ARM id as returned'),
    fields.WORKSPACE_ID,
    Column('job_name', TEXT, 'job name'),
    Column('display_name', TEXT, 'display name'),
    Column('experiment_name', TEXT, 'experiment name'),
    Column('job_type', TEXT, '`Command`, `Pipeline`, …'),
    Column('compute_name', TEXT, 'the compute the job ran on, as written'),
    Column('compute_id', TEXT, "compute ARM id, lowercased (a bare compute name is resolved in the job's workspace)"),
    Column('status', TEXT, '`Completed`, `Running`, …'),
    fields.CREATED_ON,
    Column('start_time', UTC_TIME, 'from run history (null without it)'),
    Column('end_time', UTC_TIME, 'from run history (null without it)'),
    Column('environment', TEXT, '`azureml:<name>:<version>`'),
    fields.CAPTURED_AT,
)

INVENTORY_RESOURCE_GROUPS_COLUMNS = (
    Column('resource_group_id', TEXT, '`/subscriptions/<s>/resourcegroups/<rg>`, lowercased'),
    Column('subscription_id', TEXT, 'lowercased'),
    Column('resource_group', TEXT, 'name lowercased (joins with cost rows and workspaces)'),
    Column('resource_group_original', TEXT, 'name as returned'),
    Column('location', TEXT, 'region'),
    fields.PROVISIONING_STATE,
    Column('managed_by', TEXT, 'ARM id of the managing resource, lowercased (null when none)'),
    Column('tags', TEXT, 'JSON text: resource group tags (`{}` when ARM omits them)'),
    fields.CAPTURED_AT,
)

INVENTORY_SUBSCRIPTIONS_COLUMNS = (
    Column('subscription_id', TEXT, 'lowercased'),
    Column('display_name', TEXT, 'subscription display name'),
    Column('state', TEXT, '`Enabled`, `Disabled`, `Warned`, `PastDue`, `Deleted`'),
    Column('tags', TEXT, 'JSON text: subscription tags'),
    fields.CAPTURED_AT,
)
TABLES = (
    Table("inventory_workspaces", "Azure ML workspaces with their storage, registry, key vault and insights ids and "
          "tags.", INVENTORY_WORKSPACES_COLUMNS, kind="snapshot", asset="inventory_workspaces",
          key="workspace_id", attribution="required"),
    Table("inventory_computes", "Compute instances and clusters: state, last operation, idle shutdown, schedules, "
          "size, node counts and tags.", INVENTORY_COMPUTES_COLUMNS, kind="snapshot", asset="inventory_computes",
          key="compute_id", attribution="required"),
    Table("inventory_asset_versions", "Every model, environment and data version, archived ones included.",
          INVENTORY_ASSET_VERSIONS_COLUMNS, kind="snapshot", asset="inventory_asset_versions", key="asset_id"),
    Table("inventory_endpoints", "Online endpoints with their traffic split and tags.",
          INVENTORY_ENDPOINTS_COLUMNS, kind="snapshot", asset="inventory_endpoints", key="endpoint_id",
          attribution="required"),
    Table("inventory_deployments", "Online deployments: instance type and count, provisioning state, traffic share.",
          INVENTORY_DEPLOYMENTS_COLUMNS, kind="snapshot", asset="inventory_deployments", key="deployment_id",
          attribution="required"),
    Table("inventory_jobs", "Jobs with their compute, status and timing.", INVENTORY_JOBS_COLUMNS,
          kind="snapshot", asset="inventory_jobs", key="job_id", attribution="hours"),
    Table("inventory_resource_groups", "Resource groups of the listed subscriptions with their tags (an "
          "inheritance level).", INVENTORY_RESOURCE_GROUPS_COLUMNS, kind="snapshot",
          asset="inventory_resource_groups", key="resource_group_id", attribution="optional"),
    Table("inventory_subscriptions", "The listed subscriptions with their tags (an inheritance level).",
          INVENTORY_SUBSCRIPTIONS_COLUMNS, kind="snapshot", asset="inventory_subscriptions",
          key="subscription_id", attribution="optional"),
)
