"""Asset version rules (models, environments, data): stale versions and duplicates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import polars as pl

from dagster_project.azure_ids import ArmId
from dagster_project.findings.commands import q, workspace_args
from dagster_project.findings.model import Proposal
from dagster_project.findings.rules.context import FindingsContext
from dagster_project.findings.rules.registry import rule
from dagster_project.inventory.listed import ASSET_KINDS


def archive_command(asset_id: str, kind: str, name: str, version: str) -> str:
    return f"az ml {kind} archive --name {q(name)} --version {q(version)} {workspace_args(asset_id)}"


def asset_refs(reference: str | None) -> set[tuple[str, str, str]]:
    """`azureml:name:version` (or an ARM id …/models/name/versions/v) → {(kind?, name, version)}."""
    if not reference:
        return set()
    ref = reference.strip()
    if "/versions/" in ref.lower():
        found = ArmId.parse(ref).asset_version()
        if found is None:
            return set()
        kind, name, version = found
        return {(k, name.lower(), version) for k in ([kind] if kind else ASSET_KINDS)}
    if ref.startswith("azureml:"):
        ref = ref[len("azureml:"):]
    bits = ref.split(":")
    if len(bits) >= 2:
        return {(k, bits[0].lower(), bits[1]) for k in ASSET_KINDS}
    return set()


def _referenced(ctx: FindingsContext) -> set[tuple[str, str, str, str]]:
    """(workspace_id, kind, name, version) of every version a deployment or a recent job uses."""
    referenced: set[tuple[str, str, str, str]] = set()
    for d in ctx.inputs.deployments.iter_rows(named=True):
        for kind, name, version in asset_refs(d["model"]) | asset_refs(d["environment"]):
            referenced.add((d["workspace_id"], kind, name, version))
    recent_jobs = ctx.inputs.jobs.filter(pl.col("created_on") >= ctx.now - timedelta(days=ctx.t.recent_job_days))
    for j in recent_jobs.iter_rows(named=True):
        for kind, name, version in asset_refs(j["environment"]):
            referenced.add((j["workspace_id"], kind, name, version))
    return referenced


@rule("stale_version", "asset_hygiene", "Stale asset version")
def stale_version(ctx: FindingsContext) -> Iterator[Proposal]:
    t = ctx.t
    versions = ctx.inputs.asset_versions
    if versions.height == 0:
        return
    referenced = _referenced(ctx)
    ranked = versions.with_columns(
        pl.col("version").cast(pl.Int64, strict=False).alias("_version_number"),
    ).with_columns(
        pl.col("_version_number").rank("ordinal", descending=True)
        .over(["workspace_id", "kind", "name"]).alias("_newest_rank")
    )
    for v in ranked.iter_rows(named=True):
        if v["is_archived"] or v["_newest_rank"] <= t.stale_keep_latest:
            continue
        if not v["created_on"] or ctx.now - v["created_on"] <= timedelta(days=t.stale_min_age_days):
            continue
        if (v["workspace_id"], v["kind"], v["name"].lower(), v["version"]) in referenced:
            continue
        yield Proposal("stale_version", v["asset_id_original"], f"{v['name']}:{v['version']}", v["workspace_id"],
                       v["tags"], v["created_by"], Decimal(0), {
                           "kind": v["kind"], "created_on": v["created_on"].isoformat(),
                           "age_days": (ctx.now - v["created_on"]).days, "newest_rank": v["_newest_rank"],
                           "keep_latest": t.stale_keep_latest, "referenced": False,
                       }, f"Archive this {v['kind']} version: old, superseded and unused.",
                       archive_command(v["asset_id_original"], v["kind"], v["name"], v["version"]),
                       version=v["version"])


def canonical_conda_text(text: str | None) -> str | None:
    """A conda specification with its keys and lists sorted, so two spellings of one spec match."""
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


def _duplicate_keys(v: dict) -> list[tuple]:
    keys = []
    if v["path"]:
        keys.append(("path", v["workspace_id"], v["path"].rstrip("/").lower()))
    if v["image"]:
        keys.append(("environment", v["workspace_id"], v["image"], v["_conda"]))
    return keys


@rule("duplicate_artifact", "asset_hygiene", "Duplicate artifact")
def duplicate_artifact(ctx: FindingsContext) -> Iterator[Proposal]:
    versions = ctx.inputs.asset_versions.filter(~pl.col("is_archived"))
    if versions.height == 0:
        return
    versions = versions.with_columns(
        pl.col("conda_file").map_elements(canonical_conda_text, return_dtype=pl.String).alias("_conda"),
        pl.col("version").cast(pl.Int64, strict=False).alias("_version_number"),
    ).sort(["created_on", "name", "_version_number"])
    first_by_key: dict[tuple, dict] = {}
    for v in versions.iter_rows(named=True):
        for key in _duplicate_keys(v):
            original = first_by_key.setdefault(key, v)
            if original is v or original["name"] == v["name"]:
                continue
            same_path = key[0] == "path"
            yield Proposal("duplicate_artifact", v["asset_id_original"], f"{v['name']}:{v['version']}",
                           v["workspace_id"], v["tags"], v["created_by"], Decimal(0), {
                               "kind": v["kind"], "same_as": f"{original['name']}:{original['version']}",
                               "match": "same storage path" if same_path else "same image and conda specification",
                               **({"path": v["path"]} if same_path else {"image": v["image"]}),
                           }, f"Archive this duplicate {v['kind']} version; keep {original['name']}:{original['version']}.",
                           archive_command(v["asset_id_original"], v["kind"], v["name"], v["version"]),
                           version=v["version"])
            break
