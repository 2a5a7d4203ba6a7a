"""Decide, for every distinct kind of cost row, which project, owner and cost center it belongs to.

Azure bills Azure ML compute and online endpoints on the *workspace* resource id; only the row's
tags (`azuremlendpoint`, `azuremldeployment`, `ComputeType`, propagated compute tags) and its meter
say which compute or endpoint ran. Resolution works on *attribution keys* — the distinct
combinations of resource id, tags, meter and commitment in a month, a few thousand even for tens
of millions of rows — so the per-row work stays in DuckDB and this module holds only the rules:

1. the row's own tags;
2. unused commitment hours and commitment purchases go to their explicit projects
   (`attribution.commitments`), never to a project inherited from their scope;
3. for rows on a workspace: the endpoint / deployment named by `azuremlendpoint` /
   `azuremldeployment`, or the compute named by a compute-name tag, or whose own tags are on the
   row, or the computes (and deployments) of that workspace whose type and VM size match the row
   (`compute.py`: the type synonym table, an unknown type matching by size across all types; the
   size from AdditionalInfo / x_SkuDetails / SkuPriceDetails, then the meter name, then the charge
   description, never a region); one → that compute, several → a split by running hours;
   then that resource's tags;
4. the workspace's tags (a workspace's storage, registry, key vault and insights belong to it,
   and are shared by the projects of every workspace that uses them — a hub and its projects);
   then the resource group's and the subscription's tags;
5. the explicit rules of `finops.yaml`;
6. otherwise the project `(unallocated)`.

Owner and cost center are taken from the first level of the same chain that has them; rows of an
Azure ML resource take that resource's one owner (`Resolver.resource_owner`: its owner tag along
its chain, then its assigned user, then its creator), the owner its findings name too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from dagster_project.attribution.compute import (
    COMPUTE_TYPES,
    ONLINE_ENDPOINT,
    SERVERLESS,
    canonical_compute_type,
    is_vm_size,
    vm_sizes_from_meter,
    vm_sizes_from_meter_part,
)
from dagster_project.attribution.methods import UNALLOCATED, AllocationMethod
from dagster_project.config import FinopsConfig, glob_to_regex, normalize_tag_key

__all__ = ["UNALLOCATED", "InventoryIndex", "Resolver", "normalize_tags", "resolve_attribution_keys",
           "vm_sizes_from_meter"]

WEIGHT_DTYPE = pl.Decimal(38, 18)
DEPENDENCY_COLUMNS = ("storage_account_id", "container_registry_id", "key_vault_id", "application_insights_id")

RESOLUTION_SCHEMA = pl.Schema(
    {
        "key_id": pl.Int64,
        "resource_id": pl.String,
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


# -- tag values ------------------------------------------------------------------------------------

class _JsonNumber(str):
    """A JSON number kept as the text it was written in (`1.50` stays `1.50`)."""


def _loads_tags(raw: str) -> object:
    return json.loads(raw, parse_int=_JsonNumber, parse_float=_JsonNumber, parse_constant=_JsonNumber)


def tag_value_text(value: object) -> str | None:
    """A tag value as text: strings trimmed, numbers and booleans as their JSON text (`42`,
    `true`); None for null, and for arrays and objects, which are not values a tag can name."""
    if value is None or isinstance(value, (list, dict)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float, Decimal)):
        return json.dumps(value) if not isinstance(value, Decimal) else str(value)
    return None


def normalize_tags_with_repairs(raw: str | dict | None) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Tags with normalized keys (trimmed, lowercase) and text values, and what had to be dropped.

    When two spellings of one key meet on a resource (`Project` and `project`), the first written
    wins, so the result does not depend on dict ordering elsewhere. A value that is a JSON array
    or object is dropped and named in the repairs: (key, `tag 'project' is a JSON array`).
    """
    if raw is None or raw == "":
        return {}, []
    try:
        data = _loads_tags(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}, [("", "tags are not JSON")]
    if not isinstance(data, dict):
        return {}, []
    out: dict[str, str] = {}
    repairs: list[tuple[str, str]] = []
    for key, value in data.items():
        norm = normalize_tag_key(str(key))
        if not norm or norm in out:
            continue
        if isinstance(value, (list, dict)):
            kind = "array" if isinstance(value, list) else "object"
            repairs.append((norm, f"tag '{norm}' is a JSON {kind}, not a value"))
            continue
        text = tag_value_text(value)
        if text is not None:
            out[norm] = text
    return out, repairs


def normalize_tags(raw: str | dict | None) -> dict[str, str]:
    """Tags as a dict with normalized keys and text values (see `normalize_tags_with_repairs`)."""
    return normalize_tags_with_repairs(raw)[0]


# -- resolution building blocks -------------------------------------------------------------------

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
    owner: str | None = None
    levels: tuple[_Level, ...] = ()  # the resource's own chain (a deployment: it, then its endpoint)
    weight: Decimal = Decimal(1)


@dataclass
class InventoryIndex:
    """Lookups over the inventory tables, built once per resolution."""

    workspaces: dict[str, dict] = field(default_factory=dict)
    # dependency id → the workspace its rows are booked on (a hub when a hub lists it), and every
    # workspace that uses it (the workspaces listing it and, for a hub, its projects).
    dependency_owner: dict[str, str] = field(default_factory=dict)
    dependency_users: dict[str, tuple[str, ...]] = field(default_factory=dict)
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
        listed_by: dict[str, set[str]] = {}
        for ws in workspaces.iter_rows(named=True):
            wid = ws["workspace_id"]
            kind = ws.get("workspace_kind") or "Default"
            index.workspaces[wid] = {**ws, "workspace_kind": kind, "hub_workspace_id": ws.get("hub_workspace_id"),
                                     "tags_norm": normalize_tags(ws["tags"])}
            for dep in DEPENDENCY_COLUMNS:
                if ws.get(dep):
                    listed_by.setdefault(ws[dep].lower(), set()).add(wid)
        projects_of: dict[str, set[str]] = {}
        for wid, ws in index.workspaces.items():
            if ws["hub_workspace_id"]:
                projects_of.setdefault(ws["hub_workspace_id"].lower(), set()).add(wid)
        for dep, listers in listed_by.items():
            users = set(listers)
            for wid in listers:
                users |= projects_of.get(wid, set())
            hubs = sorted(w for w in listers if index.workspaces[w]["workspace_kind"] == "Hub")
            # Booked on the hub that lists it, else the first lister: never "the last one listed".
            index.dependency_owner[dep] = hubs[0] if hubs else sorted(listers)[0]
            index.dependency_users[dep] = tuple(sorted(users))
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

    def deployments_of(self, workspace_id: str) -> list[dict]:
        return [d for (ws, _, _), d in sorted(self.deployments.items()) if ws == workspace_id]

    def compute(self, workspace_id: str, name: str) -> dict | None:
        return next((c for c in self.computes.get(workspace_id, []) if c["compute_name"].lower() == name.lower()),
                    None)


def _size_of(candidate: dict) -> str:
    return _size_text(candidate).lower()


def _size_text(candidate: dict) -> str:
    return candidate.get("vm_size") or candidate.get("instance_type") or ""


def _candidate_name(candidate: dict) -> str:
    if "deployment_name" in candidate:
        return f"{candidate['endpoint_name']}/{candidate['deployment_name']}"
    return candidate["compute_name"]


def _candidate_type(candidate: dict) -> str:
    return "deployment" if "deployment_name" in candidate else candidate["compute_type"]


class Resolver:
    """Applies the resolution rules to attribution keys with one configuration and one inventory."""

    def __init__(self, config: FinopsConfig, index: InventoryIndex):
        self.config = config
        self.index = index
        self.tag_keys = config.tags
        self.type_synonyms = config.attribution.compute_type_synonyms
        self.commitments = config.attribution.commitments
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
        self._relevant_keys = {*self.tag_keys.project, *self.tag_keys.owner, *self.tag_keys.cost_center,
                               *self.tag_keys.compute_name}

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

    def _relevant_repairs(self, repairs: list[tuple[str, str]]) -> list[str]:
        return [text for key, text in repairs if key in self._relevant_keys]

    # -- owners ------------------------------------------------------------------------------

    def _scope_levels(self, subscription: str | None, resource_group: str | None) -> list[_Level]:
        sub, rg = (subscription or "").lower(), (resource_group or "").lower()
        levels = []
        if (sub, rg) in self.index.resource_groups:
            levels.append(_Level("resource_group", self.index.resource_groups[(sub, rg)], AllocationMethod.RESOURCE_GROUP_TAG,
                                 f"resource group {rg} tag"))
        if sub in self.index.subscriptions:
            levels.append(_Level("subscription", self.index.subscriptions[sub], AllocationMethod.SUBSCRIPTION_TAG,
                                 f"subscription {sub} tag"))
        return levels

    def _workspace_level(self, workspace_id: str) -> _Level:
        ws = self.index.workspaces[workspace_id]
        return _Level("workspace", ws["tags_norm"], AllocationMethod.WORKSPACE_TAG, f"workspace {ws['workspace_name']} tag")

    def _resource_chain(self, workspace_id: str | None, own: Iterable[_Level]) -> list[_Level]:
        levels = list(own)
        if workspace_id and workspace_id in self.index.workspaces:
            ws = self.index.workspaces[workspace_id]
            levels.append(self._workspace_level(workspace_id))
            levels += self._scope_levels(ws["subscription_id"], ws["resource_group"])
        return levels

    def _owner_of_chain(self, levels: Iterable[_Level]) -> str | None:
        return next((v for lvl in levels if (v := (self._first(lvl.tags, self.tag_keys.owner) or (None, None))[1])),
                    None)

    def compute_owner(self, compute: dict) -> str | None:
        """A compute's one owner: the owner tag along its chain (its tags, its workspace's, resource
        group's, subscription's), then its assigned user, then its creator."""
        chain = self._resource_chain(compute["workspace_id"], [_Level("aml_resource", compute["tags_norm"], "", "")])
        owner = self._owner_of_chain(chain)
        if owner:
            return owner
        assigned = compute.get("assigned_user_object_id")
        creator = compute.get("created_by")
        if assigned:
            # The assigned user's name is known when the user created the instance themself.
            creator_id = compute.get("created_by_object_id")
            return creator if creator and creator_id and creator_id.lower() == assigned.lower() else assigned
        return creator or None

    def deployment_levels(self, workspace_id: str, endpoint: str, deployment: str | None) -> tuple[_Level, ...]:
        ep = self.index.endpoints.get((workspace_id, endpoint.lower()))
        dep = self.index.deployments.get((workspace_id, endpoint.lower(), (deployment or "").lower()))
        levels = []
        if dep:
            levels.append(_Level("aml_resource", dep["tags_norm"], "", ""))
        if ep:
            levels.append(_Level("aml_resource", ep["tags_norm"], "", ""))
        return tuple(levels)

    def resource_owner(self, workspace_id: str | None, aml_kind: str, aml_name: str | None) -> str | None:
        """The one owner of an Azure ML compute (`compute`, name) or deployment (`endpoint`,
        `endpoint/deployment`): what its allocation rows and every finding on it name."""
        if not workspace_id or not aml_name:
            return None
        if aml_kind == "compute":
            compute = self.index.compute(workspace_id, aml_name)
            return self.compute_owner(compute) if compute else None
        if aml_kind == "endpoint":
            endpoint, _, deployment = aml_name.partition("/")
            return self._owner_of_chain(self._resource_chain(
                workspace_id, self.deployment_levels(workspace_id, endpoint, deployment or None)))
        return None

    # -- AML resource identification ---------------------------------------------------------

    def _compute_target(self, workspace_id: str, c: dict, method: str, rule: str,
                        weight: Decimal = Decimal(1)) -> _AmlTarget:
        if "deployment_name" in c:
            name = _candidate_name(c)
            levels = self.deployment_levels(workspace_id, c["endpoint_name"], c["deployment_name"])
            tags = {}
            for level in reversed(levels):
                tags.update(level.tags)  # a deployment's own tags are more specific than its endpoint's
            owner = self._owner_of_chain(self._resource_chain(workspace_id, levels))
            return _AmlTarget("endpoint", name, tags, method, rule, owner, levels, weight)
        return _AmlTarget("compute", c["compute_name"], c["tags_norm"], method, rule, self.compute_owner(c),
                          (_Level("aml_resource", c["tags_norm"], "", ""),), weight)

    def _vm_sizes(self, key: dict) -> tuple[set[str], str | None]:
        """The VM sizes a row names and where they were read, in the order of trust."""
        detail = key.get("meter_vm_size")
        if detail and is_vm_size(detail):
            return {detail.strip().lower()}, f"{key.get('details_size_key') or 'ServiceType'} {detail.strip()}"
        if key.get("after_stop"):
            return set(), None  # a disk, load balancer or IP address meter names no VM size
        meter = key.get("sku_meter")
        sizes = vm_sizes_from_meter_part(meter)
        if sizes:
            return sizes, f"meter name '{meter}'"
        description = key.get("charge_description")
        sizes = vm_sizes_from_meter(description)
        if sizes:
            return sizes, f"charge description '{description}'"
        return set(), None

    def _aml_targets(self, workspace_id: str, row_tags: dict[str, str], key: dict) -> tuple[list[_AmlTarget], str]:
        """The Azure ML resources a workspace-billed row belongs to, and a note when none is found."""
        endpoint = row_tags.get("azuremlendpoint")
        if endpoint:
            deployment = row_tags.get("azuremldeployment")
            ep = self.index.endpoints.get((workspace_id, endpoint.lower()))
            levels = self.deployment_levels(workspace_id, endpoint, deployment)
            tags: dict[str, str] = {}
            for level in reversed(levels):
                tags.update(level.tags)
            name = f"{endpoint}/{deployment}" if deployment else endpoint
            owner = self._owner_of_chain(self._resource_chain(workspace_id, levels))
            return [_AmlTarget("endpoint", name, tags, AllocationMethod.ENDPOINT_TAG,
                               f"endpoint {name} (tag azuremlendpoint)" + ("" if ep else ", not in inventory"),
                               owner, levels)], ""
        computes = self.index.computes.get(workspace_id, [])
        named = self._first(row_tags, self.tag_keys.compute_name)
        if named:
            match = [c for c in computes if c["compute_name"].lower() == named[1].lower()]
            if match:
                return [self._compute_target(workspace_id, match[0], AllocationMethod.COMPUTE_TAG,
                                             f"compute {match[0]['compute_name']} (tag {named[0]})")], ""
        spelled, source = row_tags.get("computetype"), "tag ComputeType"
        if not spelled and key.get("aml_resource_type"):
            spelled, source = key["aml_resource_type"], "AdditionalInfo AMLResourceType"
        canonical = canonical_compute_type(spelled, self.type_synonyms)
        if canonical == ONLINE_ENDPOINT:
            candidates = self.index.deployments_of(workspace_id)
        elif canonical:
            candidates = [c for c in computes if c["compute_type"] in COMPUTE_TYPES[canonical]]
        else:
            candidates = [*computes, *self.index.deployments_of(workspace_id)]
        if canonical:
            how_type = f"{source} '{spelled}' = {canonical}"
        elif spelled:
            how_type = f"{source} '{spelled}' unknown: any compute type"
        else:
            how_type = "no type tag: any compute type"
        # Azure copies a compute's own tags onto its cost rows; a compute whose every tag is on
        # the row, alone among the candidates, is the one that ran.
        tagged = [c for c in candidates if c["tags_norm"]
                  and all(row_tags.get(k) == v for k, v in c["tags_norm"].items())]
        if len(tagged) == 1:
            c = tagged[0]
            return [self._compute_target(workspace_id, c, AllocationMethod.COMPUTE_TAG,
                                         f"compute {_candidate_name(c)} (its tags are on the row)")], ""
        if canonical == SERVERLESS:
            return [], f"serverless compute ({how_type}): no compute in the inventory"
        sizes, how_size = self._vm_sizes(key)
        if not sizes:
            return [], ""
        match = sorted((c for c in candidates if _size_of(c) in sizes), key=_candidate_name)
        if not match:
            return [], f"no compute of size {'/'.join(sorted(sizes))} ({how_type}; size from {how_size})"
        how = f"{how_type}; size from {how_size}"
        if len(match) == 1:
            c = match[0]
            return [self._compute_target(
                workspace_id, c, AllocationMethod.COMPUTE_MATCH,
                f"compute {_candidate_name(c)} (only {_candidate_type(c)} of size {_size_text(c)}; {how})")], ""
        if all("deployment_name" in c for c in match):
            counts = [Decimal(c.get("instance_count") or 0) for c in match]
            basis = "instance counts"
        elif any("deployment_name" in c for c in match):
            counts, basis = [Decimal(0)] * len(match), ""
        else:
            counts = [self.index.running_hours.get((workspace_id, c["compute_name"].lower()), Decimal(0))
                      for c in match]
            basis = "running hours"
        total = sum(counts, Decimal(0))
        if total <= 0:
            basis = "evenly, no running hours known" if basis != "instance counts" else "evenly"
        weights = [n / total for n in counts] if total > 0 else [Decimal(1) / len(match)] * len(match)
        return [
            self._compute_target(
                workspace_id, c, AllocationMethod.COMPUTE_SPLIT,
                f"compute {_candidate_name(c)} ({weight:.2%} of a split over {len(match)} {_candidate_type(c)} "
                f"of size {_size_text(c)}, by {basis}; {how})", weight)
            for c, weight in zip(match, weights, strict=True)
        ], ""

    # -- resolution --------------------------------------------------------------------------

    def resolve_key(self, key: dict) -> list[dict]:
        """All allocation parts of one attribution key (one part unless a split applies)."""
        resource_id = (key.get("resource_id") or "").lower()
        parts = self._resolve_parts(key, resource_id)
        suffix = self._suffix(key)
        if suffix:
            for part in parts:
                part["allocation_rule"] += suffix
        return parts

    def _suffix(self, key: dict) -> str:
        """What the rule of every part of a key adds: the commitment that covered it, the Cost
        Management allocation rule that moved it, and the tag repairs."""
        notes = []
        if (key.get("commitment_discount_status") or "").strip().lower() == "used":
            what = key.get("commitment_discount_type") or "commitment"
            notes.append(f"covered by {what} '{key.get('commitment_discount_name') or key.get('commitment_discount_id')}'")
        if key.get("cost_allocation_rule_name"):
            notes.append(f"moved by Cost Management allocation rule '{key['cost_allocation_rule_name']}'")
        _, repairs = normalize_tags_with_repairs(key.get("tags"))
        for repair in self._relevant_repairs(repairs):
            notes.append(f"repair: row {repair}, ignored")
        return "".join(f"; {note}" for note in notes)

    def _resolve_parts(self, key: dict, resource_id: str) -> list[dict]:
        commitment = self._commitment_part(key, resource_id)
        if commitment is not None:
            return [commitment]
        if resource_id not in self.index.workspaces and resource_id not in self.index.dependency_owner:
            return [self._resolve_other(key, resource_id)]
        row_tags = normalize_tags(key.get("tags"))
        targets: list[_AmlTarget] = []
        note = ""
        if resource_id in self.index.workspaces:
            workspace_id = resource_id
            aml_kind, aml_name = "workspace", self.index.workspaces[resource_id]["workspace_name"]
            targets, note = self._aml_targets(resource_id, row_tags, key)
        else:
            workspace_id = self.index.dependency_owner[resource_id]
            aml_kind, aml_name = "dependency", resource_id.rsplit("/", 1)[-1]

        row_project = self._first(row_tags, self.tag_keys.project)
        if row_project and len(targets) > 1:
            targets = []  # the row names its project itself; no need to guess which compute ran
        out = []
        for target in targets or [None]:
            levels = self._levels(key, row_tags, workspace_id, target)
            resolved = self._decide(key, resource_id, levels, target)
            if note and target is None:
                resolved["allocation_rule"] += f" ({note})"
            out.append({
                "key_id": key["key_id"],
                "resource_id": resource_id,
                "workspace_id": workspace_id,
                "aml_kind": target.kind if target else aml_kind,
                "aml_name": target.name if target else aml_name,
                **resolved,
                "weight": target.weight if target else Decimal(1),
            })
        return out

    def _commitment_part(self, key: dict, resource_id: str) -> dict | None:
        """Unused commitment hours and commitment purchases: their explicit project, unless the
        row carries its own project tag. No inherited tag applies: nobody used unused hours, and
        a purchase is amortized into the usage it covers."""
        status = (key.get("commitment_discount_status") or "").strip().lower()
        category = (key.get("charge_category") or "").strip().lower()
        commitment = key.get("commitment_discount_name") or key.get("commitment_discount_id")
        what = key.get("commitment_discount_type") or "commitment"
        if status == "unused":
            project, method = self.commitments.unused_project, AllocationMethod.UNUSED_COMMITMENT
            rule = f"unused hours of {what} '{commitment}' (commitment status Unused)"
        elif category == "purchase" and key.get("commitment_discount_id"):
            project, method = self.commitments.purchase_project, AllocationMethod.COMMITMENT_PURCHASE
            rule = f"purchase of {what} '{commitment}': billed only, amortized into the usage it covers"
        else:
            return None
        row_tags = normalize_tags(key.get("tags"))
        hit = self._first(row_tags, self.tag_keys.project)
        if hit:
            project, method = self.normalize_project(hit[1]), AllocationMethod.ROW_TAG
            rule = f"row tag '{hit[0]}' ({rule})"
        return {
            "key_id": key["key_id"], "resource_id": resource_id, "workspace_id": None, "aml_kind": "other",
            "aml_name": None, "project": project, "owner": (self._first(row_tags, self.tag_keys.owner) or (None, None))[1],
            "cost_center": (self._first(row_tags, self.tag_keys.cost_center) or (None, None))[1],
            "allocation_method": method, "allocation_rule": rule, "weight": Decimal(1),
        }

    def _resolve_other(self, key: dict, resource_id: str) -> dict:
        """The single part of a key whose resource is neither a workspace nor one's dependency."""
        combination = (key.get("tags"), (key.get("sub_account_id") or "").lower(),
                       (key.get("resource_group") or "").lower(), resource_id if self._rules_match_ids else None)
        resolved = self._decided_other.get(combination)
        if resolved is None:
            levels = self._levels(key, normalize_tags(key.get("tags")), None, None)
            resolved = self._decided_other[combination] = self._decide(key, resource_id, levels)
        return {"key_id": key["key_id"], "resource_id": resource_id, "workspace_id": None, "aml_kind": "other",
                "aml_name": None, **resolved, "weight": Decimal(1)}

    def _levels(self, key: dict, row_tags: dict[str, str], workspace_id: str | None,
                target: _AmlTarget | None) -> list[_Level]:
        available: dict[str, _Level] = {"row": _Level("row", row_tags, AllocationMethod.ROW_TAG, "row tag")}
        if target:
            available["aml_resource"] = _Level("aml_resource", target.tags, target.method, target.rule)
        if workspace_id:
            available["workspace"] = self._workspace_level(workspace_id)
        for level in self._scope_levels(key.get("sub_account_id"), key.get("resource_group")):
            available[level.name] = level
        return [available[name] for name in self.config.attribution.inheritance if name in available]

    def _decide(self, key: dict, resource_id: str, levels: list[_Level], target: _AmlTarget | None = None) -> dict:
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
        # A resource has one owner (its findings name it too); other rows: the chain's first.
        owner = target.owner if target is not None and target.owner else self._owner_of_chain(levels)
        if owner is None:
            owner = next((lvl.owner_fallback for lvl in levels if lvl.owner_fallback), None)
        cost_center = next(
            (v for lvl in levels if (v := (self._first(lvl.tags, keys.cost_center) or (None, None))[1])), None)
        if project is None:
            matched = self._match_rule(key, resource_id)
            if matched:
                index, config_rule = matched
                project = self.normalize_project(config_rule.project)
                method, rule = AllocationMethod.RULE, f"finops.yaml attribution.rules[{index}]"
                owner = owner or config_rule.owner
                cost_center = cost_center or config_rule.cost_center
        if project is None:
            project, method, rule = UNALLOCATED, AllocationMethod.UNALLOCATED, "no project tag, inherited tag or rule"
        return {"project": project, "owner": owner, "cost_center": cost_center,
                "allocation_method": method, "allocation_rule": rule}

    def resolve_resource(self, resource_id: str, workspace_id: str | None, tags: str | dict | None,
                         owner_fallback: str | None = None, owner: str | None = None) -> dict:
        """Project, owner and cost center of an inventory resource: its tags, then its workspace's,
        resource group's and subscription's, then the rules — the chain its cost rows follow.

        `owner` (the resource's one owner, `resource_owner`) wins over the tag chain."""
        own = [_Level("aml_resource", normalize_tags(tags), "resource_tag", "resource tag", owner_fallback)]
        levels = self._resource_chain(workspace_id, own)
        if workspace_id and workspace_id in self.index.workspaces:
            ws = self.index.workspaces[workspace_id]
            key = {"sub_account_id": ws["subscription_id"], "resource_group": ws["resource_group"]}
        else:
            key = {}
        resolved = self._decide(key, resource_id.lower(), levels)
        if owner:
            resolved["owner"] = owner
        return resolved

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
    workspace dependencies; without it dependencies simply inherit their workspace.
    """
    resolver = Resolver(config, index)
    rows = [part for key in keys.iter_rows(named=True) for part in resolver.resolve_key(key)]
    parts = pl.DataFrame(rows, schema=RESOLUTION_SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=RESOLUTION_SCHEMA)
    if key_amounts is None or parts.height == 0:
        return parts
    return share_dependencies(parts, key_amounts, config, resolver)


def _direct_spend(parts: pl.DataFrame, key_amounts: pl.DataFrame) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(workspace_id, currency) → project → direct effective cost (compute, endpoint, workspace)."""
    direct = parts.filter(pl.col("aml_kind").is_in(DIRECT_KINDS) & pl.col("workspace_id").is_not_null()).join(
        key_amounts, on="key_id")
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for r in direct.iter_rows(named=True):
        per_project = out.setdefault((r["workspace_id"], r["billing_currency"]), {})
        per_project[r["project"]] = per_project.get(r["project"], Decimal(0)) + (r["effective_cost"] or Decimal(0)) * r["weight"]
    return out


def _group_spend(spend: dict[tuple[str, str], dict[str, Decimal]], users: Iterable[str],
                 currencies: list[str]) -> dict[str, Decimal]:
    """Direct spend per project over a group of workspaces, in one currency: the first of
    `currencies` (the dependency's own, largest first) the group spent in, else the group's
    largest currency. Amounts of two currencies are never added."""
    users = list(users)
    volume: dict[str, Decimal] = {}
    for (ws, currency), projects in spend.items():
        if ws in users:
            volume[currency] = volume.get(currency, Decimal(0)) + sum((abs(a) for a in projects.values()), Decimal(0))
    if not volume:
        return {}
    chosen = next((c for c in currencies if c in volume),
                  sorted(volume, key=lambda c: (-volume[c], c))[0])
    out: dict[str, Decimal] = {}
    for ws in users:
        for project, amount in spend.get((ws, chosen), {}).items():
            out[project] = out.get(project, Decimal(0)) + amount
    return dict(sorted(out.items()))


def shared_weights(spend: dict[str, Decimal], config: FinopsConfig,
                   normalize: Callable[[str], str]) -> tuple[dict[str, Decimal], str]:
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
    if not users:
        return {}, "even split"
    return {p: Decimal(1) / len(users) for p in users}, "even split"


def share_dependencies(parts: pl.DataFrame, key_amounts: pl.DataFrame, config: FinopsConfig,
                       resolver: Resolver) -> pl.DataFrame:
    """A workspace dependency's spend that no row tag claims is shared by the projects that used
    the workspaces using it this month — the workspace that lists it, and for a hub's storage,
    key vault, registry and insights the hub and all its projects — by their direct compute,
    endpoint and workspace spend (or the configured policy). A dependency nobody but
    `(unallocated)` used keeps the ordinary chain (its workspace's tags, then the rules)."""
    candidates = parts.filter((pl.col("aml_kind") == "dependency") & (pl.col("allocation_method") != AllocationMethod.ROW_TAG))
    if candidates.height == 0:
        return parts
    spend = _direct_spend(parts, key_amounts)
    index = resolver.index
    names = {ws: info["workspace_name"] for ws, info in index.workspaces.items()}
    key_currencies: dict[int, list[str]] = {}
    for r in key_amounts.sort(["key_id", "billing_currency"]).iter_rows(named=True):
        key_currencies.setdefault(r["key_id"], []).append((abs(r["effective_cost"] or Decimal(0)), r["billing_currency"]))
    shared_rows = []
    replaced: set[int] = set()
    for part in candidates.iter_rows(named=True):
        users = index.dependency_users.get(part["resource_id"], (part["workspace_id"],))
        currencies = [c for _, c in sorted(key_currencies.get(part["key_id"], []), key=lambda a: (-a[0], a[1]))]
        usage = _group_spend(spend, users, currencies)
        if set(usage) - {UNALLOCATED} == set() and config.attribution.shared_costs.policy != "fixed":
            continue
        weights, basis = shared_weights(usage, config, resolver.normalize_project)
        if not weights:
            continue
        explanation = ", ".join(f"{p} {w:.2%}" for p, w in weights.items())
        owner_ws = part["workspace_id"]
        others = [names.get(u, u) for u in users if u != owner_ws]
        whose = f"workspace {names.get(owner_ws, owner_ws)}"
        if others:
            kind = index.workspaces.get(owner_ws, {}).get("workspace_kind")
            whose = (f"{'hub' if kind == 'Hub' else 'workspace'} {names.get(owner_ws, owner_ws)} and "
                     f"{len(others)} workspace{'s' if len(others) > 1 else ''} using it ({', '.join(others)})")
        replaced.add(part["key_id"])
        for project, weight in weights.items():
            shared_rows.append({
                **{k: part[k] for k in RESOLUTION_SCHEMA.names()},
                "project": project,
                "allocation_method": AllocationMethod.SHARED_SPLIT,
                "allocation_rule": f"shared cost of {whose} split by {basis}: {explanation}",
                "weight": weight,
            })
    if not shared_rows:
        return parts
    kept = parts.filter(~pl.col("key_id").is_in(list(replaced)))
    return pl.concat([kept.select(RESOLUTION_SCHEMA.names()), pl.DataFrame(shared_rows, schema=RESOLUTION_SCHEMA,
                                                                            orient="row")])

