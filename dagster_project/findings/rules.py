"""Cleanup findings (DESIGN §6): each rule, its evidence, its savings and the command to fix it.

Savings come from what Azure actually billed for the resource in the month (the cost attribution
ties workspace-level rows to computes and deployments), never from list prices. Where no cost can
be tied to a resource the finding is *hygiene* with zero savings. Ages count back from the
inventory's `captured_at`, never from the wall clock, so replaying an old snapshot gives the same
findings. The tool never runs a command: it prints them, quoted for a POSIX shell.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import shlex
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import polars as pl

from dagster_project.attribution.resolve import UNALLOCATED, Resolver
from dagster_project.config import FinopsConfig, glob_to_regex

MONEY = pl.Decimal(38, 10)
FINDINGS_SCHEMA = pl.Schema(
    {
        "billing_month": pl.Date,
        "finding_id": pl.String,
        "rule_id": pl.String,
        "category": pl.String,
        "severity": pl.String,
        "workspace": pl.String,
        "resource_id": pl.String,
        "resource_name": pl.String,
        "project": pl.String,
        "owner": pl.String,
        "evidence": pl.String,
        "savings": MONEY,
        "currency": pl.String,
        "action": pl.String,
        "command": pl.String,
        "first_seen": pl.Datetime("us", "UTC"),
        "last_seen": pl.Datetime("us", "UTC"),
        "status": pl.String,
        "suppression_reason": pl.String,
    }
)

RULES: dict[str, tuple[str, str]] = {
    # rule id: (category, what it means)
    "ci_no_idle_shutdown": ("idle_compute", "Compute instance without idle shutdown or stop schedule"),
    "ci_left_running": ("idle_compute", "Compute instance left running"),
    "ci_stopped_abandoned": ("idle_compute", "Compute instance stopped and abandoned"),
    "cluster_warm_nodes": ("idle_compute", "Cluster keeps warm nodes"),
    "cluster_slow_scaledown": ("idle_compute", "Cluster slow to scale down"),
    "cluster_unused": ("idle_compute", "Cluster unused"),
    "deployment_no_traffic": ("idle_endpoint", "Online deployment without traffic"),
    "deployment_failed_billed": ("idle_endpoint", "Failed online deployment still billed"),
    "stale_version": ("asset_hygiene", "Stale asset version"),
    "duplicate_artifact": ("asset_hygiene", "Duplicate artifact"),
    "untagged_spend": ("governance", "Spend with no project"),
}

CENT = Decimal("0.01")


def finding_id(rule_id: str, resource_id: str, version: str | None = None) -> str:
    """Stable across runs: a hash of the rule and the lowercased resource id (and version)."""
    text = f"{rule_id}|{resource_id.lower()}" + (f"|{version}" if version else "")
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def q(value: object) -> str:
    """Quote one shell word; names with spaces, quotes or `$` stay one literal argument."""
    return shlex.quote(str(value))


@dataclass(frozen=True)
class ArmId:
    subscription: str
    resource_group: str
    workspace: str

    @classmethod
    def parse(cls, resource_id: str) -> ArmId:
        parts = resource_id.strip("/").split("/")
        lower = [p.lower() for p in parts]

        def after(segment: str) -> str:
            return parts[lower.index(segment) + 1] if segment in lower else ""

        return cls(after("subscriptions"), after("resourcegroups"), after("workspaces"))

    def ml_args(self) -> str:
        return f"--subscription {q(self.subscription)} --resource-group {q(self.resource_group)} --workspace-name {q(self.workspace)}"


@dataclass
class FindingInputs:
    """Everything the rules read. Frames use the column names of the published tables."""

    billing_month: date
    captured_at: datetime
    # The month's main currency: the currency of a finding with no cost of its own in a workspace
    # without spend (a finding's savings are in the currency of the cost they come from).
    currency: str
    workspaces: pl.DataFrame
    computes: pl.DataFrame
    asset_versions: pl.DataFrame
    endpoints: pl.DataFrame
    deployments: pl.DataFrame
    jobs: pl.DataFrame
    # Cost and hours of the month per Azure ML resource: workspace_id, aml_kind, aml_name,
    # billing_currency, effective_cost, usage_hours (running hours) and, when known, running_cost,
    # committed_cost, committed_hours (aml_resource_usage).
    resource_usage: pl.DataFrame
    # cost_allocation rows of the month.
    allocation: pl.DataFrame


ZERO = Decimal(0)


@dataclass(frozen=True)
class Usage:
    """One resource's month in one currency."""

    currency: str
    cost: Decimal = ZERO  # everything billed for it
    hours: Decimal = ZERO  # running hours
    running_cost: Decimal = ZERO  # what a stop ends (not its disks, load balancer, public IP)
    committed_cost: Decimal = ZERO  # covered by a reservation / savings plan
    committed_hours: Decimal = ZERO

    @property
    def after_stop_cost(self) -> Decimal:
        return self.cost - self.running_cost

    @property
    def cash_hours(self) -> Decimal:
        return max(ZERO, self.hours - self.committed_hours)

    @property
    def cash_running_cost(self) -> Decimal:
        return max(ZERO, self.running_cost - self.committed_cost)

    @property
    def on_demand_rate(self) -> Decimal | None:
        return self.cash_running_cost / self.cash_hours if self.cash_hours > 0 else None


@dataclass(frozen=True)
class Savings:
    """What a finding saves in cash, and the reserved hours it frees instead."""

    cash: Decimal
    freed_hours: Decimal
    basis: str | None


def _rate_text(rate: Decimal | None) -> str | None:
    return str(rate.quantize(Decimal("0.0001"))) if rate is not None else None


def stop_savings(u: Usage, hours_removed: Decimal, basis: str) -> Savings:
    """Savings of running `hours_removed` fewer hours. A commitment keeps billing whether or not
    its hours are used, so removed hours are first taken from the on-demand ones (cash, at the
    observed on-demand rate) and only the rest from committed ones (freed hours, not cash)."""
    hours_removed = max(ZERO, min(hours_removed, u.hours))
    cash_hours = min(hours_removed, u.cash_hours)
    rate = u.on_demand_rate
    cash = cash_hours * rate if rate is not None else ZERO
    freed = hours_removed - cash_hours
    return Savings(cash, freed, _basis(basis, cash, freed))


def delete_savings(u: Usage, basis: str) -> Savings:
    """Savings of deleting the resource: all its cost, except what a commitment covered."""
    cash = max(ZERO, u.cost - u.committed_cost)
    return Savings(cash, u.committed_hours, _basis(basis, cash, u.committed_hours))


def _basis(basis: str, cash: Decimal, freed: Decimal) -> str | None:
    """How the savings were computed; None when there is nothing to save (the hygiene text)."""
    if freed <= 0:
        return basis if cash > 0 else None
    freed_text = (f"{freed.quantize(CENT)} h covered by a reservation or savings plan are freed, not cash "
                  "(the commitment bills them whether used or not)")
    if cash > 0:
        return f"{basis}; {freed_text}"
    return f"{basis}: all of it commitment-covered, so 0 in cash; {freed_text}"


class FindingsEngine:
    def __init__(self, config: FinopsConfig, resolver: Resolver, inputs: FindingInputs):
        self.config = config
        self.t = config.findings
        self.resolver = resolver
        self.inputs = inputs
        self.now = inputs.captured_at
        self.ws_names = {r["workspace_id"]: r["workspace_name"] for r in inputs.workspaces.iter_rows(named=True)}
        self.usage: dict[tuple[str, str, str], list[Usage]] = {}
        columns = inputs.resource_usage.columns
        for r in inputs.resource_usage.iter_rows(named=True):
            cost = r["effective_cost"] or ZERO
            u = Usage(
                currency=r["billing_currency"], cost=cost, hours=r["usage_hours"] or ZERO,
                running_cost=(r["running_cost"] if "running_cost" in columns and r["running_cost"] is not None
                              else cost),
                committed_cost=(r.get("committed_cost") or ZERO) if "committed_cost" in columns else ZERO,
                committed_hours=(r.get("committed_hours") or ZERO) if "committed_hours" in columns else ZERO,
            )
            self.usage.setdefault((r["workspace_id"], r["aml_kind"], (r["aml_name"] or "").lower()), []).append(u)
        # The currency a workspace is billed in (its largest), for findings with no cost of their own.
        self.ws_currency: dict[str, str] = {}
        alloc = inputs.allocation
        if alloc.height and "workspace_id" in alloc.columns:
            per = alloc.filter(pl.col("workspace_id").is_not_null()).group_by("workspace_id", "billing_currency").agg(
                pl.col("effective_cost").abs().sum().alias("spend")).sort(
                ["workspace_id", "spend", "billing_currency"], descending=[False, True, False])
            for r in per.iter_rows(named=True):
                self.ws_currency.setdefault(r["workspace_id"], r["billing_currency"])
        month = inputs.billing_month
        self.month_days = calendar.monthrange(month.year, month.month)[1]
        self.month_start = datetime(month.year, month.month, 1, tzinfo=self.now.tzinfo)
        self.month_end = self.month_start + timedelta(days=self.month_days)
        self.rows: list[dict] = []

    # -- helpers -------------------------------------------------------------------------------

    def _currency_of(self, workspace_id: str | None) -> str:
        return self.ws_currency.get(workspace_id or "", self.inputs.currency)

    def _usage(self, workspace_id: str, kind: str, name: str) -> Usage:
        """The resource's month in the currency it was billed in (its largest, should there be two)."""
        found = self.usage.get((workspace_id, kind, name.lower()), [])
        if not found:
            return Usage(self._currency_of(workspace_id))
        return sorted(found, key=lambda u: (-abs(u.cost), u.currency))[0]

    def _cost(self, workspace_id: str, kind: str, name: str) -> tuple[Decimal, Decimal]:
        u = self._usage(workspace_id, kind, name)
        return u.cost, u.hours

    def _severity(self, savings: Decimal, rule_id: str) -> str:
        if savings >= self.t.severity_high:
            return "high"
        if savings >= self.t.severity_medium:
            return "medium"
        return "low" if rule_id != "untagged_spend" else "medium"

    def _add(self, rule_id: str, resource_id: str, resource_name: str, workspace_id: str | None, tags,
             owner_fallback: str | None, savings: Decimal | Savings, evidence: dict, action: str, command: str,
             version: str | None = None, usage: Usage | None = None, owner: str | None = None) -> None:
        who = self.resolver.resolve_resource(resource_id, workspace_id, tags, owner_fallback, owner)
        currency = usage.currency if usage is not None else self._currency_of(workspace_id)
        if isinstance(savings, Savings):
            freed = savings.freed_hours
            if savings.basis:
                evidence = {**evidence, "savings_basis": savings.basis}
            if freed > 0:
                evidence = {**evidence, "freed_commitment_hours": str(freed.quantize(CENT))}
            savings = savings.cash
        # Never more than the resource's own cost in the month.
        cap = max(ZERO, usage.cost) if usage is not None else None
        if cap is not None:
            savings = min(savings, cap)
        savings = savings.quantize(CENT) if savings > 0 else Decimal("0.00")
        if cap is not None and savings > cap:  # rounding to the cent must not overshoot the cost
            savings = cap.quantize(CENT, rounding=ROUND_DOWN)
        evidence = {**evidence, "savings_basis": evidence.get("savings_basis") or "hygiene: no cost tied to it",
                    "currency": currency}
        self.rows.append({
            "billing_month": self.inputs.billing_month,
            "finding_id": finding_id(rule_id, resource_id, version),
            "rule_id": rule_id,
            "category": RULES[rule_id][0],
            "severity": self._severity(savings, rule_id),
            "workspace": self.ws_names.get(workspace_id or "", None),
            "resource_id": resource_id.lower(),
            "resource_name": resource_name,
            "project": who["project"],
            "owner": who["owner"],
            "evidence": json.dumps(evidence, sort_keys=True, default=str),
            "savings": savings,
            "currency": currency,
            "action": action,
            "command": command,
            "first_seen": self.now,
            "last_seen": self.now,
            "status": "open",
            "suppression_reason": None,
        })

    @staticmethod
    def _usage_evidence(u: Usage) -> dict:
        evidence = {"month_cost": str(u.cost), "billed_hours": str(u.hours)}
        if u.committed_cost or u.committed_hours:
            evidence.update({"commitment_covered_cost": str(u.committed_cost),
                             "commitment_covered_hours": str(u.committed_hours)})
        return evidence

    # -- compute instances ---------------------------------------------------------------------

    def compute_instances(self) -> None:
        t = self.t
        for c in self.inputs.computes.filter(pl.col("compute_type") == "ComputeInstance").iter_rows(named=True):
            cid, name, ws = c["compute_id_original"], c["compute_name"], c["workspace_id"]
            arm = ArmId.parse(cid)
            u = self._usage(ws, "compute", name)
            owner = self.resolver.resource_owner(ws, "compute", name)
            if not c["idle_shutdown"] and not c["stop_schedule_enabled"]:
                work_hours = Decimal(t.work_hours_per_week) * self.month_days / 7
                excess = max(ZERO, u.hours - work_hours)
                saved = stop_savings(u, excess, "billed hours above a work schedule × observed on-demand hourly rate")
                self._add("ci_no_idle_shutdown", cid, name, ws, c["tags"], c["created_by"], saved, {
                    **self._usage_evidence(u),
                    "idle_shutdown": None, "stop_schedule_enabled": False, "state": c["state"],
                    "work_schedule_hours": str(work_hours.quantize(CENT)),
                    "observed_hourly_rate": _rate_text(u.on_demand_rate),
                }, "Set an idle shutdown (e.g. 60 minutes) on this compute instance.",
                    f"az rest --method post --url {q('https://management.azure.com' + cid + '/updateIdleShutdownSetting?api-version=2025-12-01')}"
                    f" --body {q(json.dumps({'idleTimeBeforeShutdown': 'PT60M'}))}", usage=u, owner=owner)
            last_op_time = c["last_operation_time"]
            age_days = (self.now - last_op_time).days if last_op_time else None
            if c["state"] == "Running" and last_op_time and self.now - last_op_time > timedelta(days=t.ci_left_running_days):
                # A stop ends the VM hours; its disk, load balancer and public IP keep billing.
                saved = stop_savings(u, u.hours, "its running cost this month (run rate), without what keeps "
                                                 "billing after a stop (disk, load balancer, public IP)")
                if u.hours == 0 and u.cash_running_cost > 0:
                    saved = Savings(u.cash_running_cost, ZERO, "its running cost this month (run rate), without "
                                                              "what keeps billing after a stop")
                self._add("ci_left_running", cid, name, ws, c["tags"], c["created_by"], saved, {
                    **self._usage_evidence(u),
                    "state": "Running", "last_operation": c["last_operation_name"],
                    "last_operation_time": last_op_time.isoformat(), "days_since": age_days,
                    "cost_after_stop": str(u.after_stop_cost),
                }, "Stop this compute instance when it is not in use.",
                    f"az ml compute stop --name {q(name)} {arm.ml_args()}", usage=u, owner=owner)
            if c["state"] == "Stopped" and last_op_time and self.now - last_op_time > timedelta(days=t.ci_stopped_abandoned_days):
                self._add("ci_stopped_abandoned", cid, name, ws, c["tags"], c["created_by"],
                          delete_savings(u, "its residual (disk) cost this month"), {
                              **self._usage_evidence(u),
                              "state": "Stopped", "last_operation_time": last_op_time.isoformat(),
                              "days_since": age_days,
                          }, "Delete this compute instance if nobody needs it.",
                          f"az ml compute delete --name {q(name)} {arm.ml_args()} --yes", usage=u, owner=owner)

    # -- clusters ------------------------------------------------------------------------------

    def clusters(self) -> None:
        t = self.t
        jobs = self.inputs.jobs
        for k in self.inputs.computes.filter(pl.col("compute_type") == "AmlCompute").iter_rows(named=True):
            cid, name, ws = k["compute_id_original"], k["compute_name"], k["workspace_id"]
            arm = ArmId.parse(cid)
            u = self._usage(ws, "compute", name)
            owner = self.resolver.resource_owner(ws, "compute", name)
            mine = jobs.filter((pl.col("workspace_id") == ws) & (pl.col("compute_name").str.to_lowercase() == name.lower()))
            in_month = mine.filter(pl.col("start_time").is_not_null() & (pl.col("start_time") >= self.month_start)
                                   & (pl.col("start_time") < self.month_end))
            job_hours = ZERO
            for j in in_month.iter_rows(named=True):
                if j["end_time"] and j["start_time"]:
                    job_hours += Decimal(int((j["end_time"] - j["start_time"]).total_seconds())) / 3600
            if (k["min_nodes"] or 0) > 0:
                idle_hours = max(ZERO, u.hours - job_hours)
                self._add("cluster_warm_nodes", cid, name, ws, k["tags"], k["created_by"],
                          stop_savings(u, idle_hours, "idle node-hours (billed minus job hours) × observed "
                                                      "on-demand rate"), {
                              **self._usage_evidence(u),
                              "min_nodes": k["min_nodes"], "billed_node_hours": str(u.hours),
                              "job_hours": str(job_hours.quantize(CENT)),
                              "observed_hourly_rate": _rate_text(u.on_demand_rate),
                          }, "Let the cluster scale to zero nodes when idle.",
                          f"az ml compute update --name {q(name)} {arm.ml_args()} --min-instances 0",
                          usage=u, owner=owner)
            idle_s = k["idle_seconds_before_scaledown"]
            if idle_s is not None and idle_s > t.cluster_idle_seconds_max:
                excess_h = Decimal(idle_s - t.cluster_recommended_idle_seconds) / 3600
                n_jobs = in_month.height
                self._add("cluster_slow_scaledown", cid, name, ws, k["tags"], k["created_by"],
                          stop_savings(u, Decimal(n_jobs) * excess_h, "jobs × excess idle time × observed "
                                                                      "on-demand rate"), {
                              **self._usage_evidence(u),
                              "idle_seconds_before_scaledown": idle_s, "jobs_this_month": n_jobs,
                              "observed_hourly_rate": _rate_text(u.on_demand_rate),
                          }, f"Scale down after {t.cluster_recommended_idle_seconds} s of idleness.",
                          f"az ml compute update --name {q(name)} {arm.ml_args()} "
                          f"--idle-time-before-scale-down {t.cluster_recommended_idle_seconds}", usage=u, owner=owner)
            recent = mine.filter(pl.col("created_on") >= self.now - timedelta(days=t.cluster_unused_days))
            if recent.height == 0:
                last = mine["created_on"].max() if mine.height else None
                self._add("cluster_unused", cid, name, ws, k["tags"], k["created_by"],
                          delete_savings(u, "its cost this month"), {
                              **self._usage_evidence(u),
                              "jobs_in_window": 0, "window_days": t.cluster_unused_days,
                              "last_job": last.isoformat() if last else None,
                          }, "Delete this cluster if nobody uses it.",
                          f"az ml compute delete --name {q(name)} {arm.ml_args()} --yes", usage=u, owner=owner)

    # -- online deployments --------------------------------------------------------------------

    def deployments(self) -> None:
        for d in self.inputs.deployments.iter_rows(named=True):
            did, ws = d["deployment_id_original"], d["workspace_id"]
            arm = ArmId.parse(did)
            aml_name = f"{d['endpoint_name']}/{d['deployment_name']}"
            u = self._usage(ws, "endpoint", aml_name)
            owner = self.resolver.resource_owner(ws, "endpoint", aml_name)
            args = (f"--name {q(d['deployment_name'])} --endpoint-name {q(d['endpoint_name'])} {arm.ml_args()}")
            count = d["instance_count"] or 0
            if (d["traffic_pct"] or 0) == 0 and (d["mirror_traffic_pct"] or 0) == 0 and count >= 1:
                self._add("deployment_no_traffic", did, aml_name, ws, d["tags"], None,
                          delete_savings(u, "its cost this month"), {
                              **self._usage_evidence(u),
                              "traffic_pct": d["traffic_pct"] or 0, "mirror_traffic_pct": d["mirror_traffic_pct"] or 0,
                              "instance_type": d["instance_type"], "instance_count": count,
                          }, "Delete this deployment: it serves no traffic but keeps instances.",
                          f"az ml online-deployment delete {args} --yes", usage=u, owner=owner)
            if (d["provisioning_state"] or "").lower() == "failed" and count >= 1:
                self._add("deployment_failed_billed", did, aml_name, ws, d["tags"], None,
                          delete_savings(u, "its cost this month"), {
                              **self._usage_evidence(u),
                              "provisioning_state": d["provisioning_state"], "instance_count": count,
                          }, "Delete or fix this failed deployment: its instances are still billed.",
                          f"az ml online-deployment delete {args} --yes", usage=u, owner=owner)

    # -- asset versions ------------------------------------------------------------------------

    def asset_versions(self) -> None:
        t = self.t
        versions = self.inputs.asset_versions
        if versions.height == 0:
            return
        # (workspace_id, kind, name, version) of every version a deployment or a recent job uses.
        referenced: set[tuple[str, str, str, str]] = set()
        for d in self.inputs.deployments.iter_rows(named=True):
            for kind, name, version in _asset_refs(d["model"]) | _asset_refs(d["environment"]):
                referenced.add((d["workspace_id"], kind, name, version))
        recent_jobs = self.inputs.jobs.filter(pl.col("created_on") >= self.now - timedelta(days=t.recent_job_days))
        for j in recent_jobs.iter_rows(named=True):
            for kind, name, version in _asset_refs(j["environment"]):
                referenced.add((j["workspace_id"], kind, name, version))
        ranked = versions.with_columns(
            pl.col("version").cast(pl.Int64, strict=False).alias("_version_number"),
        ).with_columns(
            pl.col("_version_number").rank("ordinal", descending=True)
            .over(["workspace_id", "kind", "name"]).alias("_newest_rank")
        )
        for v in ranked.iter_rows(named=True):
            if v["is_archived"] or v["_newest_rank"] <= t.stale_keep_latest:
                continue
            if not v["created_on"] or self.now - v["created_on"] <= timedelta(days=t.stale_min_age_days):
                continue
            if (v["workspace_id"], v["kind"], v["name"].lower(), v["version"]) in referenced:
                continue
            arm = ArmId.parse(v["asset_id_original"])
            self._add("stale_version", v["asset_id_original"], f"{v['name']}:{v['version']}", v["workspace_id"],
                      v["tags"], v["created_by"], Decimal(0), {
                          "kind": v["kind"], "created_on": v["created_on"].isoformat(),
                          "age_days": (self.now - v["created_on"]).days, "newest_rank": v["_newest_rank"],
                          "keep_latest": t.stale_keep_latest, "referenced": False,
                      }, f"Archive this {v['kind']} version: old, superseded and unused.",
                      f"az ml {v['kind']} archive --name {q(v['name'])} --version {q(v['version'])} {arm.ml_args()}",
                      version=v["version"])

    def duplicates(self) -> None:
        versions = self.inputs.asset_versions.filter(~pl.col("is_archived"))
        if versions.height == 0:
            return
        versions = versions.with_columns(
            pl.col("conda_file").map_elements(_canonical_conda_text, return_dtype=pl.String).alias("_conda"),
            pl.col("version").cast(pl.Int64, strict=False).alias("_version_number"),
        ).sort(["created_on", "name", "_version_number"])
        first_by_key: dict[tuple, dict] = {}
        for v in versions.iter_rows(named=True):
            keys = []
            if v["path"]:
                keys.append(("path", v["workspace_id"], v["path"].rstrip("/").lower()))
            if v["image"]:
                keys.append(("environment", v["workspace_id"], v["image"], v["_conda"]))
            for key in keys:
                original = first_by_key.setdefault(key, v)
                if original is v or original["name"] == v["name"]:
                    continue
                arm = ArmId.parse(v["asset_id_original"])
                self._add("duplicate_artifact", v["asset_id_original"], f"{v['name']}:{v['version']}",
                          v["workspace_id"], v["tags"], v["created_by"], Decimal(0), {
                              "kind": v["kind"], "same_as": f"{original['name']}:{original['version']}",
                              "match": "same storage path" if key[0] == "path" else "same image and conda specification",
                              **({"path": v["path"]} if key[0] == "path" else {"image": v["image"]}),
                          }, f"Archive this duplicate {v['kind']} version; keep {original['name']}:{original['version']}.",
                          f"az ml {v['kind']} archive --name {q(v['name'])} --version {q(v['version'])} {arm.ml_args()}",
                          version=v["version"])
                break

    # -- untagged spend ------------------------------------------------------------------------

    def untagged(self) -> None:
        alloc = self.inputs.allocation.filter((pl.col("project") == UNALLOCATED) & (pl.col("resource_id") != ""))
        if alloc.height == 0:
            return
        if "owner" not in alloc.columns:
            alloc = alloc.with_columns(pl.lit(None, dtype=pl.String).alias("owner"))
        alloc = alloc.with_columns(
            pl.when(pl.col("aml_kind") == "compute").then(pl.col("workspace_id") + "/computes/" + pl.col("aml_name").str.to_lowercase())
            .when(pl.col("aml_kind") == "endpoint").then(
                pl.col("workspace_id") + "/onlineendpoints/" + pl.col("aml_name").str.to_lowercase().str.replace("/", "/deployments/"))
            .otherwise(pl.col("resource_id")).alias("_target")
        )
        # Per resource and currency: a resource's spend is stated in the currency it was billed
        # in (its largest, should there be two), never summed across currencies.
        per_target = alloc.group_by("_target", "billing_currency", "workspace_id", "aml_kind", "aml_name").agg(
            pl.col("effective_cost").sum().alias("spend"),
            pl.col("owner").sort_by(pl.col("effective_cost").abs(), descending=True).drop_nulls().first().alias("owner"),
        ).sort(["_target", "spend", "billing_currency"], descending=[False, True, False]).unique(
            "_target", keep="first", maintain_order=True)
        for r in per_target.iter_rows(named=True):
            spend = r["spend"] or ZERO
            if spend < self.t.untagged_min_spend:
                continue
            target = r["_target"]
            key = self.config.tags.project[0]
            if r["aml_kind"] == "compute":
                arm = ArmId.parse(target)
                command = (f"az ml compute update --name {q(r['aml_name'])} {arm.ml_args()} "
                           f"--set {q(f'tags.{key}=<project>')}")
            else:
                command = f"az tag update --resource-id {q(target)} --operation merge --tags {q(f'{key}=<project>')}"
            # The resource's one owner, the one its other findings name (else its allocation's).
            owner = self.resolver.resource_owner(r["workspace_id"], r["aml_kind"], r["aml_name"]) or r["owner"]
            self._add("untagged_spend", target, r["aml_name"] or target.rsplit("/", 1)[-1], r["workspace_id"], None,
                      None, ZERO, {
                          "unallocated_spend": str(spend.quantize(CENT)), "threshold": str(self.t.untagged_min_spend),
                          "aml_kind": r["aml_kind"], "savings_basis": "governance: no savings, the spend has no owner",
                      }, f"Tag this resource with a '{key}' tag so its spend reaches a project.", command,
                      usage=Usage(r["billing_currency"], cost=spend), owner=owner)

    def run(self) -> pl.DataFrame:
        self.compute_instances()
        self.clusters()
        self.deployments()
        self.asset_versions()
        self.duplicates()
        self.untagged()
        frame = pl.DataFrame(self.rows, schema=FINDINGS_SCHEMA, orient="row") if self.rows else pl.DataFrame(
            schema=FINDINGS_SCHEMA)
        # Expiry is judged at the inventory capture, so replaying a snapshot gives the same result.
        return apply_suppressions(frame, self.config, self.now.date())


def _asset_refs(reference: str | None) -> set[tuple[str, str, str]]:
    """`azureml:name:version` (or an ARM id …/models/name/versions/v) → {(kind?, name, version)}."""
    if not reference:
        return set()
    ref = reference.strip()
    if "/versions/" in ref.lower():
        parts = ref.strip("/").split("/")
        lower = [p.lower() for p in parts]
        i = lower.index("versions")
        kind = {"models": "model", "environments": "environment", "data": "data"}.get(lower[i - 2], "")
        return {(k, parts[i - 1].lower(), parts[i + 1]) for k in ([kind] if kind else ["model", "environment", "data"])}
    if ref.startswith("azureml:"):
        ref = ref[len("azureml:"):]
    bits = ref.split(":")
    if len(bits) >= 2:
        return {(k, bits[0].lower(), bits[1]) for k in ("model", "environment", "data")}
    return set()


def _canonical_conda_text(text: str | None) -> str | None:
    if not text:
        return None
    try:
        spec = json.loads(text)
    except ValueError:
        return text.strip()

    def canon(x):
        if isinstance(x, dict):
            return {k: canon(v) for k, v in sorted(x.items())}
        if isinstance(x, list):
            return sorted((canon(i) for i in x), key=lambda i: json.dumps(i, sort_keys=True))
        return x

    return json.dumps(canon(spec), sort_keys=True)


def apply_suppressions(findings: pl.DataFrame, config: FinopsConfig, today: date) -> pl.DataFrame:
    """Mark findings matched by an unexpired suppression as `suppressed`, with its reason."""
    if findings.height == 0 or not config.suppressions:
        return findings
    active = [s for s in config.suppressions if s.until is None or s.until >= today]
    statuses, reasons = [], []
    for row in findings.iter_rows(named=True):
        hit = next((s for s in active if (s.finding_id and s.finding_id == row["finding_id"]) or (
            s.rule and s.rule == row["rule_id"] and (not s.scope or glob_to_regex(s.scope).match(row["resource_id"])))),
            None)
        statuses.append("suppressed" if hit else row["status"])
        reasons.append(hit.reason if hit else row["suppression_reason"])
    return findings.with_columns(pl.Series("status", statuses), pl.Series("suppression_reason", reasons,
                                                                          dtype=pl.String))


def evaluate_findings(config: FinopsConfig, resolver: Resolver, inputs: FindingInputs) -> pl.DataFrame:
    """All findings of one month, sorted by savings (largest first)."""
    frame = FindingsEngine(config, resolver, inputs).run()
    return frame.sort(["savings", "rule_id", "resource_id"], descending=[True, False, False])
