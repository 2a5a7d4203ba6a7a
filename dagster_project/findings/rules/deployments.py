"""Online deployment rules: no traffic, failed but billed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dagster_project.findings.commands import q, workspace_args
from dagster_project.findings.model import Proposal, Usage, delete_savings
from dagster_project.findings.rules.context import FindingsContext
from dagster_project.findings.rules.registry import rule


@dataclass(frozen=True)
class Deployment:
    row: dict
    usage: Usage
    owner: str | None

    @property
    def aml_name(self) -> str:
        return f"{self.row['endpoint_name']}/{self.row['deployment_name']}"

    @property
    def instance_count(self) -> int:
        return self.row["instance_count"] or 0

    def proposal(self, rule_id: str, evidence: dict, action: str) -> Proposal:
        d = self.row
        return Proposal(rule_id, d["deployment_id_original"], self.aml_name, d["workspace_id"], d["tags"], None,
                        delete_savings(self.usage, "its cost this month"), {**self.usage.evidence(), **evidence},
                        action, delete_deployment_command(d["deployment_id_original"], d["endpoint_name"],
                                                          d["deployment_name"]),
                        usage=self.usage, owner=self.owner)


def deployments(ctx: FindingsContext) -> list[Deployment]:
    def build() -> list[Deployment]:
        found = []
        for d in ctx.inputs.deployments.iter_rows(named=True):
            ws, aml_name = d["workspace_id"], f"{d['endpoint_name']}/{d['deployment_name']}"
            found.append(Deployment(d, ctx.usage_of(ws, "endpoint", aml_name),
                                    ctx.resolver.resource_owner(ws, "endpoint", aml_name)))
        return found
    return ctx.memo("deployments", build)


def delete_deployment_command(deployment_id: str, endpoint: str, deployment: str) -> str:
    return (f"az ml online-deployment delete --name {q(deployment)} --endpoint-name {q(endpoint)} "
            f"{workspace_args(deployment_id)} --yes")


@rule("deployment_no_traffic", "idle_endpoint", "Online deployment without traffic")
def no_traffic(ctx: FindingsContext) -> Iterator[Proposal]:
    for d in deployments(ctx):
        traffic, mirror = d.row["traffic_pct"] or 0, d.row["mirror_traffic_pct"] or 0
        if traffic == 0 and mirror == 0 and d.instance_count >= 1:
            yield d.proposal("deployment_no_traffic", {
                "traffic_pct": traffic, "mirror_traffic_pct": mirror,
                "instance_type": d.row["instance_type"], "instance_count": d.instance_count,
            }, "Delete this deployment: it serves no traffic but keeps instances.")


@rule("deployment_failed_billed", "idle_endpoint", "Failed online deployment still billed")
def failed_billed(ctx: FindingsContext) -> Iterator[Proposal]:
    for d in deployments(ctx):
        if (d.row["provisioning_state"] or "").lower() == "failed" and d.instance_count >= 1:
            yield d.proposal("deployment_failed_billed", {
                "provisioning_state": d.row["provisioning_state"], "instance_count": d.instance_count,
            }, "Delete or fix this failed deployment: its instances are still billed.")
