"""Governance findings: the estate against the approved design of `finops.yaml` (`governance:`).

Each rule names itself (`rule` in the evidence: the `finops.yaml` key), what the design asks and
what the capture shows. They carry no savings (a design breach is not a cost estimate) and print
the read-only `az` command that shows the resource, or the one that fixes it where one exists.
Rules whose key is absent from `governance:` are not checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from dagster_project.attribution.resolve import Resolver, normalize_tags
from dagster_project.config import FinopsConfig, glob_to_regex
from dagster_project.findings.commands import q, workspace_args
from dagster_project.findings.model import FINDINGS_SCHEMA, FindingInputs, finding_id

GOVERNANCE_RULES: dict[str, tuple[str, str]] = {
    "governance_required_tags": ("governance", "Resource lacks a tag the approved design requires"),
    "governance_vm_size": ("governance", "Compute uses a VM size the approved design does not allow"),
    "governance_min_nodes": ("governance", "Cluster keeps more minimum nodes than the approved design allows"),
    "governance_idle_shutdown": ("governance", "Compute instance without the idle shutdown the design requires"),
    "governance_public_network": ("governance", "Public network access the approved design disables"),
}

IDLE_SHUTDOWN_BODY = '{"idleTimeBeforeShutdown": "PT60M"}'


@dataclass
class _Resource:
    kind: str
    resource_id: str
    name: str
    workspace_id: str | None
    tags: str | None
    created_by: str | None = None


def _resources(inputs: FindingInputs) -> list[_Resource]:
    out = [_Resource("workspace", r["workspace_id_original"] or r["workspace_id"], r["workspace_name"],
                     r["workspace_id"], r["tags"]) for r in inputs.workspaces.iter_rows(named=True)]
    out += [_Resource("compute", r["compute_id_original"], r["compute_name"], r["workspace_id"], r["tags"],
                      r["created_by"]) for r in inputs.computes.iter_rows(named=True)]
    out += [_Resource("endpoint", r["endpoint_id_original"], r["endpoint_name"], r["workspace_id"], r["tags"])
            for r in inputs.endpoints.iter_rows(named=True)]
    out += [_Resource("deployment", r["deployment_id_original"], f"{r['endpoint_name']}/{r['deployment_name']}",
                      r["workspace_id"], r["tags"]) for r in inputs.deployments.iter_rows(named=True)]
    out += [_Resource("asset_version", r["asset_id_original"], f"{r['name']}:{r['version']}", r["workspace_id"],
                      r["tags"], r["created_by"]) for r in inputs.asset_versions.iter_rows(named=True)]
    return out


def _show_command(resource: _Resource) -> str:
    return f"az resource show --ids {q(resource.resource_id)}"


def governance_findings(config: FinopsConfig, resolver: Resolver, inputs: FindingInputs) -> pl.DataFrame:
    """Every breach of `governance:` in the capture, as finding rows (status open)."""
    g = config.governance
    ws_names = {r["workspace_id"]: r["workspace_name"] for r in inputs.workspaces.iter_rows(named=True)}
    rows: list[dict] = []

    def add(rule_id: str, resource: _Resource, evidence: dict, action: str, command: str) -> None:
        who = resolver.resolve_resource(resource.resource_id, resource.workspace_id, resource.tags,
                                        resource.created_by, None)
        rows.append({
            "billing_month": inputs.billing_month,
            "finding_id": finding_id(rule_id, resource.resource_id),
            "rule_id": rule_id, "category": "governance", "severity": "medium",
            "workspace": ws_names.get(resource.workspace_id or ""),
            "resource_id": resource.resource_id.lower(), "resource_name": resource.name,
            "project": who["project"], "owner": who["owner"],
            "evidence": json.dumps({**evidence, "resource_kind": resource.kind,
                                    "savings_basis": "governance: a breach of the approved design, no savings"},
                                   sort_keys=True, default=str),
            "savings": Decimal("0.00"), "currency": inputs.currency, "action": action, "command": command,
            "first_seen": inputs.captured_at, "last_seen": inputs.captured_at, "status": "open",
            "suppression_reason": None,
        })

    resources = _resources(inputs)
    for resource in resources:
        required = g.required_tags.get(resource.kind)
        if required:
            tags = normalize_tags(resource.tags)
            missing = [key for key in required if not tags.get(key)]
            if missing:
                add("governance_required_tags", resource, {
                    "rule": f"governance.required_tags.{resource.kind}", "required": required, "missing": missing,
                    "present": sorted(tags)},
                    f"Add the tag{'s' if len(missing) > 1 else ''} {', '.join(missing)} to this {resource.kind}.",
                    f"az tag update --resource-id {q(resource.resource_id)} --operation merge --tags "
                    + " ".join(q(f"{key}=<value>") for key in missing))
    computes = inputs.computes
    for c in computes.iter_rows(named=True):
        resource = _Resource("compute", c["compute_id_original"], c["compute_name"], c["workspace_id"], c["tags"],
                             c["created_by"])
        workspace = ws_names.get(c["workspace_id"] or "", "")
        pattern = next((p for p in g.allowed_vm_sizes if glob_to_regex(p).match(workspace or "")), None)
        if pattern is not None and c["vm_size"]:
            allowed = g.allowed_vm_sizes[pattern]
            if c["vm_size"].lower() not in {size.lower() for size in allowed}:
                add("governance_vm_size", resource, {
                    "rule": f"governance.allowed_vm_sizes.{pattern}", "vm_size": c["vm_size"], "allowed": allowed},
                    f"Recreate this compute with an allowed VM size ({', '.join(allowed)}).", _show_command(resource))
        if (g.max_min_nodes is not None and c["compute_type"] == "AmlCompute"
                and (c["min_nodes"] or 0) > g.max_min_nodes):
            add("governance_min_nodes", resource, {
                "rule": "governance.max_min_nodes", "min_nodes": c["min_nodes"], "max_min_nodes": g.max_min_nodes},
                f"Lower the cluster's minimum nodes to {g.max_min_nodes}.",
                f"az ml compute update --name {q(c['compute_name'])} {workspace_args(c['compute_id_original'])} --min-instances {g.max_min_nodes}")
        if (g.idle_shutdown_required and c["compute_type"] == "ComputeInstance"
                and not c["idle_shutdown"] and not c["stop_schedule_enabled"]):
            add("governance_idle_shutdown", resource, {
                "rule": "governance.idle_shutdown_required", "idle_shutdown": c["idle_shutdown"],
                "stop_schedule_enabled": bool(c["stop_schedule_enabled"])},
                "Set an idle shutdown on this compute instance, as the design requires.",
                f"az rest --method post --url {q('https://management.azure.com' + c['compute_id_original'] + '/updateIdleShutdownSetting?api-version=2025-12-01')}"
                f" --body {q(IDLE_SHUTDOWN_BODY)}")
    if g.public_network_access == "disabled":
        for kind, frame, key, name in (("workspace", inputs.workspaces, "workspace_id_original", "workspace_name"),
                                       ("endpoint", inputs.endpoints, "endpoint_id_original", "endpoint_name")):
            if "public_network_access" not in frame.columns:
                continue
            for r in frame.iter_rows(named=True):
                value = r["public_network_access"]
                if value is not None and value.lower() == "disabled":
                    continue
                resource = _Resource(kind, r[key] or r[key.removesuffix("_original")], r[name], r["workspace_id"],
                                     r["tags"])
                add("governance_public_network", resource, {
                    "rule": "governance.public_network_access", "public_network_access": value,
                    "required": "Disabled"},
                    f"Disable public network access on this {kind} (use a private endpoint).",
                    f"az resource update --ids {q(resource.resource_id)} --set properties.publicNetworkAccess=Disabled")
    frame = pl.DataFrame(rows, schema=FINDINGS_SCHEMA, orient="row") if rows else pl.DataFrame(schema=FINDINGS_SCHEMA)
    return frame.sort(["rule_id", "resource_id"])
