"""`aml-finops demo-data`: write the synthetic tenant's exports, snapshot and ground truth.

Layout of the output folder:

    <out>/exports/…            Cost Management exports in Azure's layout (manifest-driven)
    <out>/inventory/…          the Azure ML inventory snapshot (replay layout, DESIGN §4.2)
    <out>/expected.json        the ground truth, decided by the generator from what it generated
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

from dagster_project.demo.tenant import (
    DEFAULT_END_MONTH,
    SHARED_PREFIX,
    UNALLOCATED,
    Tenant,
    _base_line_items,
    build_tenant,
    shared_dependency_weights,
)

GENERATOR_VERSION = "2"
SCHEMAS = ("focus-1.2", "ea-amortized")
UNTAGGED_MIN_SPEND = Decimal("10")  # mirrors the default finding threshold


@dataclass(frozen=True)
class DemoTenantPaths:
    root: Path
    exports: Path
    inventory: Path
    expected: Path


def demo_paths(root: Path) -> DemoTenantPaths:
    return DemoTenantPaths(root, root / "exports", root / "inventory", root / "expected.json")


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
    if reuse and stamp.is_file() and json.loads(stamp.read_text()) == params:
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
        say(f"writing Cost Management exports ({schema}, {len(tenant.months)} months)")
        summary = write_exports(tenant, paths.root, schema)  # writes <root>/exports/…
        say("writing the Azure ML inventory snapshot")
        write_snapshot(tenant, paths.inventory)
        say("writing the ground truth")
        expected = build_expected(tenant, summary)
        paths.expected.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8")
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
    """Resources whose spend in `month` belongs to no project, at or above the threshold."""
    spend: dict[str, Decimal] = defaultdict(Decimal)
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
        spend[rid] += item.effective_cost
    return [{"rule": "untagged_spend", "resource_id": rid, "version": None, "spend": _money(total)}
            for rid, total in sorted(spend.items()) if total >= threshold]


def clean_resources(tenant: Tenant, flagged: set[str]) -> list[str]:
    """Inventory resources that no rule may flag: the precision half of the findings test."""
    ids = [c.id.lower() for c in tenant.compute_instances] + [k.id.lower() for k in tenant.clusters]
    ids += [f"{e.id}/deployments/{d.name}".lower() for e in tenant.endpoints for d in e.deployments]
    ids += [v.id.lower() for v in tenant.asset_versions]
    return sorted(rid for rid in ids if rid not in flagged)


def build_expected(tenant: Tenant, summary) -> dict:
    """The ground truth: per month and project the money, and the findings the pipeline must report."""
    months = {}
    for month in tenant.months:
        truth = summary.months[month]
        settled = settle_shared(truth.projects, shared_dependency_weights(tenant, month))
        projects = {
            project: {"effective_cost": _money(eff), "billed_cost": _money(billed)}
            for project, (eff, billed) in sorted(settled.items())
        }
        unallocated = settled.get(UNALLOCATED, (Decimal(0), Decimal(0)))
        months[month.isoformat()] = {
            "effective_cost": _money(truth.effective_total),
            "billed_cost": _money(truth.billed_total),
            "line_items": truth.line_items,
            "projects": projects,
            "unallocated_effective_cost": _money(unallocated[0]),
            "aml_resources": {f"{kind}:{name}": _money(value)
                              for (kind, name), value in sorted(truth.aml.items())},
        }
    latest = tenant.months[-1]
    findings = [{"rule": f.rule, "resource_id": f.resource_id, "version": f.version}
                for f in tenant.planted_findings]
    findings += untagged_truth(tenant, latest)
    flagged = {f["resource_id"] for f in findings}
    return {
        "format": "aml-finops-demo-expected/1",
        "seed": tenant.seed,
        "currency": tenant.currency,
        "captured_at": tenant.captured_at.isoformat().replace("+00:00", "Z"),
        "months": months,
        "findings_month": latest.isoformat(),
        "findings": sorted(findings, key=lambda f: (f["rule"], f["resource_id"])),
        "clean_resources": clean_resources(tenant, flagged),
        "rules_covered": sorted({f["rule"] for f in findings}),
    }
