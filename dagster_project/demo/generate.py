"""`aml-finops demo-data`: write the synthetic tenant's exports, snapshot and ground truth.

Layout of the output folder:

    <out>/exports/…            Cost Management exports in Azure's layout (manifest-driven)
    <out>/inventory/…          the Azure ML inventory snapshot (replay layout, docs/inventory.md)
    <out>/expected.json        the ground truth, decided by the generator from what it generated
    <out>/finops.yaml          the tenant's configuration: budgets the generator decided
    <out>/demo-params.json     the parameters, so a cache of the same tenant is reused

The folder is written beside its final place and renamed into it, so an interrupted generation
never leaves a half-written tenant behind.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from dagster_project.demo.events import demo_config_text, events_truth
from dagster_project.demo.tenant import (
    DEFAULT_END_MONTH,
    SHARED_PREFIX,
    UNALLOCATED,
    ClusterMonth,
    Tenant,
    _base_line_items,
    build_tenant,
    cluster_months,
    shared_base_line_items,
    shared_dependency_weights,
)

GENERATOR_VERSION = "4"
SCHEMAS = ("focus-1.2", "ea-amortized")
UNTAGGED_MIN_SPEND = Decimal("10")  # mirrors the default finding threshold


@dataclass(frozen=True)
class DemoTenantPaths:
    root: Path
    exports: Path
    inventory: Path
    expected: Path
    config: Path  # the tenant's finops.yaml: the budgets the generator decided


def demo_paths(root: Path) -> DemoTenantPaths:
    return DemoTenantPaths(root, root / "exports", root / "inventory", root / "expected.json", root / "finops.yaml")


def _params(seed: int, months: int, rows: int | None, schema: str, end_month: date) -> dict:
    return {"generator_version": GENERATOR_VERSION, "seed": seed, "months": months, "rows": rows,
            "schema": schema, "end_month": end_month.isoformat()}


def generate_demo(out: Path, *, seed: int = 42, months: int = 3, rows: int | None = None,
                  schema: str = "focus-1.2", end_month: date = DEFAULT_END_MONTH, reuse: bool = False,
                  progress: Callable[[str], None] | None = None) -> DemoTenantPaths:
    """Generate the demo tenant into `out` (replacing it), or reuse it when `reuse` and unchanged."""
    from dagster_project.demo.exports import write_exports
    from dagster_project.demo.snapshot import write_snapshot

    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    if months < 1 or months > 36:
        raise ValueError("months must be between 1 and 36")
    if rows is not None and not (1 <= rows <= 10_000_000):
        raise ValueError("rows must be between 1 and 10,000,000")
    out = Path(out)
    params = _params(seed, months, rows, schema, end_month)
    stamp = out / "demo-params.json"
    if reuse and stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == params:
        return demo_paths(out)
    # The folder is replaced as a whole: never delete a folder that is not a demo tenant we wrote.
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not stamp.is_file())):
        raise ValueError(f"{out} exists and is not a demo tenant folder; refusing to replace it "
                         "(choose a new or empty folder)")

    say = progress or (lambda message: None)
    tenant = build_tenant(seed=seed, months=months, end_month=end_month, rows=rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.staging-{uuid.uuid4().hex[:8]}"
    try:
        paths = demo_paths(staging)
        with shared_base_line_items():  # the tenant is not changed from here on
            say(f"writing Cost Management exports ({schema}, {len(tenant.months)} months)")
            summary = write_exports(tenant, paths.root, schema)  # writes <root>/exports/…
            say("writing the Azure ML inventory snapshot")
            write_snapshot(tenant, paths.inventory)
            say("writing the ground truth")
            expected = build_expected(tenant, summary)
        paths.expected.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.config.write_text(demo_config_text(tenant), encoding="utf-8")
        (staging / "demo-params.json").write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return demo_paths(out)


def _money(value: Decimal) -> str:
    return str(value)


def settle_shared(projects: dict[str, tuple[Decimal, Decimal]],
                  weights: dict[str, dict[str, Decimal]]) -> dict[str, tuple[Decimal, Decimal]]:
    """Replace the `shared:<workspace>` markers by the projects that share that workspace."""
    settled: dict[str, tuple[Decimal, Decimal]] = {}

    def add(project: str, eff: Decimal, billed: Decimal) -> None:
        old_eff, old_billed = settled.get(project, (Decimal(0), Decimal(0)))
        settled[project] = (old_eff + eff, old_billed + billed)

    for project, (eff, billed) in projects.items():
        if project.startswith(SHARED_PREFIX):
            for share_project, weight in weights[project.removeprefix(SHARED_PREFIX)].items():
                add(share_project, eff * weight, billed * weight)
        else:
            add(project, eff, billed)
    return settled


def untagged_truth(tenant: Tenant, month: date, threshold: Decimal = UNTAGGED_MIN_SPEND) -> list[dict]:
    """Resources whose spend in `month` belongs to no project, at or above the threshold, each in
    the currency it was billed in."""
    spend: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    weights = shared_dependency_weights(tenant, month)
    for item in _base_line_items(tenant, month):
        project = item.true_project
        if project.startswith(SHARED_PREFIX) and weights[project.removeprefix(SHARED_PREFIX)] == {UNALLOCATED: 1}:
            project = UNALLOCATED
        if project != UNALLOCATED or not item.resource_id:
            continue
        rid = item.resource_id.lower()
        if item.true_aml_kind == "compute":
            rid = f"{rid}/computes/{item.true_aml_name.lower()}"
        elif item.true_aml_kind == "endpoint":
            endpoint, deployment = item.true_aml_name.lower().split("/")
            rid = f"{rid}/onlineendpoints/{endpoint}/deployments/{deployment}"
        spend[(rid, item.currency)] += item.effective_cost
    return [{"rule": "untagged_spend", "resource_id": rid, "version": None, "spend": _money(total),
             "currency": currency, "savings_positive": False}
            for (rid, currency), total in sorted(spend.items()) if total >= threshold]


def clean_resources(tenant: Tenant, flagged: set[str]) -> list[str]:
    """Inventory resources that no rule may flag: the precision half of the findings test."""
    ids = [c.id.lower() for c in tenant.compute_instances] + [k.id.lower() for k in tenant.clusters]
    ids += [f"{e.id}/deployments/{d.name}".lower() for e in tenant.endpoints for d in e.deployments]
    ids += [v.id.lower() for v in tenant.asset_versions]
    return sorted(rid for rid in ids if rid not in flagged)


def _compute_month(tenant: Tenant, month: date) -> dict[str, dict[str, Decimal]]:
    """Per compute / deployment id (lowercase): what the generator billed for it in `month` —
    running on-demand cost and hours, committed hours, everything."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for item in _base_line_items(tenant, month):
        if item.true_aml_kind == "compute":
            rid = f"{item.resource_id.lower()}/computes/{item.true_aml_name.lower()}"
        elif item.true_aml_kind == "endpoint":
            endpoint, deployment = item.true_aml_name.lower().split("/")
            rid = f"{item.resource_id.lower()}/onlineendpoints/{endpoint}/deployments/{deployment}"
        else:
            continue
        facts = out[rid]
        facts["cost"] += item.effective_cost
        if item.consumed_unit == "1 Hour":
            if item.commitment_status == "Used":
                facts["committed_hours"] += item.consumed_quantity
                facts["committed_cost"] += item.effective_cost
            else:
                facts["on_demand_hours"] += item.consumed_quantity
                facts["on_demand_cost"] += item.effective_cost
    return out


# Rules whose savings come from hours a fix stops (on-demand hours only: a commitment bills its
# hours used or not), and rules whose savings are the resource's whole cost.
_HOUR_RULES = ("ci_no_idle_shutdown", "ci_left_running", "cluster_warm_nodes", "cluster_slow_scaledown",
               "cluster_idle_share")
_DELETE_RULES = ("ci_stopped_abandoned", "cluster_unused", "deployment_no_traffic", "deployment_failed_billed")


def _savings_positive(finding, facts: dict[str, Decimal]) -> bool:
    """Whether the generator's model says a fix saves cash: a cost-based rule on a resource with
    on-demand cost (hour rules: on-demand hours, for an instance beyond a 50 h week)."""
    if finding.rule in _HOUR_RULES:
        if facts.get("on_demand_hours", Decimal(0)) <= 0:
            return False
        if finding.rule == "ci_no_idle_shutdown":
            return facts["on_demand_hours"] + facts.get("committed_hours", Decimal(0)) > Decimal(50) * 31 / 7
        return True
    if finding.rule in _DELETE_RULES:
        return facts.get("cost", Decimal(0)) - facts.get("committed_cost", Decimal(0)) > 0
    return False


def _currency_of(tenant: Tenant, resource_id: str) -> str:
    workspace = next(w for w in tenant.workspaces if resource_id.startswith(w.id.lower() + "/"))
    return tenant.subscription(workspace.subscription_id).currency


def commitments_truth(tenant: Tenant, month: date) -> dict[str, dict]:
    """Per reservation: the purchase billed in `month`, the usage it covered and its unused part."""
    out: dict[str, dict] = {}
    for c in tenant.commitments:
        out[c.id] = {"name": c.name, "currency": c.subscription.currency, "purchased_billed_cost": Decimal(0),
                     "covered_effective_cost": Decimal(0), "covered_hours": Decimal(0),
                     "unused_effective_cost": Decimal(0), "unused_hours": Decimal(0), "covers": list(c.covers)}
    for item in _base_line_items(tenant, month):
        entry = out.get(item.commitment_discount_id)
        if entry is None:
            continue
        if item.charge_category == "Purchase":
            entry["purchased_billed_cost"] += item.billed_cost
        elif item.commitment_status == "Used":
            entry["covered_effective_cost"] += item.effective_cost
            entry["covered_hours"] += item.consumed_quantity
        elif item.commitment_status == "Unused":
            entry["unused_effective_cost"] += item.effective_cost
            entry["unused_hours"] += item.consumed_quantity
    return {cid: {k: _money(v) if isinstance(v, Decimal) else v for k, v in entry.items()}
            for cid, entry in sorted(out.items())}


def hub_split_truth(tenant: Tenant, month: date) -> dict[str, dict]:
    """Per hub: its dependencies' effective cost as shared by the projects of the hub and its
    projects (the generator's direct-spend model), per project."""
    weights = shared_dependency_weights(tenant, month)
    out = {}
    for hub in (w for w in tenant.workspaces if w.kind == "Hub"):
        marker = f"{SHARED_PREFIX}{hub.id.lower()}"
        total = sum((i.effective_cost for i in _base_line_items(tenant, month) if i.true_project == marker),
                    Decimal(0))
        out[hub.id.lower()] = {
            "currency": tenant.subscription(hub.subscription_id).currency,
            "projects": [p.name for p in tenant.workspaces if p.hub is not None and p.hub.id == hub.id],
            "effective_cost": _money(total),
            "split": {project: _money(total * weight) for project, weight in weights[hub.id.lower()].items()},
        }
    return out


def settle_jobs(projects: dict[str, tuple[Decimal, Decimal]], clusters: list[ClusterMonth]
                ) -> dict[str, tuple[Decimal, Decimal]]:
    """Move each cluster's cost from the cluster's project to its jobs' projects and its idle line
    (the cluster's project), by the generator's own node-hour model."""
    settled = dict(projects)

    def add(project: str, eff: Decimal, billed: Decimal) -> None:
        old_eff, old_billed = settled.get(project, (Decimal(0), Decimal(0)))
        settled[project] = (old_eff + eff, old_billed + billed)

    for cm in clusters:
        add(cm.project, -cm.effective_cost, -cm.billed_cost)
        jobs, idle = cm.ratios()
        for job_id, share in jobs.items():
            add(cm.job_project[job_id], cm.effective_cost * share, cm.billed_cost * share)
        add(cm.project, cm.effective_cost * idle, cm.billed_cost * idle)
    return {p: v for p, v in settled.items() if p in projects or v != (Decimal(0), Decimal(0))}


def job_showback_truth(clusters: list[ClusterMonth]) -> dict[str, dict]:
    """Per cluster id (lowercase) and currency: the billed and job node-hours, each job's and each
    project's share of the cost, and the idle line."""
    out: dict[str, dict] = {}
    for cm in clusters:
        jobs, idle = cm.ratios()
        per_project: dict[str, Decimal] = defaultdict(Decimal)
        for job_id, share in jobs.items():
            per_project[cm.job_project[job_id]] += cm.effective_cost * share
        out[f"{cm.cluster.id.lower()}|{cm.currency}"] = {
            "cluster": cm.cluster.name, "currency": cm.currency, "project": cm.project,
            "effective_cost": _money(cm.effective_cost), "billed_node_hours": _money(cm.billed_node_hours),
            "job_node_hours": _money(cm.jobs_total), "idle_node_hours": _money(cm.idle_node_hours),
            "idle_effective_cost": _money(cm.effective_cost * idle), "idle_share_pct": _money(idle * 100),
            "projects": {p: _money(v) for p, v in sorted(per_project.items())},
            "jobs": {job_id: {"project": cm.job_project[job_id], "node_hours": _money(cm.job_node_hours[job_id]),
                              "effective_cost": _money(cm.effective_cost * share)}
                     for job_id, share in sorted(jobs.items())},
        }
    return out


def build_expected(tenant: Tenant, summary) -> dict:
    """The ground truth: per month and currency the money, and the findings the pipeline must report."""
    months = {}
    for month in tenant.months:
        truth = summary.months[month]
        weights = shared_dependency_weights(tenant, month)
        clusters = cluster_months(tenant, month)
        currencies = {}
        for currency, per in sorted(truth.currencies.items()):
            settled = settle_jobs(settle_shared(per.projects, weights),
                                  [cm for cm in clusters if cm.currency == currency])
            unallocated = settled.get(UNALLOCATED, (Decimal(0), Decimal(0)))
            currencies[currency] = {
                "effective_cost": _money(per.effective_total),
                "billed_cost": _money(per.billed_total),
                "line_items": per.line_items,
                "projects": {project: {"effective_cost": _money(eff), "billed_cost": _money(billed)}
                             for project, (eff, billed) in sorted(settled.items())},
                "unallocated_effective_cost": _money(unallocated[0]),
                "aml_resources": {f"{kind}:{name}": _money(value) for (kind, name), value in sorted(per.aml.items())},
            }
        months[month.isoformat()] = {
            "line_items": truth.line_items,
            "currencies": currencies,
            "commitments": commitments_truth(tenant, month),
            "hub_split": hub_split_truth(tenant, month),
            "job_showback": job_showback_truth(clusters),
        }
    latest = tenant.months[-1]
    facts = _compute_month(tenant, latest)
    findings = [{"rule": f.rule, "resource_id": f.resource_id, "version": f.version,
                 "currency": _currency_of(tenant, f.resource_id),
                 "savings_positive": _savings_positive(f, facts.get(f.resource_id, {}))}
                for f in tenant.planted_findings]
    findings += untagged_truth(tenant, latest)
    flagged = {f["resource_id"] for f in findings}
    covered = [{"resource_id": rid, "committed_hours": _money(f["committed_hours"]),
                "on_demand_hours": _money(f.get("on_demand_hours", Decimal(0)))}
               for rid, f in sorted(facts.items()) if f.get("committed_hours")]
    return {
        "format": "aml-finops-demo-expected/2",
        "seed": tenant.seed,
        "currencies": sorted({s.currency for s in tenant.subscriptions}),
        "captured_at": tenant.captured_at.isoformat().replace("+00:00", "Z"),
        "months": months,
        "findings_month": latest.isoformat(),
        "findings": sorted(findings, key=lambda f: (f["rule"], f["resource_id"])),
        "commitment_covered": covered,
        "clean_resources": clean_resources(tenant, flagged),
        "rules_covered": sorted({f["rule"] for f in findings}),
        "events": events_truth(tenant, summary),
        "variants": {
            "compute_type_tags": {c.name: c.type_tag for c in [*tenant.compute_instances, *tenant.clusters]},
            "vm_size_in": {c.name: c.size_in for c in [*tenant.compute_instances, *tenant.clusters]},
            "workspace_kinds": {w.name: w.kind for w in tenant.workspaces},
        },
    }
