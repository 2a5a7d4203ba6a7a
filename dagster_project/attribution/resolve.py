"""Decide, for every distinct kind of cost row, which project, owner and cost center it belongs to.

Azure bills Azure ML compute and online endpoints on the *workspace* resource id; only the row's
tags (`azuremlendpoint`, `azuremldeployment`, `ComputeType`, propagated compute tags) and its meter
say which compute or endpoint ran. Resolution works on *attribution keys* — the distinct
combinations of resource id, tags and meter in a month, a few thousand even for tens of millions
of rows — so the per-row work stays in DuckDB and this module holds only the rules (DESIGN §5):

1. the row's own tags;
2. for rows on a workspace: the endpoint / deployment named by `azuremlendpoint` /
   `azuremldeployment`, or the compute named by a compute-name tag, or the computes of that
   workspace whose type and VM size match the meter (one → that compute, several → an even split,
   recorded as a split); then that resource's tags and owner (its creator);
3. the workspace's tags (a workspace's storage, registry, key vault and insights belong to it);
   then the resource group's and the subscription's tags;
4. the explicit rules of `finops.yaml`;
5. otherwise the project `(unallocated)`.

Owner and cost center are taken from the first level of the same chain that has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from dagster_project.config import FinopsConfig, glob_to_regex, normalize_tag_key

UNALLOCATED = "(unallocated)"
WEIGHT_DTYPE = pl.Decimal(38, 18)

RESOLUTION_SCHEMA = pl.Schema(
    {
        "key_id": pl.Int64,
        "workspace_id": pl.String,
        "aml_kind": pl.String,
        "aml_name": pl.String,
        "project": pl.String,
        "owner": pl.String,
        "cost_center": pl.String,
        "allocation_method": pl.String,
        "allocation_rule": pl.String,
        "weight": WEIGHT_DTYPE,
    }
)


def normalize_tags(raw: str | dict | None) -> dict[str, str]:
    """Tags as a dict with normalized keys (trimmed, lowercase) and trimmed values.

    When two spellings of one key meet on a resource (`Project` and `project`), the first written
    wins, so the result does not depend on dict ordering elsewhere.
    """
    if raw is None or raw == "":
        return {}
    data = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        norm = normalize_tag_key(str(key))
        if norm and norm not in out and value is not None:
            out[norm] = str(value).strip()
    return out


def vm_sizes_from_meter(description: str | None) -> set[str]:
    """VM sizes a meter name can stand for: `… - D11 v2/DS11 v2` → {standard_d11_v2, standard_ds11_v2}."""
    if not description or " - " not in description:
        return set()
    tail = description.rsplit(" - ", 1)[1].replace(" Low Priority", "").replace(" Spot", "")
    return {"standard_" + part.strip().lower().replace(" ", "_") for part in tail.split("/") if part.strip()}


def _compute_type_key(value: str | None) -> str:
    return (value or "").replace(" ", "").lower()


@dataclass(frozen=True)
class _Level:
    name: str  # inheritance level
    tags: dict[str, str]
    method: str  # allocation_method when this level decides the project
    rule: str  # human explanation prefix
    owner_fallback: str | None = None


@dataclass(frozen=True)
class _AmlTarget:
    kind: str
    name: str
    tags: dict[str, str]
    method: str
    rule: str
    owner_fallback: str | None = None
    weight: Decimal = Decimal(1)


@dataclass
class InventoryIndex:
    """Lookups over the inventory tables, built once per resolution."""

    workspaces: dict[str, dict] = field(default_factory=dict)
    dependency_owner: dict[str, str] = field(default_factory=dict)
    computes: dict[str, list[dict]] = field(default_factory=dict)
    endpoints: dict[tuple[str, str], dict] = field(default_factory=dict)
    deployments: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    resource_groups: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    # (workspace_id, lowercase compute name) → hours its jobs ran in the month being attributed.
    running_hours: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        workspaces: pl.DataFrame,
        computes: pl.DataFrame,
        endpoints: pl.DataFrame,
        deployments: pl.DataFrame,
        resource_groups: pl.DataFrame | None = None,
        subscriptions: pl.DataFrame | None = None,
        running_hours: pl.DataFrame | None = None,
    ) -> InventoryIndex:
        index = cls()
        for ws in workspaces.iter_rows(named=True):
            wid = ws["workspace_id"]
            index.workspaces[wid] = {**ws, "tags_norm": normalize_tags(ws["tags"])}
            for dep in ("storage_account_id", "container_registry_id", "key_vault_id", "application_insights_id"):
                if ws.get(dep):
                    index.dependency_owner[ws[dep].lower()] = wid
        for c in computes.iter_rows(named=True):
            index.computes.setdefault(c["workspace_id"], []).append({**c, "tags_norm": normalize_tags(c["tags"])})
        for e in endpoints.iter_rows(named=True):
            index.endpoints[(e["workspace_id"], e["endpoint_name"].lower())] = {
                **e, "tags_norm": normalize_tags(e["tags"])}
        for d in deployments.iter_rows(named=True):
            key = (d["workspace_id"], d["endpoint_name"].lower(), d["deployment_name"].lower())
            index.deployments[key] = {**d, "tags_norm": normalize_tags(d["tags"])}
        if resource_groups is not None:
            for rg in resource_groups.iter_rows(named=True):
                index.resource_groups[(rg["subscription_id"].lower(), rg["resource_group"].lower())] = normalize_tags(
                    rg["tags"])
        if subscriptions is not None:
            for sub in subscriptions.iter_rows(named=True):
                index.subscriptions[sub["subscription_id"].lower()] = normalize_tags(sub["tags"])
        if running_hours is not None:
            for r in running_hours.iter_rows(named=True):
                index.running_hours[(r["workspace_id"], r["compute_name"].lower())] = Decimal(r["running_hours"] or 0)
        return index


class Resolver:
    """Applies DESIGN §5 to attribution keys with one configuration and one inventory."""

    def __init__(self, config: FinopsConfig, index: InventoryIndex):
        self.config = config
        self.index = index
        self.tag_keys = config.tags
        self._rules = [
            (i, rule, {k: glob_to_regex(v) for k, v in (("resource_group", rule.resource_group),
                                                        ("subscription", rule.subscription),
                                                        ("resource_id", rule.resource_id)) if v})
            for i, rule in enumerate(config.attribution.rules)
        ]
        # A resource outside Azure ML is decided by its tags, subscription and resource group
        # alone (and its id, when a rule matches ids): large tenants have 100,000s of such
        # resources but few such combinations, so each combination is decided once.
        self._rules_match_ids = any("resource_id" in patterns for _, _, patterns in self._rules)
        self._decided_other: dict[tuple, dict] = {}

    # -- tag lookups -------------------------------------------------------------------------

    def _first(self, tags: dict[str, str], keys: Iterable[str]) -> tuple[str, str] | None:
        for key in keys:
            value = tags.get(key)
            if value:
                return key, value
        return None

    def normalize_project(self, value: str) -> str:
        value = value.strip()
        if self.tag_keys.project_case == "lowercase":
            value = value.lower()
        return self.tag_keys.project_aliases.get(value.lower(), value)

    # -- AML resource identification ---------------------------------------------------------

    def _aml_targets(self, workspace_id: str, row_tags: dict[str, str], vm_size: str | None,
                     meter: str | None) -> list[_AmlTarget]:
        endpoint = row_tags.get("azuremlendpoint")
        if endpoint:
            ep = self.index.endpoints.get((workspace_id, endpoint.lower()))
            deployment = row_tags.get("azuremldeployment")
            dep = self.index.deployments.get((workspace_id, endpoint.lower(), (deployment or "").lower()))
            tags = {**(ep["tags_norm"] if ep else {})}
            for k, v in (dep["tags_norm"] if dep else {}).items():
                tags[k] = v  # a deployment's own tags are more specific than its endpoint's
            name = f"{endpoint}/{deployment}" if deployment else endpoint
            return [_AmlTarget("endpoint", name, tags, "endpoint_tag",
                               f"endpoint {name} (tag azuremlendpoint)" + ("" if ep else ", not in inventory"))]
        candidates = self.index.computes.get(workspace_id, [])
        named = self._first(row_tags, self.tag_keys.compute_name)
        if named:
            match = [c for c in candidates if c["compute_name"].lower() == named[1].lower()]
            if match:
                c = match[0]
                return [_AmlTarget("compute", c["compute_name"], c["tags_norm"], "compute_tag",
                                   f"compute {c['compute_name']} (tag {named[0]})", c.get("created_by"))]
        compute_type = row_tags.get("computetype")
        same_type = [c for c in candidates
                     if not compute_type or _compute_type_key(c["compute_type"]) == _compute_type_key(compute_type)]
        # Azure copies a compute's own tags onto its cost rows; a compute whose every tag is on
        # the row, alone among computes of that type, is the one that ran.
        tagged = [c for c in same_type if c["tags_norm"]
                  and all(row_tags.get(k) == v for k, v in c["tags_norm"].items())]
        if len(tagged) == 1:
            c = tagged[0]
            return [_AmlTarget("compute", c["compute_name"], c["tags_norm"], "compute_tag",
                               f"compute {c['compute_name']} (its tags are on the row)", c.get("created_by"))]
        if not compute_type:
            return []
        sizes = {vm_size.lower()} if vm_size else vm_sizes_from_meter(meter)
        match = [c for c in same_type if (c.get("vm_size") or "").lower() in sizes]
        if len(match) == 1:
            c = match[0]
            return [_AmlTarget("compute", c["compute_name"], c["tags_norm"], "compute_match",
                               f"compute {c['compute_name']} (only {c['compute_type']} of size {c['vm_size']})",
                               c.get("created_by"))]
        if not match:
            return []
        match = sorted(match, key=lambda c: c["compute_name"])
        hours = [self.index.running_hours.get((workspace_id, c["compute_name"].lower()), Decimal(0)) for c in match]
        total = sum(hours, Decimal(0))
        basis = "running hours" if total > 0 else "evenly, no running hours known"
        weights = [h / total for h in hours] if total > 0 else [Decimal(1) / len(match)] * len(match)
        return [
            _AmlTarget("compute", c["compute_name"], c["tags_norm"], "compute_split",
                       f"compute {c['compute_name']} ({weight:.2%} of a split over {len(match)} {c['compute_type']} "
                       f"of size {c['vm_size']}, by {basis})", c.get("created_by"), weight)
            for c, weight in zip(match, weights, strict=True)
        ]

    # -- resolution --------------------------------------------------------------------------

    def resolve_key(self, key: dict) -> list[dict]:
        """All allocation parts of one attribution key (one part unless a compute split applies)."""
        resource_id = (key.get("resource_id") or "").lower()
        if resource_id not in self.index.workspaces and resource_id not in self.index.dependency_owner:
            return [self._resolve_other(key, resource_id)]
        row_tags = normalize_tags(key.get("tags"))
        workspace_id: str | None = None
        aml_kind, aml_name = "other", None
        targets: list[_AmlTarget] = []
        if resource_id in self.index.workspaces:
            workspace_id = resource_id
            aml_kind, aml_name = "workspace", self.index.workspaces[resource_id]["workspace_name"]
            targets = self._aml_targets(resource_id, row_tags, key.get("meter_vm_size"), key.get("charge_description"))
        else:
            workspace_id = self.index.dependency_owner[resource_id]
            aml_kind, aml_name = "dependency", resource_id.rsplit("/", 1)[-1]

        row_project = self._first(row_tags, self.tag_keys.project)
        if row_project and len(targets) > 1:
            targets = []  # the row names its project itself; no need to guess which compute ran
        parts = targets or [None]
        out = []
        for target in parts:
            levels = self._levels(key, row_tags, workspace_id, target)
            resolved = self._decide(key, resource_id, levels)
            out.append({
                "key_id": key["key_id"],
                "workspace_id": workspace_id,
                "aml_kind": target.kind if target else aml_kind,
                "aml_name": target.name if target else aml_name,
                **resolved,
                "weight": target.weight if target else Decimal(1),
            })
        return out

    def _resolve_other(self, key: dict, resource_id: str) -> dict:
        """The single part of a key whose resource is neither a workspace nor one's dependency."""
        combination = (key.get("tags"), (key.get("sub_account_id") or "").lower(),
                       (key.get("resource_group") or "").lower(), resource_id if self._rules_match_ids else None)
        resolved = self._decided_other.get(combination)
        if resolved is None:
            levels = self._levels(key, normalize_tags(key.get("tags")), None, None)
            resolved = self._decided_other[combination] = self._decide(key, resource_id, levels)
        return {"key_id": key["key_id"], "workspace_id": None, "aml_kind": "other", "aml_name": None,
                **resolved, "weight": Decimal(1)}

    def _levels(self, key: dict, row_tags: dict[str, str], workspace_id: str | None,
                target: _AmlTarget | None) -> list[_Level]:
        available: dict[str, _Level] = {"row": _Level("row", row_tags, "row_tag", "row tag")}
        if target:
            available["aml_resource"] = _Level("aml_resource", target.tags, target.method, target.rule,
                                               target.owner_fallback)
        if workspace_id:
            ws = self.index.workspaces[workspace_id]
            available["workspace"] = _Level("workspace", ws["tags_norm"], "workspace_tag",
                                            f"workspace {ws['workspace_name']} tag")
        sub = (key.get("sub_account_id") or "").lower()
        rg = (key.get("resource_group") or "").lower()
        if (sub, rg) in self.index.resource_groups:
            available["resource_group"] = _Level("resource_group", self.index.resource_groups[(sub, rg)],
                                                 "resource_group_tag", f"resource group {rg} tag")
        if sub in self.index.subscriptions:
            available["subscription"] = _Level("subscription", self.index.subscriptions[sub], "subscription_tag",
                                               f"subscription {sub} tag")
        return [available[name] for name in self.config.attribution.inheritance if name in available]

    def _decide(self, key: dict, resource_id: str, levels: list[_Level]) -> dict:
        keys = self.tag_keys
        project = method = rule = None
        for level in levels:
            hit = self._first(level.tags, keys.project)
            if hit:
                project = self.normalize_project(hit[1])
                method = level.method
                rule = f"{level.rule} '{hit[0]}'" if level.name != "aml_resource" else f"{level.rule}, tag '{hit[0]}'"
                via = next((lvl for lvl in levels if lvl.name == "aml_resource"), None)
                if via is not None and level.name not in ("row", "aml_resource"):
                    rule += f" (via {via.rule})"
                break
        owner = next((v for lvl in levels if (v := (self._first(lvl.tags, keys.owner) or (None, None))[1])), None)
        if owner is None:
            owner = next((lvl.owner_fallback for lvl in levels if lvl.owner_fallback), None)
        cost_center = next(
            (v for lvl in levels if (v := (self._first(lvl.tags, keys.cost_center) or (None, None))[1])), None)
        if project is None:
            matched = self._match_rule(key, resource_id)
            if matched:
                index, config_rule = matched
                project = self.normalize_project(config_rule.project)
                method, rule = "rule", f"finops.yaml attribution.rules[{index}]"
                owner = owner or config_rule.owner
                cost_center = cost_center or config_rule.cost_center
        if project is None:
            project, method, rule = UNALLOCATED, "unallocated", "no project tag, inherited tag or rule"
        return {"project": project, "owner": owner, "cost_center": cost_center,
                "allocation_method": method, "allocation_rule": rule}

    def resolve_resource(self, resource_id: str, workspace_id: str | None, tags: str | dict | None,
                         owner_fallback: str | None = None) -> dict:
        """Project, owner and cost center of an inventory resource (its tags, then its workspace's)."""
        levels = [_Level("aml_resource", normalize_tags(tags), "resource_tag", "resource tag", owner_fallback)]
        if workspace_id and workspace_id in self.index.workspaces:
            ws = self.index.workspaces[workspace_id]
            levels.append(_Level("workspace", ws["tags_norm"], "workspace_tag", f"workspace {ws['workspace_name']} tag"))
            key = {"sub_account_id": ws["subscription_id"], "resource_group": ws["resource_group"]}
        else:
            key = {}
        return self._decide(key, resource_id.lower(), levels)

    def _match_rule(self, key: dict, resource_id: str):
        values = {
            "resource_group": (key.get("resource_group") or "").lower(),
            "subscription": (key.get("sub_account_id") or "").lower(),
            "resource_id": resource_id,
        }
        for index, rule, patterns in self._rules:
            if all(regex.match(values[field_name]) for field_name, regex in patterns.items()):
                return index, rule
        return None


DIRECT_KINDS = ("compute", "endpoint", "workspace")


def resolve_attribution_keys(keys: pl.DataFrame, config: FinopsConfig, index: InventoryIndex,
                             key_amounts: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per allocation part of every key: who it belongs to, how that was decided, its weight.

    `key_amounts` (key_id, billing_currency, effective_cost) enables the shared-cost split of
    workspace dependencies (rule 5); without it dependencies simply inherit their workspace.
    """
    resolver = Resolver(config, index)
    rows = [part for key in keys.iter_rows(named=True) for part in resolver.resolve_key(key)]
    parts = pl.DataFrame(rows, schema=RESOLUTION_SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=RESOLUTION_SCHEMA)
    if key_amounts is None or parts.height == 0:
        return parts
    return share_dependencies(parts, key_amounts, config, resolver)


def _direct_spend(parts: pl.DataFrame, key_amounts: pl.DataFrame) -> dict[str, dict[str, Decimal]]:
    """workspace_id → project → direct effective cost, in the workspace's main currency."""
    direct = parts.filter(pl.col("aml_kind").is_in(DIRECT_KINDS) & pl.col("workspace_id").is_not_null()).join(
        key_amounts, on="key_id")
    if direct.height == 0:
        return {}
    totals: dict[tuple[str, str, str], Decimal] = {}
    for r in direct.iter_rows(named=True):
        key = (r["workspace_id"], r["billing_currency"], r["project"])
        totals[key] = totals.get(key, Decimal(0)) + (r["effective_cost"] or Decimal(0)) * r["weight"]
    per_currency: dict[tuple[str, str], Decimal] = {}
    for (ws, currency, _), amount in totals.items():
        per_currency[(ws, currency)] = per_currency.get((ws, currency), Decimal(0)) + abs(amount)
    main = {}
    for (ws, currency), volume in sorted(per_currency.items()):
        if ws not in main or volume > per_currency[(ws, main[ws])]:
            main[ws] = currency
    out: dict[str, dict[str, Decimal]] = {}
    for (ws, currency, project), amount in sorted(totals.items()):
        if main[ws] == currency:
            out.setdefault(ws, {})[project] = amount
    return out


def shared_weights(spend: dict[str, Decimal], config: FinopsConfig,
                   normalize: callable) -> tuple[dict[str, Decimal], str]:
    """Who shares a workspace's dependency costs, and in what proportion (sums to 1)."""
    policy = config.attribution.shared_costs
    if policy.policy == "fixed":
        return {normalize(p): pct / 100 for p, pct in policy.percentages.items()}, "fixed percentages"
    users = sorted(spend)
    if policy.policy == "direct_spend":
        positive = {p: a for p, a in spend.items() if a > 0}
        total = sum(positive.values(), Decimal(0))
        if total > 0:
            return {p: a / total for p, a in sorted(positive.items())}, "direct spend"
    # `even`, or direct spend with no positive weight (all credits or zero): nobody's money vanishes.
    return {p: Decimal(1) / len(users) for p in users}, "even split"


def share_dependencies(parts: pl.DataFrame, key_amounts: pl.DataFrame, config: FinopsConfig,
                       resolver: Resolver) -> pl.DataFrame:
    """Rule 5: a workspace's storage, registry, key vault and insights spend that no row tag claims
    is shared by the projects that used the workspace this month (direct compute, endpoint and
    workspace spend), by the configured policy. A workspace nobody but `(unallocated)` used keeps
    the ordinary chain (its own tags, then the rules)."""
    candidates = parts.filter((pl.col("aml_kind") == "dependency") & (pl.col("allocation_method") != "row_tag"))
    if candidates.height == 0:
        return parts
    spend = _direct_spend(parts, key_amounts)
    names = {ws: info["workspace_name"] for ws, info in resolver.index.workspaces.items()}
    shared_rows = []
    replaced: set[int] = set()
    for part in candidates.iter_rows(named=True):
        usage = spend.get(part["workspace_id"], {})
        if set(usage) - {UNALLOCATED} == set() and config.attribution.shared_costs.policy != "fixed":
            continue
        weights, basis = shared_weights(usage, config, resolver.normalize_project)
        if not weights:
            continue
        explanation = ", ".join(f"{p} {w:.2%}" for p, w in weights.items())
        replaced.add(part["key_id"])
        for project, weight in weights.items():
            shared_rows.append({
                **part,
                "project": project,
                "allocation_method": "shared_split",
                "allocation_rule": f"shared cost of workspace {names.get(part['workspace_id'], part['workspace_id'])}"
                                   f" split by {basis}: {explanation}",
                "weight": weight,
            })
    if not shared_rows:
        return parts
    kept = parts.filter(~pl.col("key_id").is_in(list(replaced)))
    return pl.concat([kept, pl.DataFrame(shared_rows, schema=RESOLUTION_SCHEMA, orient="row")])
