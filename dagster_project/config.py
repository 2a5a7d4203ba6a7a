"""`finops.yaml`: the model, its defaults, and validation errors that name the key.

Every key has a default, so an empty or missing file is a valid configuration. An invalid file is
rejected with `ConfigError`, whose message names the file, the key path and the reason.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dagster_project.budgets.settings import Alerts, Anomalies, Budgets


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message is meant for the user as is."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def normalize_tag_key(key: str) -> str:
    """Tag keys compare case-insensitively and trimmed: `Project`, `project`, ` project` are one key."""
    return key.strip().lower()


class TagKeys(_Strict):
    """Which tag keys name a project, an owner and a cost center. First match in the list wins."""

    project: list[str] = Field(default_factory=lambda: ["project", "proj", "projectname", "project-name"])
    owner: list[str] = Field(default_factory=lambda: ["owner", "owner-email", "createdby", "created-by"])
    cost_center: list[str] = Field(default_factory=lambda: ["cost-center", "costcenter", "cost_center", "cc"])
    # Tags that name the Azure ML compute a workspace-level cost row belongs to.
    compute_name: list[str] = Field(default_factory=lambda: ["computename", "compute-name", "aml-compute"])
    # Value aliases, applied after normalization: {"frauddetection": "fraud-detection"}.
    project_aliases: dict[str, str] = Field(default_factory=dict)
    # Project values are trimmed; `lowercase` also folds case so `Recommendations` = `recommendations`.
    project_case: Literal["lowercase", "preserve"] = "lowercase"

    @field_validator("project", "owner", "cost_center", "compute_name")
    @classmethod
    def _non_empty_keys(cls, keys: list[str]) -> list[str]:
        cleaned = [normalize_tag_key(k) for k in keys]
        if not cleaned or any(not k for k in cleaned):
            raise ValueError("must be a non-empty list of non-empty tag keys")
        return cleaned

    @field_validator("project_aliases")
    @classmethod
    def _normalize_aliases(cls, aliases: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): v.strip() for k, v in aliases.items()}


InheritanceLevel = Literal["row", "aml_resource", "workspace", "resource_group", "subscription"]
DEFAULT_INHERITANCE: list[InheritanceLevel] = ["row", "aml_resource", "workspace", "resource_group", "subscription"]


class AttributionRule(_Strict):
    """An explicit rule for spend no tag claims: glob patterns (case-insensitive) → project."""

    project: str
    resource_group: str | None = None
    subscription: str | None = None
    resource_id: str | None = None
    owner: str | None = None
    cost_center: str | None = None

    @model_validator(mode="after")
    def _has_a_pattern(self) -> AttributionRule:
        if not (self.resource_group or self.subscription or self.resource_id):
            raise ValueError("a rule needs at least one of resource_group, subscription, resource_id")
        return self


class SharedCosts(_Strict):
    """How a workspace's storage, registry, key vault and insights spend is split across projects."""

    policy: Literal["even", "direct_spend", "fixed"] = "direct_spend"
    # For `fixed`: project → percentage; must sum to 100.
    percentages: dict[str, Decimal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fixed_sums_to_100(self) -> SharedCosts:
        if self.policy == "fixed":
            total = sum(self.percentages.values(), Decimal(0))
            if total != Decimal(100):
                raise ValueError(f"percentages must sum to 100 for policy 'fixed' (they sum to {total})")
        return self


class Commitments(_Strict):
    """Where reservation and savings plan rows go that carry no project tag of their own."""

    # Unused commitment hours (CommitmentDiscountStatus Unused, EA UnusedReservation): nobody used
    # them, so no inherited tag may hand them to a project.
    unused_project: str = "(unused commitment)"
    # Purchases stay billed-only (effective cost 0, amortized into the usage they cover).
    purchase_project: str = "(commitment purchases)"

    @field_validator("unused_project", "purchase_project")
    @classmethod
    def _non_empty_project(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty project name")
        return value.strip()


class JobShowback(_Strict):
    """Job-level showback on compute clusters (docs/tables.md, *Job-level showback*)."""

    # Split every compute cluster's cost among the jobs that ran on it by node-hours.
    enabled: bool = True
    # Where a cluster's idle line (billed node-hours no job used) goes: null = the cluster's own
    # project, or a named project (e.g. "(cluster idle)") that makes idle a line of its own.
    idle_project: str | None = None

    @field_validator("idle_project")
    @classmethod
    def _non_empty_idle_project(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a non-empty project name, or null for the cluster's own project")
        return value.strip() if value is not None else None


class Attribution(_Strict):
    inheritance: list[InheritanceLevel] = Field(default_factory=lambda: list(DEFAULT_INHERITANCE))
    rules: list[AttributionRule] = Field(default_factory=list)
    shared_costs: SharedCosts = Field(default_factory=SharedCosts)
    # Extra spellings of the ComputeType tag: spelling → compute type (ComputeInstance, AmlCompute,
    # OnlineEndpoint, Kubernetes, Serverless). Built-in spellings: docs/tables.md.
    compute_type_synonyms: dict[str, str] = Field(default_factory=dict)
    commitments: Commitments = Field(default_factory=Commitments)
    job_showback: JobShowback = Field(default_factory=JobShowback)

    @field_validator("compute_type_synonyms")
    @classmethod
    def _known_compute_types(cls, synonyms: dict[str, str]) -> dict[str, str]:
        from dagster_project.attribution.compute import COMPUTE_TYPES

        for spelling, canonical in synonyms.items():
            if not spelling.strip():
                raise ValueError("a spelling must not be empty")
            if canonical not in COMPUTE_TYPES:
                raise ValueError(f"{spelling!r}: unknown compute type {canonical!r} "
                                 f"(one of {', '.join(COMPUTE_TYPES)})")
        return synonyms


class FindingThresholds(_Strict):
    """Thresholds of the cleanup rules (dagster_project/findings/rules/). Ages count back from the snapshot's capture."""

    ci_left_running_days: int = Field(7, ge=1)
    ci_stopped_abandoned_days: int = Field(30, ge=1)
    work_hours_per_week: int = Field(50, ge=1, le=168)
    cluster_idle_seconds_max: int = Field(1800, ge=0)
    cluster_recommended_idle_seconds: int = Field(120, ge=0)
    cluster_unused_days: int = Field(30, ge=1)
    # cluster_idle_share: the idle line's share of a cluster's month above this (in %).
    cluster_idle_share_max_pct: Decimal = Field(Decimal("20"), ge=0, le=100)
    stale_keep_latest: int = Field(3, ge=1)
    stale_min_age_days: int = Field(90, ge=1)
    recent_job_days: int = Field(30, ge=1)
    untagged_min_spend: Decimal = Field(Decimal("10"), ge=0)
    # Severity from monthly savings: at least `high` → high, at least `medium` → medium, else low.
    severity_high: Decimal = Field(Decimal("500"), ge=0)
    severity_medium: Decimal = Field(Decimal("50"), ge=0)


class Suppression(_Strict):
    """Hide a finding (by id, or by rule within a resource-id glob) with a reason, until a date."""

    reason: str
    finding_id: str | None = None
    rule: str | None = None
    scope: str | None = None
    until: date | None = None

    @model_validator(mode="after")
    def _targets_something(self) -> Suppression:
        if not self.finding_id and not self.rule:
            raise ValueError("a suppression needs finding_id, or rule (with an optional scope)")
        return self


class Checks(_Strict):
    """Data-quality gates. Reconciliation and manifest row counts always block; these warn."""

    # Share of the month's effective cost whose project comes from a tag (row, resource,
    # workspace, resource group, subscription), below which a warning is raised.
    tag_coverage_min_pct: Decimal = Field(Decimal("80"), ge=0, le=100)


class ExportsSource(_Strict):
    """Where the Cost Management exports are read from (flags on the command line win)."""

    kind: Literal["local", "blob", "cost-details"] = "local"
    path: str | None = None  # local: the export root folder (e.g. an azcopy copy of the container)
    account_url: str | None = None  # blob: https://<account>.blob.core.windows.net
    container: str | None = None  # blob: the export container
    root_path: str = ""  # blob: the export's root folder in the container
    scope: str | None = None  # cost-details: e.g. /subscriptions/<id>

    @model_validator(mode="after")
    def _complete(self) -> ExportsSource:
        needed = {"local": ("path",), "blob": ("account_url", "container"), "cost-details": ("scope",)}[self.kind]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"kind '{self.kind}' needs {', '.join(missing)}")
        return self


class Exports(_Strict):
    """Which export definitions count. Two exports that deliver the same spend (a FOCUS and an
    ActualCost export of one subscription, a billing-account export beside a subscription one)
    stop the month with the blocking check `no_overlapping_exports`; name one here to drop it."""

    # Export names (exportConfig.exportName / the export's folder name) or export folder paths
    # relative to the root given, compared case-insensitively.
    exclude: list[str] = Field(default_factory=list)

    @field_validator("exclude")
    @classmethod
    def _non_empty(cls, names: list[str]) -> list[str]:
        if any(not n.strip().strip("/") for n in names):
            raise ValueError("export names must not be empty")
        return [n.strip() for n in names]


GovernedKind = Literal["workspace", "compute", "endpoint", "deployment", "asset_version"]


class Governance(_Strict):
    """The approved design (docs/findings.md, "Governance"): what the estate must look like.
    Every key is optional; a rule whose key is absent is not checked."""

    # Resource kind → tag keys every resource of that kind must carry (compared like tag keys).
    required_tags: dict[GovernedKind, list[str]] = Field(default_factory=dict)
    # Workspace name (a glob, case-insensitive) → VM sizes its computes may use. The first
    # matching pattern decides; a workspace no pattern matches is not checked.
    allowed_vm_sizes: dict[str, list[str]] = Field(default_factory=dict)
    # A cluster's minimum node count may not exceed this.
    max_min_nodes: int | None = Field(None, ge=0)
    # Compute instances must have an idle shutdown or an enabled stop schedule.
    idle_shutdown_required: bool = False
    # Whether workspaces and online endpoints may accept public network traffic.
    public_network_access: Literal["allowed", "disabled"] | None = None

    @field_validator("required_tags")
    @classmethod
    def _tag_keys(cls, required: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {}
        for kind, keys in required.items():
            cleaned = [normalize_tag_key(k) for k in keys]
            if not cleaned or any(not k for k in cleaned):
                raise ValueError(f"{kind}: must be a non-empty list of non-empty tag keys")
            out[kind] = cleaned
        return out

    @field_validator("allowed_vm_sizes")
    @classmethod
    def _sizes(cls, allowed: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {}
        for pattern, sizes in allowed.items():
            if not pattern.strip():
                raise ValueError("a workspace pattern must not be empty")
            if not sizes or any(not str(size).strip() for size in sizes):
                raise ValueError(f"{pattern}: must be a non-empty list of VM sizes")
            out[pattern.strip()] = [str(size).strip() for size in sizes]
        return out


class SnapshotsSource(_Strict):
    """The snapshot store of dated inventory captures, and what a capture lists (docs/inventory.md).

    The Dagster inventory asset records `scopes` live into the store each day (with
    `DefaultAzureCredential`), keeps `retention_days` of captures, and replays the capture."""

    kind: Literal["local", "blob"] = "local"
    path: str | None = None  # local: the store folder
    account_url: str | None = None  # blob: https://<account>.blob.core.windows.net
    container: str | None = None  # blob
    root_path: str = ""  # blob: folder of the captures in the container
    cache_dir: str | None = None  # blob: the local mirror (default <out>/.snapshot-cache)
    retention_days: int = Field(400, ge=1)
    # What a capture lists: subscription ids, /subscriptions/<id>[/resourceGroups/<rg>] or workspace ARM ids.
    scopes: list[str] = Field(default_factory=list)
    workspaces: list[str] | None = None  # only these workspace names
    include_run_history: bool = True
    cloud: str = "AzureCloud"

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, scopes: list[str]) -> list[str]:
        from dagster_project.inventory.listing import parse_listing_scope

        for scope in scopes:
            parse_listing_scope(scope)  # ValueError names the scope
        return [scope.strip() for scope in scopes]

    @model_validator(mode="after")
    def _complete(self) -> SnapshotsSource:
        needed = {"local": ("path",), "blob": ("account_url", "container")}[self.kind]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"kind '{self.kind}' needs {', '.join(missing)}")
        return self


class Sources(_Strict):
    exports: ExportsSource | None = None
    inventory: str | None = None  # a snapshot folder to replay (demo, audits); wins over snapshots
    snapshots: SnapshotsSource | None = None  # the store of dated captures (the daily capture)


class FinopsConfig(_Strict):
    """The whole `finops.yaml`."""

    sources: Sources = Field(default_factory=Sources)
    exports: Exports = Field(default_factory=Exports)
    checks: Checks = Field(default_factory=Checks)
    tags: TagKeys = Field(default_factory=TagKeys)
    attribution: Attribution = Field(default_factory=Attribution)
    findings: FindingThresholds = Field(default_factory=FindingThresholds)
    suppressions: list[Suppression] = Field(default_factory=list)
    budgets: Budgets = Field(default_factory=Budgets)
    anomalies: Anomalies = Field(default_factory=Anomalies)
    alerts: Alerts = Field(default_factory=Alerts)
    governance: Governance = Field(default_factory=Governance)


def _key_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def parse_config(data: object, source: str = "finops.yaml") -> FinopsConfig:
    """Validate already-parsed YAML; errors name `source`, the key path and the reason."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, not {type(data).__name__}")
    try:
        return FinopsConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            reason = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                reason = "unknown key"
            lines.append(f"{source}: {_key_path(err['loc'])}: {reason}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: Path | None) -> FinopsConfig:
    """Read `finops.yaml`; `None` means every default."""
    if path is None:
        return FinopsConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, str(path))


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Case-insensitive glob (`*`, `?`) over a whole string, for rules and suppression scopes."""
    return re.compile("^" + re.escape(pattern.strip()).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.I)
