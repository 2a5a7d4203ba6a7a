"""Governance rule: spend that reached no project (a resource with no project tag)."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from dagster_project.attribution.resolve import UNALLOCATED
from dagster_project.findings.commands import q, workspace_args
from dagster_project.findings.model import ZERO, Proposal, Usage
from dagster_project.findings.rules.context import FindingsContext
from dagster_project.findings.rules.registry import rule
from dagster_project.money import plain_cents


def tag_command(target: str, aml_kind: str | None, aml_name: str | None, tag_key: str) -> str:
    """A compute is tagged through `az ml compute update`; anything else through `az tag update`."""
    if aml_kind == "compute":
        return f"az ml compute update --name {q(aml_name)} {workspace_args(target)} --set {q(f'tags.{tag_key}=<project>')}"
    return f"az tag update --resource-id {q(target)} --operation merge --tags {q(f'{tag_key}=<project>')}"


def _unallocated_per_resource(allocation: pl.DataFrame) -> pl.DataFrame:
    """The month's unallocated spend per resource, in the currency it was billed in (its largest,
    should there be two; never summed across currencies), with its largest allocation's owner."""
    alloc = allocation.filter((pl.col("project") == UNALLOCATED) & (pl.col("resource_id") != ""))
    if alloc.height == 0:
        return alloc
    if "owner" not in alloc.columns:
        alloc = alloc.with_columns(pl.lit(None, dtype=pl.String).alias("owner"))
    alloc = alloc.with_columns(
        pl.when(pl.col("aml_kind") == "compute").then(pl.col("workspace_id") + "/computes/" + pl.col("aml_name").str.to_lowercase())
        .when(pl.col("aml_kind") == "endpoint").then(
            pl.col("workspace_id") + "/onlineendpoints/" + pl.col("aml_name").str.to_lowercase().str.replace("/", "/deployments/"))
        .otherwise(pl.col("resource_id")).alias("_target")
    )
    return alloc.group_by("_target", "billing_currency", "workspace_id", "aml_kind", "aml_name").agg(
        pl.col("effective_cost").sum().alias("spend"),
        pl.col("owner").sort_by(pl.col("effective_cost").abs(), descending=True).drop_nulls().first().alias("owner"),
    ).sort(["_target", "spend", "billing_currency"], descending=[False, True, False]).unique(
        "_target", keep="first", maintain_order=True)


@rule("untagged_spend", "governance", "Spend with no project", min_severity="medium")
def untagged_spend(ctx: FindingsContext) -> Iterator[Proposal]:
    per_target = _unallocated_per_resource(ctx.inputs.allocation)
    key = ctx.config.tags.project[0]
    for r in per_target.iter_rows(named=True):
        spend = r["spend"] or ZERO
        if spend < ctx.t.untagged_min_spend:
            continue
        target = r["_target"]
        # The resource's one owner, the one its other findings name (else its allocation's).
        owner = ctx.resolver.resource_owner(r["workspace_id"], r["aml_kind"], r["aml_name"]) or r["owner"]
        yield Proposal("untagged_spend", target, r["aml_name"] or target.rsplit("/", 1)[-1], r["workspace_id"], None,
                       None, ZERO, {
                           "unallocated_spend": plain_cents(spend), "threshold": str(ctx.t.untagged_min_spend),
                           "aml_kind": r["aml_kind"], "savings_basis": "governance: no savings, the spend has no owner",
                       }, f"Tag this resource with a '{key}' tag so its spend reaches a project.",
                       tag_command(target, r["aml_kind"], r["aml_name"], key),
                       usage=Usage(r["billing_currency"], cost=spend), owner=owner)
