"""The synthetic Azure tenant: one object graph that every demo artefact is rendered from.

The inventory snapshot (REST bodies that azure-ai-ml deserializes), the Cost Management exports
and the ground truth (`expected.json`) are all views of the `Tenant` built here, so they agree by
construction. The ground truth is decided from the generator's own knowledge (which project a
charge really belongs to), never by running the pipeline's code.

Everything is deterministic for a seed. Dates are fixed (the default last month is 2026-10 and
the snapshot is captured on the first day after it), so a seed always gives the same bytes.
"""

from __future__ import annotations

import calendar
import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dagster_project.demo.events import instances_on, trend_line_items

UNALLOCATED = "(unallocated)"
# Where the generator books commitment rows nobody's tag claims: unused reservation hours, and the
# reservation purchases (billed, amortized into the usage they cover). The pipeline's defaults of
# `attribution.commitments` say the same; the generator states them on its own.
UNUSED_COMMITMENT = "(unused commitment)"
COMMITMENT_PURCHASES = "(commitment purchases)"
# Ground-truth marker: this row is a workspace dependency shared by the workspace's projects.
SHARED_PREFIX = "shared:"
AML_PROVIDER = "Microsoft.MachineLearningServices"
DEFAULT_END_MONTH = date(2026, 10, 1)
TEN_PLACES = Decimal("1e-10")


def _uuid(seed: int, *parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aml-finops-demo/{seed}/" + "/".join(map(str, parts))))


@dataclass(frozen=True)
class Subscription:
    id: str
    name: str
    tags: dict[str, str]
    # Its billing profile's currency: a billing account can bill two profiles in two currencies.
    currency: str = "USD"


@dataclass(frozen=True)
class ResourceGroup:
    subscription_id: str
    name: str
    location: str
    tags: dict[str, str]

    @property
    def id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.name}"


@dataclass(frozen=True)
class Workspace:
    subscription_id: str
    resource_group: str
    name: str
    location: str
    tags: dict[str, str]
    created_on: datetime
    # Ground truth: who this workspace's direct spend belongs to when nothing more specific says.
    project: str
    # Default | Hub | Project. A project has no dependencies of its own: it uses its hub's, and its
    # ARM body lists them (`lists_hub_dependencies`) or does not.
    kind: str = "Default"
    hub: Workspace | None = None
    lists_hub_dependencies: bool = True

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{AML_PROVIDER}/workspaces/{self.name}"
        )

    @property
    def bills_dependencies(self) -> bool:
        """Whether this workspace's own storage, registry, key vault and insights exist (and bill)."""
        return self.kind != "Project"

    def listed_dependencies(self) -> dict[str, str | None]:
        """The dependency ids the workspace's ARM body lists (a project: its hub's, or none)."""
        source = self if self.kind != "Project" else (self.hub if self.lists_hub_dependencies else None)
        return {
            "storageAccount": source.storage_account_id if source else None,
            "containerRegistry": source.container_registry_id if source else None,
            "keyVault": source.key_vault_id if source else None,
            "applicationInsights": source.application_insights_id if source else None,
        }

    def _dep(self, provider: str, name: str) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/{provider}/{name}"

    @property
    def short(self) -> str:
        return self.name.replace("mlw-", "").replace("-", "")[:16]

    @property
    def storage_account_id(self) -> str:
        return self._dep("Microsoft.Storage/storageAccounts", f"st{self.short}")

    @property
    def container_registry_id(self) -> str:
        return self._dep("Microsoft.ContainerRegistry/registries", f"cr{self.short}")

    @property
    def key_vault_id(self) -> str:
        return self._dep("Microsoft.KeyVault/vaults", f"kv-{self.short}")

    @property
    def application_insights_id(self) -> str:
        return self._dep("Microsoft.Insights/components", f"appi-{self.short}")


@dataclass(frozen=True)
class LastOperation:
    name: str  # Create | Start | Stop | Restart
    time: datetime
    status: str = "Succeeded"


@dataclass(frozen=True)
class ComputeInstance:
    workspace: Workspace
    name: str
    vm_size: str
    state: str  # Running | Stopped
    created_on: datetime
    last_operation: LastOperation
    idle_shutdown: str | None  # ISO-8601 duration, e.g. PT60M
    stop_schedule_enabled: bool
    assigned_user_object_id: str
    assigned_user_name: str
    tags: dict[str, str]
    # Whether Azure copies this compute's tags onto its cost rows (it does for computes
    # created with tags; the demo leaves some rows bare so the VM-size match is exercised).
    tags_on_cost_rows: bool
    hourly_rate: Decimal
    # Hours billed per weekday / weekend day while the instance is in use.
    weekday_hours: Decimal
    weekend_hours: Decimal
    stopped_since: date | None = None
    # How its cost rows spell the type tag, and where they carry the VM size: `details`
    # (ServiceType in SkuPriceDetails / AdditionalInfo), `meter` (only the meter name) or
    # `description` (only the charge description, region suffix included).
    type_tag: str = "Compute Instance"
    size_in: str = "details"

    @property
    def id(self) -> str:
        return f"{self.workspace.id}/computes/{self.name}"


@dataclass(frozen=True)
class Cluster:
    workspace: Workspace
    name: str
    vm_size: str
    vm_priority: str  # Dedicated | LowPriority
    min_nodes: int
    max_nodes: int
    idle_seconds_before_scaledown: int
    current_nodes: int
    idle_nodes: int
    created_on: datetime
    tags: dict[str, str]
    tags_on_cost_rows: bool
    hourly_rate: Decimal
    type_tag: str = "AmlCompute"
    size_in: str = "details"
    # Seconds each node of a job bills before the job's run-history start (provisioning and the
    # image pull): idle node time, like the scale-down tail after it.
    setup_seconds: int = 0

    @property
    def id(self) -> str:
        return f"{self.workspace.id}/computes/{self.name}"


@dataclass(frozen=True)
class Commitment:
    """A reservation: `quantity` instances of one VM size in one region, paid monthly, amortized
    at `hourly_rate` per instance-hour. The generator decides which computes' hours it covers
    (`covers`, in order, up to `quantity` × 24 h a day); what is left each day is unused."""

    subscription: Subscription
    order_id: str
    reservation_id: str
    name: str
    vm_size: str
    region: str
    quantity: int
    hourly_rate: Decimal
    covers: tuple[str, ...]  # compute ids, lowercase

    @property
    def id(self) -> str:
        return f"/providers/Microsoft.Capacity/reservationOrders/{self.order_id}/reservations/{self.reservation_id}"


@dataclass(frozen=True)
class Deployment:
    endpoint_name: str
    name: str
    instance_type: str
    instance_count: int
    provisioning_state: str  # Succeeded | Failed
    model: str  # azureml:<name>:<version>
    environment: str
    hourly_rate: Decimal
    created_on: datetime


@dataclass(frozen=True)
class OnlineEndpoint:
    workspace: Workspace
    name: str
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    tags: dict[str, str]
    deployments: tuple[Deployment, ...]
    created_on: datetime

    @property
    def id(self) -> str:
        return f"{self.workspace.id}/onlineEndpoints/{self.name}"


@dataclass(frozen=True)
class AssetVersion:
    workspace: Workspace
    kind: str  # model | environment | data
    name: str
    version: str
    created_on: datetime
    created_by: str
    is_archived: bool
    tags: dict[str, str]
    path: str | None = None  # model / data
    image: str | None = None  # environment
    conda_file: dict | None = None  # environment
    description: str = ""

    @property
    def id(self) -> str:
        plural = {"model": "models", "environment": "environments", "data": "data"}[self.kind]
        return f"{self.workspace.id}/{plural}/{self.name}/versions/{self.version}"


@dataclass(frozen=True)
class Job:
    workspace: Workspace
    name: str
    display_name: str
    experiment_name: str
    compute_name: str
    status: str
    created_on: datetime
    start_time: datetime
    end_time: datetime | None
    environment: str  # azureml:<name>:<version>
    model_inputs: tuple[str, ...] = ()
    # Job-level showback: the job's own tags (key, value pairs as written), its node count and
    # who submitted it (None: the workspace owner, as the ARM body's createdBy says).
    tags: tuple[tuple[str, str], ...] = ()
    instance_count: int = 1
    submitter: str | None = None

    @property
    def id(self) -> str:
        return f"{self.workspace.id}/jobs/{self.name}"

    def ran_until(self, captured_at: datetime) -> datetime:
        """When its nodes stopped running: its end, or the capture for a job still running."""
        return self.end_time or captured_at


@dataclass(frozen=True)
class PlantedFinding:
    """A finding the pipeline must report: rule id and the lowercased resource id (+ version)."""

    rule: str
    resource_id: str
    version: str | None = None


@dataclass(frozen=True)
class LineItem:
    """One cost row as Azure would bill it, plus the ground truth the generator knows."""

    charge_date: date
    subscription: Subscription
    resource_group: str
    resource_id: str  # as Azure writes it (mixed case)
    resource_name: str
    resource_type: str
    service_name: str
    service_category: str
    region: str
    charge_category: str  # Usage | Purchase | Credit
    charge_class: str  # "" | Correction
    charge_description: str
    sku_id: str
    sku_meter: str
    consumed_quantity: Decimal
    consumed_unit: str
    list_unit_price: Decimal
    contracted_unit_price: Decimal
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal
    contracted_cost: Decimal
    pricing_category: str  # Standard | Committed
    commitment_discount_id: str
    tags: dict[str, str]
    additional_info: dict[str, str]
    # --- ground truth, never written to the export ---
    true_project: str
    true_aml_kind: str  # compute | endpoint | workspace | dependency | other
    true_aml_name: str
    # --- the commitment the row belongs to (written to the export) ---
    commitment_name: str = ""
    commitment_type: str = ""
    commitment_status: str = ""  # Used | Unused | "" (a purchase, or on demand)

    @property
    def currency(self) -> str:
        return self.subscription.currency


@dataclass
class Tenant:
    seed: int
    months: list[date]  # first day of each billing month, ascending
    captured_at: datetime
    billing_account_id: str
    billing_account_name: str
    currency: str
    subscriptions: list[Subscription]
    resource_groups: list[ResourceGroup]
    workspaces: list[Workspace]
    compute_instances: list[ComputeInstance]
    clusters: list[Cluster]
    endpoints: list[OnlineEndpoint]
    asset_versions: list[AssetVersion]
    jobs: list[Job]
    planted_findings: list[PlantedFinding]
    commitments: list[Commitment] = field(default_factory=list)
    filler_resources: int = 0
    extra: dict = field(default_factory=dict)
    # The planted budget trend and deployment spike of demo/events.py (False: the clean series).
    events: bool = True

    def subscription(self, subscription_id: str) -> Subscription:
        return next(s for s in self.subscriptions if s.id == subscription_id)

    def workspace(self, name: str) -> Workspace:
        return next(w for w in self.workspaces if w.name == name)



FILLER_PROJECTS = ["fraud-detection", "recommendations", "churn-model", "vision-qa", "forecasting"]
# Meter shapes, taken from the real Azure ML rows in the FOCUS sample and EA exports.
VM_METERS = {
    "Standard_DS11_v2": ("Virtual Machines Dv2/DSv2 Series - D11 v2/DS11 v2", "DS11 v2"),
    "Standard_DS3_v2": ("Virtual Machines Dv2/DSv2 Series - D3 v2/DS3 v2", "DS3 v2"),
    "Standard_D4s_v3": ("Virtual Machines Dsv3 Series - D4s v3", "D4s v3"),
    "Standard_E4s_v3": ("Virtual Machines Esv3 Series - E4s v3", "E4s v3"),
    "Standard_NC6s_v3": ("Virtual Machines NCSv3 Series - NC6s v3", "NC6s v3"),
    "Standard_F4s_v2": ("Virtual Machines FSv2 Series - F4s v2", "F4s v2"),
}


def meter_for_vm_size(vm_size: str) -> str:
    return VM_METERS[vm_size][0]


def month_days(month: date) -> list[date]:
    return [month.replace(day=d) for d in range(1, calendar.monthrange(month.year, month.month)[1] + 1)]


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _dt(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, 0, tzinfo=UTC)


def build_tenant(seed: int = 42, months: int = 3, end_month: date = DEFAULT_END_MONTH, rows: int | None = None,
                 events: bool = True) -> Tenant:
    """Build the demo tenant. `rows` (total line items over all months) adds filler resources."""
    if months < 1:
        raise ValueError("months must be at least 1")
    rng = random.Random(seed)
    month_list = [add_months(end_month, -i) for i in range(months - 1, -1, -1)]
    captured_at = _dt(add_months(end_month, 1), 6)
    now = captured_at

    def ago(days: int, hour: int = 9) -> datetime:
        return (now - timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)

    prod = Subscription(_uuid(seed, "sub", "prod"), "contoso-ml-prod", {"environment": "prod"})
    # Research is billed through the EU billing profile, in euros: a second billing currency.
    research = Subscription(_uuid(seed, "sub", "research"), "contoso-ml-research", {"environment": "research"},
                            currency="EUR")
    rgs = [
        ResourceGroup(prod.id, "rg-fraud-prod", "eastus2", {"env": "prod"}),
        ResourceGroup(prod.id, "rg-recs", "eastus2", {}),
        ResourceGroup(prod.id, "rg-ml-platform", "westeurope", {"team": "ml-platform"}),
        ResourceGroup(research.id, "rg-vision", "westeurope", {}),
        ResourceGroup(research.id, "rg-forecast", "eastus2", {}),
        ResourceGroup(research.id, "rg-sandbox", "eastus2", {}),
        ResourceGroup(prod.id, "rg-genai", "eastus2", {}),
    ]
    # Tag mess on purpose: key case variants, a leading space, an alias key, trailing spaces in
    # values, and a workspace with no tags at all.
    ws_fraud = Workspace(prod.id, "rg-fraud-prod", "mlw-fraud-prod", "eastus2",
                         {"project": "fraud-detection", "owner": "alice@contoso.com", "cost-center": "CC-1001"},
                         ago(400), "fraud-detection")
    ws_recs = Workspace(prod.id, "rg-recs", "mlw-recs-prod", "eastus2",
                        {"Project": "Recommendations", "Owner": "bob@contoso.com", "CostCenter": "CC-1002"},
                        ago(380), "recommendations")
    ws_platform = Workspace(prod.id, "rg-ml-platform", "mlw-shared-platform", "westeurope",
                            {"project": "ml-platform", "owner": "platform@contoso.com", "cost-center": "CC-2000"},
                            ago(500), "ml-platform")
    ws_vision = Workspace(research.id, "rg-vision", "mlw-vision-dev", "westeurope",
                          {" project": "vision-qa ", "owner": "dave@contoso.com", "cost-center": "CC-3001"},
                          ago(300), "vision-qa")
    ws_forecast = Workspace(research.id, "rg-forecast", "mlw-forecast", "eastus2",
                            {"proj": "forecasting", "owner": "erin@contoso.com", "cost-center": "CC-3002"},
                            ago(250), "forecasting")
    ws_sandbox = Workspace(research.id, "rg-sandbox", "mlw-sandbox", "eastus2", {}, ago(200), UNALLOCATED)
    # An Azure AI Foundry hub and two projects. The hub's storage, registry, key vault and insights
    # serve both projects: one project's ARM body lists them, the other's does not (only its
    # hubResourceId says whose they are).
    ws_hub = Workspace(prod.id, "rg-genai", "hub-genai", "eastus2",
                       {"owner": "genai-platform@contoso.com", "cost-center": "CC-4000"}, ago(180), UNALLOCATED,
                       kind="Hub")
    ws_chatbot = Workspace(prod.id, "rg-genai", "proj-chatbot", "eastus2",
                           {"project": "chatbot", "owner": "hana@contoso.com", "cost-center": "CC-4001"}, ago(170),
                           "chatbot", kind="Project", hub=ws_hub, lists_hub_dependencies=True)
    ws_docsearch = Workspace(prod.id, "rg-genai", "proj-docsearch", "eastus2",
                             {"project": "doc-search", "owner": "ivan@contoso.com"}, ago(160), "doc-search",
                             kind="Project", hub=ws_hub, lists_hub_dependencies=False)
    workspaces = [ws_fraud, ws_recs, ws_platform, ws_vision, ws_forecast, ws_sandbox, ws_hub, ws_chatbot,
                  ws_docsearch]

    def user(name: str) -> tuple[str, str]:
        return _uuid(seed, "user", name), f"{name}@contoso.com"

    def ci(ws: Workspace, name: str, vm_size: str, state: str, last_op: LastOperation, idle: str | None,
           schedule: bool, who: str, tags: dict[str, str], on_rows: bool, rate: str, wd: str, we: str,
           stopped_since: date | None = None, type_tag: str = "Compute Instance",
           size_in: str = "details") -> ComputeInstance:
        oid, _ = user(who)
        return ComputeInstance(ws, name, vm_size, state, ago(rng.randint(120, 300)), last_op, idle, schedule,
                               oid, f"{who}@contoso.com", tags, on_rows, Decimal(rate), Decimal(wd), Decimal(we),
                               stopped_since, type_tag, size_in)

    compute_instances = [
        # Clean: idle shutdown set, recently started. Its rows name the size only in the charge
        # description, region suffix included, like the real FOCUS sample.
        ci(ws_fraud, "ci-alice-dev", "Standard_DS11_v2", "Running", LastOperation("Start", ago(1)), "PT60M",
           False, "alice", {"owner": "alice@contoso.com"}, False, "0.185", "9", "0", size_in="description"),
        # Planted: no idle shutdown, no schedule, running since 12 days.
        ci(ws_recs, "ci-bob-gpu", "Standard_NC6s_v3", "Running", LastOperation("Start", ago(12)), None,
           False, "bob", {"Project": "recommendations", "owner": "bob@contoso.com"}, True, "3.06", "24", "24"),
        # Planted: stopped 45 days ago and abandoned (idle shutdown was set, so only that rule).
        ci(ws_platform, "ci-carol-churn", "Standard_DS3_v2", "Stopped", LastOperation("Stop", ago(45)), "PT30M",
           False, "carol", {"project": "churn-model", "owner": "carol@contoso.com"}, True, "0.293", "0", "0",
           stopped_since=(now - timedelta(days=45)).date()),
        # Clean: no idle shutdown but an enabled stop schedule; started 2 days ago. Its rows spell
        # the type tag in lowercase and name the size only in the meter (SkuMeter).
        ci(ws_vision, "ci-dave-vision", "Standard_E4s_v3", "Running", LastOperation("Start", ago(2)), None,
           True, "dave", {}, False, "0.252", "10", "0", type_tag="computeinstance", size_in="meter"),
        # Planted: untagged instance in an untagged workspace (untagged spend), no idle shutdown.
        ci(ws_sandbox, "ci-temp-experiment", "Standard_DS3_v2", "Running", LastOperation("Restart", ago(3)), None,
           False, "frank", {}, False, "0.293", "24", "24"),
        # Clean: churn data scientist on the shared platform workspace, tags copied to rows.
        ci(ws_platform, "ci-gina-forecast", "Standard_DS11_v2", "Running", LastOperation("Start", ago(0, 7)),
           "PT45M", False, "gina", {"project": "forecasting", "owner": "gina@contoso.com", "costcenter": "CC-3002"},
           True, "0.185", "8", "0", type_tag="ComputeInstance"),
        # Clean: a Foundry project's instance, idle shutdown set, type tag spelled as one word.
        ci(ws_docsearch, "ci-ivan-index", "Standard_E4s_v3", "Running", LastOperation("Start", ago(1)), "PT60M",
           False, "ivan", {}, False, "0.252", "10", "0", type_tag="ComputeInstance"),
    ]

    def cluster(ws: Workspace, name: str, vm_size: str, min_n: int, max_n: int, idle_s: int, cur: int, idle_n: int,
                tags: dict[str, str], on_rows: bool, rate: str, priority: str = "Dedicated",
                type_tag: str = "AmlCompute") -> Cluster:
        return Cluster(ws, name, vm_size, priority, min_n, max_n, idle_s, cur, idle_n, ago(rng.randint(150, 350)),
                       tags, on_rows, Decimal(rate), type_tag)

    clusters = [
        cluster(ws_fraud, "cpu-cluster", "Standard_D4s_v3", 0, 4, 120, 0, 0, {}, False, "0.192"),
        # Planted: warm nodes.
        cluster(ws_recs, "gpu-cluster-warm", "Standard_NC6s_v3", 1, 4, 300, 1, 1,
                {"project": "recommendations"}, True, "3.06"),
        # Planted: slow scale-down (an hour idle before releasing nodes).
        cluster(ws_platform, "forecast-train", "Standard_F4s_v2", 0, 8, 3600, 0, 0,
                {"Project": "forecasting", "owner": "gina@contoso.com"}, False, "0.169", type_tag="Compute Cluster"),
        # Planted: unused (last job 60 days ago), costs nothing now but keeps quota.
        cluster(ws_platform, "old-churn-cluster", "Standard_D4s_v3", 0, 2, 120, 0, 0,
                {"project": "churn-model"}, True, "0.192", "LowPriority"),
        # Clean: tags not on rows, a type tag nobody documents: matched by VM size across every
        # compute type of the workspace, inherits the workspace.
        cluster(ws_forecast, "fc-cluster", "Standard_DS3_v2", 0, 6, 120, 0, 0, {}, False, "0.293",
                type_tag="Training Pool"),
    ]

    def dep(endpoint: str, name: str, sku: str, count: int, state: str, model: str, env: str, rate: str,
            days: int) -> Deployment:
        return Deployment(endpoint, name, sku, count, state, model, env, Decimal(rate), ago(days))

    endpoints = [
        OnlineEndpoint(ws_platform, "churn-scoring", {"blue": 100, "green": 0}, {}, {"project": "churn-model"}, (
            dep("churn-scoring", "blue", "Standard_DS3_v2", 2, "Succeeded", "azureml:churn-lgbm:1",
                "azureml:churn-env:2", "0.293", 150),
            # Planted: no traffic, still one instance billed.
            dep("churn-scoring", "green", "Standard_DS3_v2", 1, "Succeeded", "azureml:churn-lgbm:4",
                "azureml:churn-env:2", "0.293", 40),
        ), ago(160)),
        OnlineEndpoint(ws_vision, "vision-api", {"main": 100, "canary": 0}, {}, {}, (
            dep("vision-api", "main", "Standard_DS3_v2", 1, "Succeeded", "azureml:vision-resnet:3",
                "azureml:vision-env:1", "0.293", 90),
            # Planted: failed deployment that still holds an instance (and takes no traffic).
            dep("vision-api", "canary", "Standard_E4s_v3", 1, "Failed", "azureml:vision-resnet:3",
                "azureml:vision-env:1", "0.252", 20),
        ), ago(100)),
        OnlineEndpoint(ws_fraud, "fraud-realtime", {"live": 90, "shadow": 10}, {}, {"cost-center": "CC-1001"}, (
            dep("fraud-realtime", "live", "Standard_F4s_v2", 2, "Succeeded", "azureml:fraud-xgb:6",
                "azureml:fraud-env:5", "0.169", 30),
            dep("fraud-realtime", "shadow", "Standard_F4s_v2", 1, "Succeeded", "azureml:fraud-xgb:5",
                "azureml:fraud-env:5", "0.169", 50),
        ), ago(200)),
        OnlineEndpoint(ws_chatbot, "chat-api", {"main": 100}, {}, {}, (
            dep("chat-api", "main", "Standard_DS3_v2", 1, "Succeeded", "azureml:chat-model:1",
                "azureml:chat-env:1", "0.293", 60),
        ), ago(60)),
    ]

    versions: list[AssetVersion] = []

    def model_versions(ws: Workspace, name: str, ages: list[int], archived: set[int] = frozenset(),
                       path_of=None) -> None:
        for i, age in enumerate(ages, start=1):
            path = path_of(i) if path_of else f"azureml://datastores/workspaceblobstore/paths/models/{name}/{i}/"
            versions.append(AssetVersion(ws, "model", name, str(i), ago(age), f"{ws.tags.get('owner', 'svc-ml')}",
                                         i in archived, {}, path=path))

    def data_versions(ws: Workspace, name: str, ages: list[int], archived: set[int] = frozenset()) -> None:
        for i, age in enumerate(ages, start=1):
            versions.append(AssetVersion(ws, "data", name, str(i), ago(age), "svc-ingest", i in archived, {},
                                         path=f"azureml://datastores/workspaceblobstore/paths/data/{name}/v{i}/"))

    def env_versions(ws: Workspace, name: str, ages: list[int], image: str, archived: set[int] = frozenset(),
                     conda_of=None) -> None:
        for i, age in enumerate(ages, start=1):
            conda = conda_of(i) if conda_of else {
                "name": name, "channels": ["conda-forge"],
                "dependencies": [f"python=3.{9 + i % 3}", "pip", {"pip": [f"scikit-learn==1.{i}.0", "mlflow"]}]}
            versions.append(AssetVersion(ws, "environment", name, str(i), ago(age), "svc-ml", i in archived, {},
                                         image=image, conda_file=conda))

    # fraud-xgb: v1 archived (kept), v2 v3 old -> stale; v4..v6 latest three.
    model_versions(ws_fraud, "fraud-xgb", [260, 200, 150, 100, 40, 10], archived={1})
    # fraud-env v2 is old but referenced by a recent job -> kept; v1, v3 stale; v4, v5 deployed/latest.
    env_versions(ws_fraud, "fraud-env", [300, 250, 200, 30, 12], "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04")
    data_versions(ws_fraud, "transactions", [400, 300, 200, 120, 95, 5])
    # churn-lgbm v1 referenced by the blue deployment -> kept although old.
    model_versions(ws_platform, "churn-lgbm", [300, 250, 200, 40, 20])
    env_versions(ws_platform, "churn-env", [200, 100], "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04")
    # Duplicates: recs-model-copy:1 points at the same blob as recs-two-tower:3.
    model_versions(ws_recs, "recs-two-tower", [60, 45, 30])
    model_versions(ws_recs, "recs-model-copy", [20],
                   path_of=lambda i: "azureml://datastores/workspaceblobstore/paths/models/recs-two-tower/3/")
    recs_conda = {"name": "recs", "channels": ["conda-forge", "defaults"],
                  "dependencies": ["python=3.11", "pip", {"pip": ["torch==2.3.0", "pandas==2.2.2"]}]}
    env_versions(ws_recs, "recs-env", [50, 25], "mcr.microsoft.com/azureml/curated/acpt-pytorch-2.2-cuda12.1:5",
                 conda_of=lambda i: recs_conda)
    # Same image, same conda spec with keys in another order: a duplicate under another name.
    env_versions(ws_recs, "recs-env-copy", [10], "mcr.microsoft.com/azureml/curated/acpt-pytorch-2.2-cuda12.1:5",
                 conda_of=lambda i: {"dependencies": ["python=3.11", "pip", {"pip": ["torch==2.3.0", "pandas==2.2.2"]}],
                                     "channels": ["conda-forge", "defaults"], "name": "recs"})
    model_versions(ws_vision, "vision-resnet", [200, 150, 100, 60], archived={1, 2})
    env_versions(ws_vision, "vision-env", [120], "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04")
    data_versions(ws_forecast, "sales-daily", [30, 20, 10])
    data_versions(ws_sandbox, "scratch", [150, 140, 130, 120])

    jobs: list[Job] = []

    def job(ws: Workspace, compute: str, days_ago: int, hours: int, env: str, status: str = "Completed",
            models: tuple[str, ...] = ()) -> None:
        start = ago(days_ago, 10)
        name = f"job-{_uuid(seed, 'job', ws.name, compute, days_ago, len(jobs))[:8]}"
        jobs.append(Job(ws, name, f"{compute}-run-{len(jobs)}", f"{ws.name}-experiments", compute, status,
                        start - timedelta(minutes=5), start, start + timedelta(hours=hours), env, models))

    for d in (2, 5, 9, 16, 23):
        job(ws_fraud, "cpu-cluster", d, 3, "azureml:fraud-env:2" if d == 9 else "azureml:fraud-env:5")
    for d in (1, 4, 8, 15):
        job(ws_recs, "gpu-cluster-warm", d, 5, "azureml:recs-env:2")
    for d in (3, 6, 13, 20, 27):
        job(ws_platform, "forecast-train", d, 2, "azureml:churn-env:2")
    job(ws_platform, "old-churn-cluster", 60, 4, "azureml:churn-env:1")
    for d in (2, 11, 19):
        job(ws_forecast, "fc-cluster", d, 4, "azureml:sales-env:1")
    shared_cluster = shared_platform_cluster(ws_platform, ago(420))
    clusters.append(shared_cluster)
    jobs += shared_cluster_jobs(seed, shared_cluster, end_month, captured_at)

    tenant = Tenant(
        seed=seed, months=month_list, captured_at=captured_at,
        billing_account_id=f"/providers/Microsoft.Billing/billingAccounts/{rng.randint(10_000_000, 99_999_999)}",
        billing_account_name="Contoso Ltd", currency="USD",
        subscriptions=[prod, research], resource_groups=rgs, workspaces=workspaces,
        compute_instances=compute_instances, clusters=clusters, endpoints=endpoints, asset_versions=versions,
        jobs=jobs, planted_findings=[],
        commitments=[
            # Covers bob's GPU instance hour for hour: its findings free reserved hours, not cash.
            Commitment(prod, _uuid(seed, "ri-order", "nc6s"), _uuid(seed, "ri", "nc6s"), "ri-nc6sv3-recs",
                       "Standard_NC6s_v3", "eastus2", 1, Decimal("1.96"), (f"{ws_recs.id}/computes/ci-bob-gpu".lower(),)),
            # Covers the fraud cluster's few job hours: most of it goes unused.
            Commitment(prod, _uuid(seed, "ri-order", "d4s"), _uuid(seed, "ri", "d4s"), "ri-d4sv3-fraud",
                       "Standard_D4s_v3", "eastus2", 1, Decimal("0.121"), (f"{ws_fraud.id}/computes/cpu-cluster".lower(),)),
        ],
    )
    if rows is not None:
        base = sum(1 for m in month_list for _ in _base_line_items(tenant, m))
        extra_per_month = max(0, rows - base) / len(month_list)
        tenant.filler_resources = int(-(-extra_per_month // 28))  # ceil over the shortest month
    tenant.planted_findings = planted_findings(tenant)
    tenant.events = events
    return tenant


# ---------------------------------------------------------------------------------------------
# Job-level showback: a GPU cluster the platform team owns, shared by the jobs of several teams.
# Self-contained on purpose: its own cluster and jobs, nothing else of the tenant changes.
# ---------------------------------------------------------------------------------------------

SHARED_CLUSTER = "gpu-shared"


def shared_platform_cluster(ws: Workspace, created_on: datetime) -> Cluster:
    """The platform team's shared GPU cluster: tags on its cost rows, no warm nodes, a 30-minute
    scale-down (the most the slow-scale-down rule accepts) and a 20-minute node setup."""
    return Cluster(ws, SHARED_CLUSTER, "Standard_NC6s_v3", "Dedicated", 0, 8, 1800, 0, 0, created_on,
                   {"project": "ml-platform", "owner": "platform@contoso.com"}, True, Decimal("3.06"),
                   setup_seconds=1200)


def shared_cluster_jobs(seed: int, cluster: Cluster, end_month: date, captured_at: datetime) -> list[Job]:
    """Jobs of several projects on the shared cluster over the last three months: tagged (keys and
    values in several spellings) and untagged, 1 to 6 nodes, two crossing a month boundary, a
    day boundary, and one still running when the inventory was captured."""
    ws = cluster.workspace
    last = datetime(end_month.year, end_month.month, 1, tzinfo=UTC)
    previous = datetime(*add_months(end_month, -1).timetuple()[:3], tzinfo=UTC)
    before = datetime(*add_months(end_month, -2).timetuple()[:3], tzinfo=UTC)
    h = timedelta(hours=1)
    # (start, hours or None while running, nodes, tags, submitter, experiment)
    plan = [
        (before + 9 * 24 * h, 3, 1, (("project", "fraud-detection"),), "alice", "fraud-gnn"),
        (previous - 3 * h, 6, 2, (("project", "forecasting"),), "gina", "demand-tft"),  # Aug → Sep
        (previous + (5 * 24 + 10) * h, 4, 2, (("project", "churn-model"),), "carol", "churn-bert"),
        (previous + (15 * 24 + 10) * h, 6, 3, (), "platform-bot", "platform-benchmarks"),
        (last - 6 * h, 12, 4, (("project", "fraud-detection"),), "alice", "fraud-gnn"),  # Sep → Oct
        (last + (2 * 24 + 9) * h, 6, 2, (("Project", "Recommendations"),), "bob", "recs-two-tower"),
        (last + (4 * 24 + 14) * h, 3, 1, (), "platform-bot", "platform-benchmarks"),
        (last + (7 * 24 + 8) * h, 6, 4, (("proj", "vision-qa"),), "dave", "vision-vit"),
        (last + (12 * 24 + 20) * h, 8, 2, (("project", "forecasting"),), "gina", "demand-tft"),  # over midnight
        (last + (18 * 24 + 10) * h, 2, 1, (), "carol", "platform-debug"),
        (last + (25 * 24 + 9) * h, 5, 4, ((" PROJECT ", "fraud-detection "),), "alice", "fraud-gnn"),
        (captured_at - 8 * h, None, 2, (("project", "recommendations"),), "bob", "recs-two-tower"),  # running
    ]
    # Short debugging runs of the platform team, one node each: little work, a lot of idle tail.
    plan += [(last + ((19 + i) * 24 + 15) * h, Decimal("0.25"), 1 + i % 3, (), "platform-bot", "platform-debug")
             for i in range(12)]
    jobs = []
    for i, (start, hours, nodes, tags, who, experiment) in enumerate(plan):
        name = f"job-{_uuid(seed, 'shared-job', i)[:8]}"
        end = start + timedelta(hours=float(hours)) if hours is not None else None
        jobs.append(Job(ws, name, f"{experiment}-{i}", experiment, cluster.name,
                        "Completed" if end is not None else "Running", start - timedelta(minutes=25), start, end,
                        "azureml:churn-env:2", tags=tags, instance_count=nodes, submitter=f"{who}@contoso.com"))
    return jobs


def overlap_hours(start: datetime, end: datetime, lo: datetime, hi: datetime) -> Decimal:
    """Hours of [start, end) inside [lo, hi)."""
    seconds = (min(end, hi) - max(start, lo)).total_seconds()
    return Decimal(int(seconds)) / 3600 if seconds > 0 else Decimal(0)


def cluster_day_node_hours(t: Tenant, k: Cluster, day: date) -> Decimal:
    """The node-hours a cluster bills on `day`: its warm nodes, each job's nodes while it runs
    that day, each node's setup on the day it starts and its scale-down tail on the day it ends."""
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hi = lo + timedelta(days=1)
    total = Decimal(k.min_nodes * 24)
    for j in t.jobs:
        if j.workspace != k.workspace or j.compute_name != k.name:
            continue
        until = j.ran_until(t.captured_at)
        total += overlap_hours(j.start_time, until, lo, hi) * j.instance_count
        if lo <= j.start_time < hi:
            total += Decimal(k.setup_seconds) / 3600 * j.instance_count
        if j.end_time is not None and lo <= j.end_time < hi:
            total += Decimal(k.idle_seconds_before_scaledown) / 3600 * j.instance_count
    return total


# Defaults of finops.yaml the generator states on its own: an idle share above this fires
# cluster_idle_share (findings.cluster_idle_share_max_pct), the idle line goes to the cluster's project.
CLUSTER_IDLE_SHARE_MAX_PCT = Decimal(20)


@dataclass(frozen=True)
class ClusterMonth:
    """One cluster's month in one currency as the generator billed it, split by the policy."""

    cluster: Cluster
    currency: str
    effective_cost: Decimal
    billed_cost: Decimal
    billed_node_hours: Decimal
    job_node_hours: dict[str, Decimal]  # job id (lowercase) → node-hours inside the month
    job_project: dict[str, str]
    project: str  # the cluster's own

    @property
    def jobs_total(self) -> Decimal:
        return sum(self.job_node_hours.values(), Decimal(0))

    @property
    def idle_node_hours(self) -> Decimal:
        return max(Decimal(0), self.billed_node_hours - self.jobs_total)

    def ratios(self) -> tuple[dict[str, Decimal], Decimal]:
        """(job id → share of the cost, idle share): node-hours over the billed node-hours, or over
        the jobs' own when they exceed them (scaled, no idle); no jobs, all idle."""
        jobs = {j: h for j, h in self.job_node_hours.items() if h > 0}
        total = self.jobs_total
        if not jobs:
            return {}, Decimal(1)
        if self.billed_node_hours >= total and self.billed_node_hours > 0:
            return ({j: h / self.billed_node_hours for j, h in jobs.items()},
                    (self.billed_node_hours - total) / self.billed_node_hours)
        return {j: h / total for j, h in jobs.items()}, Decimal(0)

    def idle_share_pct(self) -> Decimal:
        return self.ratios()[1] * 100


def cluster_months(t: Tenant, month: date) -> list[ClusterMonth]:
    """Every cluster billed in `month`, per currency, with its jobs' node-hours clipped to it."""
    lo = datetime(month.year, month.month, 1, tzinfo=UTC)
    hi = datetime(*add_months(month, 1).timetuple()[:3], tzinfo=UTC)
    billed: dict[tuple[str, str], list[Decimal]] = {}
    for item in _base_line_items(t, month):
        if item.true_aml_kind != "compute":
            continue
        key = (f"{item.resource_id.lower()}/computes/{item.true_aml_name.lower()}", item.currency)
        facts = billed.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
        facts[0] += item.effective_cost
        facts[1] += item.billed_cost
        if item.consumed_unit == "1 Hour":
            facts[2] += item.consumed_quantity
    out = []
    for k in t.clusters:
        project = _tag_project(k.tags) or k.workspace.project
        for (cid, currency), (eff, bill, hours) in sorted(billed.items()):
            if cid != k.id.lower():
                continue
            node_hours, projects = {}, {}
            for j in t.jobs:
                if j.workspace == k.workspace and j.compute_name == k.name:
                    nh = overlap_hours(j.start_time, j.ran_until(t.captured_at), lo, hi) * j.instance_count
                    if nh > 0:
                        node_hours[j.id.lower()] = nh
                        projects[j.id.lower()] = _tag_project(dict(j.tags)) or project
            out.append(ClusterMonth(k, currency, eff, bill, hours, node_hours, projects, project))
    return out


# ---------------------------------------------------------------------------------------------
# Ground truth for findings: the rule conditions of the findings rules (dagster_project/findings/rules/) evaluated on the generator's own
# objects. Defaults mirror the configuration defaults.
# ---------------------------------------------------------------------------------------------

def planted_findings(t: Tenant) -> list[PlantedFinding]:
    now = t.captured_at
    out: list[PlantedFinding] = []
    for c in t.compute_instances:
        if c.idle_shutdown is None and not c.stop_schedule_enabled:
            out.append(PlantedFinding("ci_no_idle_shutdown", c.id.lower()))
        if c.state == "Running" and now - c.last_operation.time > timedelta(days=7):
            out.append(PlantedFinding("ci_left_running", c.id.lower()))
        if c.state == "Stopped" and now - c.last_operation.time > timedelta(days=30):
            out.append(PlantedFinding("ci_stopped_abandoned", c.id.lower()))
    for k in t.clusters:
        if k.min_nodes > 0:
            out.append(PlantedFinding("cluster_warm_nodes", k.id.lower()))
        if k.idle_seconds_before_scaledown > 1800:
            out.append(PlantedFinding("cluster_slow_scaledown", k.id.lower()))
    # Idle the configuration findings above do not already explain (no warm nodes, a quick scale-down).
    for cm in cluster_months(t, t.months[-1]):
        k = cm.cluster
        if (k.min_nodes == 0 and k.idle_seconds_before_scaledown <= 1800
                and cm.idle_share_pct() > CLUSTER_IDLE_SHARE_MAX_PCT):
            out.append(PlantedFinding("cluster_idle_share", k.id.lower()))
    for k in t.clusters:
        recent = [j for j in t.jobs if j.workspace == k.workspace and j.compute_name == k.name
                  and now - j.created_on <= timedelta(days=30)]
        if not recent:
            out.append(PlantedFinding("cluster_unused", k.id.lower()))
    for e in t.endpoints:
        for d in e.deployments:
            dep_id = f"{e.id}/deployments/{d.name}".lower()
            if e.traffic.get(d.name, 0) == 0 and e.mirror_traffic.get(d.name, 0) == 0 and d.instance_count >= 1:
                out.append(PlantedFinding("deployment_no_traffic", dep_id))
            if d.provisioning_state == "Failed" and d.instance_count >= 1:
                out.append(PlantedFinding("deployment_failed_billed", dep_id))
    referenced = {d.model for e in t.endpoints for d in e.deployments}
    referenced |= {d.environment for e in t.endpoints for d in e.deployments}
    referenced |= {j.environment for j in t.jobs if now - j.created_on <= timedelta(days=30)}
    referenced |= {m for j in t.jobs if now - j.created_on <= timedelta(days=30) for m in j.model_inputs}
    by_name: dict[tuple[str, str, str], list[AssetVersion]] = {}
    for v in t.asset_versions:
        by_name.setdefault((v.workspace.id, v.kind, v.name), []).append(v)
    for group in by_name.values():
        latest = {v.version for v in sorted(group, key=lambda v: int(v.version))[-3:]}
        for v in group:
            if (v.version not in latest and not v.is_archived and now - v.created_on > timedelta(days=90)
                    and f"azureml:{v.name}:{v.version}" not in referenced):
                out.append(PlantedFinding("stale_version", v.id.lower(), v.version))
    seen_path: dict[tuple[str, str], AssetVersion] = {}
    seen_env: dict[tuple[str, str, str], AssetVersion] = {}
    for v in sorted(t.asset_versions, key=lambda v: (v.created_on, v.name, int(v.version))):
        if v.is_archived:
            continue
        if v.path:
            key = (v.workspace.id, v.path)
            if key in seen_path and seen_path[key].name != v.name:
                out.append(PlantedFinding("duplicate_artifact", v.id.lower(), v.version))
            seen_path.setdefault(key, v)
        if v.image:
            key = (v.workspace.id, v.image, json.dumps(_canonical_conda(v.conda_file), sort_keys=True))
            if key in seen_env and seen_env[key].name != v.name:
                out.append(PlantedFinding("duplicate_artifact", v.id.lower(), v.version))
            seen_env.setdefault(key, v)
    return out


def _canonical_conda(spec: dict | None) -> object:
    if spec is None:
        return None
    if isinstance(spec, dict):
        return {k: _canonical_conda(v) for k, v in sorted(spec.items())}
    if isinstance(spec, list):
        return sorted((_canonical_conda(x) for x in spec), key=repr)
    return spec


# ---------------------------------------------------------------------------------------------
# Cost rows. Azure bills Azure ML compute and endpoints on the *workspace* resource id, telling
# them apart only by tags (ComputeType, azuremlendpoint, azuremldeployment) and the meter; the
# workspace's storage, registry, key vault and insights are billed as their own resources.
# ---------------------------------------------------------------------------------------------

def _tag_project(tags: dict[str, str]) -> str | None:
    for k, v in tags.items():
        if k.strip().lower() in ("project", "proj", "projectname") and v.strip():
            return v.strip().lower()
    return None


def line_items(t: Tenant, month: date) -> Iterator[LineItem]:
    """Every cost row of `month`, streamed: the tenant's own resources, then filler resources."""
    yield from _base_line_items(t, month)
    yield from _filler_line_items(t, month)
    yield from trend_line_items(t, month, _item, [d for d in month_days(month) if d < t.captured_at.date()])


def _rate_jitter(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(9_500, 10_500)) / Decimal(10_000)


def _item(t: Tenant, day: date, ws_or_sub, rid: str, name: str, rtype: str, service: str, category: str,
          meter: str, sku: str, qty: Decimal, unit: str, price: Decimal, tags: dict[str, str], project: str,
          kind: str, aml_name: str, rg: str | None = None, sub: Subscription | None = None,
          charge_category: str = "Usage", charge_class: str = "", region: str | None = None,
          info: dict[str, str] | None = None, sku_meter: str | None = None) -> LineItem:
    cost = (qty * price).quantize(TEN_PLACES)
    list_cost = (qty * price * Decimal("1.0")).quantize(TEN_PLACES)
    if isinstance(ws_or_sub, Workspace):
        sub = t.subscription(ws_or_sub.subscription_id)
        rg = ws_or_sub.resource_group
        region = region or ws_or_sub.location
    return LineItem(
        charge_date=day, subscription=sub, resource_group=rg, resource_id=rid, resource_name=name,
        resource_type=rtype, service_name=service, service_category=category, region=region or "eastus2",
        charge_category=charge_category, charge_class=charge_class, charge_description=meter,
        sku_id=sku, sku_meter=meter.split(" - ")[-1] if sku_meter is None else sku_meter, consumed_quantity=qty, consumed_unit=unit,
        list_unit_price=price, contracted_unit_price=price, billed_cost=cost, effective_cost=cost,
        list_cost=list_cost, contracted_cost=cost, pricing_category="Standard", commitment_discount_id="",
        tags=tags, additional_info=info or {}, true_project=project, true_aml_kind=kind, true_aml_name=aml_name,
    )


def _mess(rng: random.Random, rid: str) -> str:
    """Azure writes resource ids with inconsistent casing; reproduce that."""
    r = rng.random()
    if r < 0.3:
        return rid.lower()
    if r < 0.4:
        return rid.replace("resourceGroups", "resourcegroups")
    return rid


# A month's base rows are drawn again by every pass that reads them: the exports and each ground
# truth of `build_expected` (eight passes a month, ~1.4 s of the demo's ~1.9 s of generation).
# Inside `shared_base_line_items` each month is drawn once and the same rows (frozen dataclasses)
# are handed to every pass; outside it they are drawn anew, so a tenant changed between calls
# (build_tenant sets its fillers after counting the base rows) is never served stale rows.
_SHARED_BASE: dict[tuple[int, date], tuple[LineItem, ...]] | None = None


@contextmanager
def shared_base_line_items() -> Iterator[None]:
    """Draw each month's base rows once for the block; the tenants read in it must not change."""
    global _SHARED_BASE
    outer = _SHARED_BASE
    _SHARED_BASE = {} if outer is None else outer
    try:
        yield
    finally:
        _SHARED_BASE = outer


def _base_line_items(t: Tenant, month: date) -> Iterator[LineItem]:
    if _SHARED_BASE is None:
        return _draw_base_line_items(t, month)
    key = (id(t), month)
    if key not in _SHARED_BASE:
        _SHARED_BASE[key] = tuple(_draw_base_line_items(t, month))
    return iter(_SHARED_BASE[key])


def _draw_base_line_items(t: Tenant, month: date) -> Iterator[LineItem]:
    rng = random.Random(f"{t.seed}/{month.isoformat()}")
    now = t.captured_at.date()
    fraud_storage = t.workspace("mlw-fraud-prod").storage_account_id
    AML = ("Azure Machine Learning", "AI and Machine Learning")
    covering = {compute_id: c for c in t.commitments for compute_id in c.covers}

    def vm_rows(day: date, used: dict[str, Decimal], ws: Workspace, compute_id: str, vm_size: str, priority: str,
                qty: Decimal, rate: Decimal, row_tags: dict[str, str], project: str, aml_name: str,
                info: dict[str, str], size_in: str) -> Iterator[LineItem]:
        """The VM-hour rows of one compute today: the hours a commitment covers (billed by the
        commitment, amortized at its rate), then the rest on demand."""
        meter, sku_meter = _vm_meter(vm_size, priority, size_in, ws.location)
        if size_in != "details":
            info = {k: v for k, v in info.items() if k != "ServiceType"}
        rid = _mess(rng, ws.id)
        commitment = covering.get(compute_id.lower())
        covered = Decimal(0)
        if commitment is not None and commitment.vm_size == vm_size:
            covered = min(qty, commitment.quantity * 24 - used[commitment.id])
            used[commitment.id] += covered
        if covered > 0:
            item = _item(t, day, ws, rid, ws.name, "Azure Machine Learning workspace", *AML, meter,
                         VM_METERS[vm_size][1], covered, "1 Hour", commitment.hourly_rate, row_tags, project,
                         "compute", aml_name, info=info, sku_meter=sku_meter)
            yield _committed(item, commitment, "Used", list_price=rate)
        if qty - covered > 0:
            yield _item(t, day, ws, rid, ws.name, "Azure Machine Learning workspace", *AML, meter,
                        VM_METERS[vm_size][1], qty - covered, "1 Hour", rate, row_tags, project, "compute",
                        aml_name, info=info, sku_meter=sku_meter)

    for day in month_days(month):
        if day >= now:
            break
        weekend = day.weekday() >= 5
        # Hours of each commitment used today: a reservation covers up to quantity × 24 h a day.
        used = {c.id: Decimal(0) for c in t.commitments}
        for c in t.compute_instances:
            ws = c.workspace
            in_use = c.stopped_since is None or day < c.stopped_since
            hours = (c.weekend_hours if weekend else c.weekday_hours) if in_use else Decimal(0)
            project = _tag_project(c.tags) or ws.project
            row_tags = {"ComputeType": c.type_tag}
            if c.tags_on_cost_rows:
                row_tags.update(c.tags)
            info = {"ServiceType": c.vm_size, "NodeType": "Dedicated", "UsageType": "vm",
                    "ClusterType": "DSI", "AMLResourceType": "ComputeInstance"}
            if hours > 0:
                # Metered hours vary a little from day to day, but an instance is one node: never
                # more than 24 hours a day.
                qty = min(Decimal(24), (hours * _rate_jitter(rng)).quantize(Decimal("0.000001")))
                yield from vm_rows(day, used, ws, c.id, c.vm_size, "Dedicated", qty, c.hourly_rate, row_tags, project, c.name,
                                   info, c.size_in)
            # The OS disk bills every day, running or not. Its row names no VM size, so without the
            # compute's tags on it only the workspace can claim it.
            disk_project = project if c.tags_on_cost_rows else ws.project
            yield _item(t, day, ws, _mess(rng, ws.id), ws.name, "Azure Machine Learning workspace", *AML,
                        "Premium SSD Managed Disks - P10 LRS Disk", "P10 LRS", Decimal("0.0322580645"),
                        "1/Month", Decimal("19.71"), row_tags, disk_project,
                        "compute" if c.tags_on_cost_rows else "workspace", c.name if c.tags_on_cost_rows else ws.name,
                        info={"UsageType": "disks", "ClusterType": "DSI", "AMLResourceType": "ComputeInstance"})
        for k in t.clusters:
            ws = k.workspace
            node_hours = cluster_day_node_hours(t, k, day)
            if node_hours == 0:
                continue
            if node_hours > k.max_nodes * 24:
                raise ValueError(f"demo cluster {k.name} would bill {node_hours} node-hours on {day}, "
                                 f"more than its {k.max_nodes} nodes can run")
            project = _tag_project(k.tags) or ws.project
            row_tags = {"ComputeType": k.type_tag}
            if k.tags_on_cost_rows:
                row_tags.update(k.tags)
            yield from vm_rows(day, used, ws, k.id, k.vm_size, k.vm_priority, node_hours.quantize(Decimal("0.000001")),
                               k.hourly_rate, row_tags, project, k.name,
                               {"ServiceType": k.vm_size, "NodeType": k.vm_priority, "UsageType": "vm",
                                "AMLResourceType": "AmlCompute"}, k.size_in)
        for e in t.endpoints:
            ws = e.workspace
            project = _tag_project(e.tags) or ws.project
            for d in e.deployments:
                if d.created_on.date() > day:
                    continue
                row_tags = {"azuremlendpoint": e.name, "azuremldeployment": d.name,
                            "ComputeType": "Managed Online Endpoint"}
                yield _item(t, day, ws, _mess(rng, ws.id), ws.name, "Azure Machine Learning workspace", *AML,
                            meter_for_vm_size(d.instance_type), VM_METERS[d.instance_type][1],
                            Decimal(24 * instances_on(t, e.name, d.name, day, d.instance_count)), "1 Hour",
                            d.hourly_rate, row_tags, project,
                            "endpoint", f"{e.name}/{d.name}",
                            info={"ServiceType": d.instance_type, "UsageType": "vm",
                                  "AMLResourceType": "ManagedOnlineEndpoint"})
        for ws in t.workspaces:
            if not ws.bills_dependencies:
                continue  # a Foundry project uses its hub's storage, registry, key vault, insights
            sub = t.subscription(ws.subscription_id)
            deps = [
                (ws.storage_account_id, "Microsoft.Storage/storageAccounts", "Storage", "Storage",
                 "Hot LRS Data Stored", "Hot LRS", Decimal(rng.randint(50, 900)) / Decimal(31), "1 GB/Month",
                 Decimal("0.0208")),
                (ws.container_registry_id, "Microsoft.ContainerRegistry/registries", "Container Registry",
                 "Containers", "Standard Registry Unit", "Standard", Decimal(1), "1/Day", Decimal("0.6667")),
                (ws.key_vault_id, "Microsoft.KeyVault/vaults", "Key Vault", "Security", "Standard Operations",
                 "Standard", Decimal(rng.randint(1, 40)) / Decimal(10), "10K", Decimal("0.03")),
                (ws.application_insights_id, "Microsoft.Insights/components", "Azure Monitor",
                 "Management and Governance", "Pay-as-you-go Data Ingestion", "Analytics Logs",
                 Decimal(rng.randint(1, 300)) / Decimal(100), "1 GB", Decimal("2.30")),
            ]
            for rid, rtype, service, category, meter, sku, qty, unit, price in deps:
                # The fraud team tagged its storage account; every other dependency is untagged and
                # shared by the projects that used the workspaces it serves in the month (a hub's:
                # the hub and its projects; settled per month by `shared_dependency_weights`).
                tags = {"project": "fraud-detection"} if rid == fraud_storage else {}
                project = "fraud-detection" if tags else f"{SHARED_PREFIX}{ws.id.lower()}"
                yield _item(t, day, ws, _mess(rng, rid), rid.rsplit("/", 1)[-1], rtype, service, category, meter,
                            sku, qty, unit, price, tags, project, "dependency", ws.name, sub=sub)
        # What the commitments did not cover today: unused hours, billed by the commitment itself.
        for c in t.commitments:
            unused = c.quantity * 24 - used[c.id]
            if unused > 0:
                item = _item(t, day, None, c.id, c.name, "Microsoft.Capacity/reservationOrders/reservations",
                             "Virtual Machines", "Compute", meter_for_vm_size(c.vm_size), VM_METERS[c.vm_size][1],
                             unused, "1 Hour", c.hourly_rate, {}, UNUSED_COMMITMENT, "other", "", rg="",
                             sub=c.subscription, region=c.region)
                yield _committed(item, c, "Unused")
    # A credit on the fraud workspace.
    ws = t.workspace("mlw-fraud-prod")
    credit_day = month.replace(day=15)
    if credit_day < now:
        credit = _item(t, credit_day, ws, ws.id, ws.name, "Azure Machine Learning workspace",
                       "Azure Machine Learning", "AI and Machine Learning", "Service credit - SLA breach",
                       "Credit", Decimal(1), "1", Decimal("-25.5000000000"), {"project": "fraud-detection"},
                       "fraud-detection", "workspace", ws.name, charge_category="Credit")
        yield credit
    # The monthly payment of each reservation: billed, and amortized into the hours above (used or
    # unused), so its effective cost is 0. Payment = the month's hours × the amortized rate.
    if month < now:
        for c in t.commitments:
            hours = Decimal(len(month_days(month)) * 24 * c.quantity)
            purchase = _item(t, month, None, "", "", "", "Virtual Machines", "Compute",
                             f"Reserved VM Instance, {c.vm_size}, {METER_REGIONS.get(c.region, c.region)}, 1 Year",
                             f"{VM_METERS[c.vm_size][1]} RI", hours, "1 Hour", c.hourly_rate, {},
                             COMMITMENT_PURCHASES, "other", "", rg="", sub=c.subscription, charge_category="Purchase")
            yield _replace(_committed(purchase, c, ""), effective_cost=Decimal(0))


METER_REGIONS = {"eastus2": "US East 2", "westeurope": "EU West", "eastus": "US East", "westus2": "US West 2"}


def _vm_meter(vm_size: str, priority: str, size_in: str, region: str) -> tuple[str, str]:
    """(charge description, meter name) of a VM-hour row, by where the row carries the size."""
    subcategory, size = VM_METERS[vm_size][0].split(" - ")[0], VM_METERS[vm_size][1]
    meter = VM_METERS[vm_size][0] + (" Low Priority" if priority == "LowPriority" else "")
    if size_in == "description":
        # Only the product name says it, with the region after it (`… - D11 v2/DS11 v2 - US East 2`).
        return f"{meter} - {METER_REGIONS.get(region, region)}", ""
    if size_in == "meter":
        return subcategory, size  # only the meter name (SkuMeter / MeterName) says it
    return meter, meter.split(" - ")[-1]


def _committed(item: LineItem, commitment: Commitment, status: str, list_price: Decimal | None = None) -> LineItem:
    """A row billed by a commitment: its effective cost is amortized, its billed cost is the
    commitment's (0 here; the purchase row bills it)."""
    changes = dict(pricing_category="Committed", commitment_discount_id=commitment.id,
                   commitment_name=commitment.name, commitment_type="Reservation", commitment_status=status)
    if status:
        changes["billed_cost"] = Decimal(0)
    if list_price is not None:
        changes.update(list_unit_price=list_price,
                       list_cost=(item.consumed_quantity * list_price).quantize(TEN_PLACES))
    return _replace(item, **changes)


def _replace(item: LineItem, **changes) -> LineItem:
    from dataclasses import replace
    return replace(item, **changes)


def _filler_line_items(t: Tenant, month: date) -> Iterator[LineItem]:
    """Plain VMs and disks tagged with a project: volume for benchmarks, consistent with the tenant."""
    if not t.filler_resources:
        return
    now = t.captured_at.date()
    sub = t.subscriptions[0]
    days = [d for d in month_days(month) if d < now]
    for i in range(t.filler_resources):
        project = FILLER_PROJECTS[i % len(FILLER_PROJECTS)]
        rg = f"rg-{project}-apps"
        name = f"vm-{project[:6]}-{i:06d}"
        rid = f"/subscriptions/{sub.id}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
        tags = {"project": project} if i % 7 else {"Project": project.title()}
        price = Decimal("0.096") + Decimal(i % 13) / Decimal(1000)
        for day in days:
            qty = Decimal(8 + (i + day.day) % 17)
            yield _item(t, day, None, rid, name, "Microsoft.Compute/virtualMachines", "Virtual Machines", "Compute",
                        "Virtual Machines D2s v3 Series - D2s v3", "D2s v3", qty, "1 Hour", price, tags, project,
                        "other", "", rg=rg, sub=sub)


def shared_dependency_weights(t: Tenant, month: date) -> dict[str, dict[str, Decimal]]:
    """workspace id (lowercase) → project → share of its untagged dependencies in `month`.

    The projects that used the workspaces a dependency serves — the workspace itself and, for a
    hub, each of its projects — share in proportion to their direct compute, endpoint and
    workspace-level spend in the dependency's currency (the default `direct_spend` policy). A
    dependency only `(unallocated)` used keeps its workspace's own project (its tag, or
    unallocated).
    """
    direct: dict[tuple[str, str], dict[str, Decimal]] = {}
    for item in _base_line_items(t, month):
        if item.true_aml_kind in ("compute", "endpoint", "workspace"):
            per_project = direct.setdefault((item.resource_id.lower(), item.currency), {})
            per_project[item.true_project] = per_project.get(item.true_project, Decimal(0)) + item.effective_cost
    weights: dict[str, dict[str, Decimal]] = {}
    for ws in t.workspaces:
        if not ws.bills_dependencies:
            continue
        currency = t.subscription(ws.subscription_id).currency
        served = [ws, *(p for p in t.workspaces if p.hub is not None and p.hub.id == ws.id)]
        spend: dict[str, Decimal] = {}
        for w in served:
            for project, amount in direct.get((w.id.lower(), currency), {}).items():
                spend[project] = spend.get(project, Decimal(0)) + amount
        positive = {p: a for p, a in spend.items() if a > 0}
        if set(positive) - {UNALLOCATED}:
            total = sum(positive.values(), Decimal(0))
            weights[ws.id.lower()] = {p: a / total for p, a in sorted(positive.items())}
        else:
            weights[ws.id.lower()] = {ws.project: Decimal(1)}
    return weights
