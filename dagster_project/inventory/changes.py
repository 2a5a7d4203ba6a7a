"""Drift between two inventory captures: what was added, removed or changed, with before and after.

`inventory_changes(before, after)` compares the inventory tables of two captures (the frames of
`dagster_project.inventory.tables`) resource by resource, keyed by the lowercased ARM id:

* **computes**: VM size and priority, compute type, node counts (min/max), scale-down idle time,
  idle shutdown, stop schedule, assigned user, tags, owner;
* **endpoints**: auth mode, traffic and mirror traffic, tags, owner;
* **deployments**: instance type and count, scale type, model, environment, provisioning state,
  tags, owner (a deployment's traffic share is the endpoint's `traffic`, listed once there);
* **asset versions**: archived or not, tags, owner.

Operational state (running/stopped, last operation, current nodes) is not drift and is never
listed. Tags compare by normalized key (`Owner` and ` owner` are one key), one row per tag key
(`tags.<key>`); `owner` is the value of the first owner tag key of `finops.yaml`. A column an
older capture does not have is not compared. Resources of a workspace that failed to list in
either capture are not reported as added or removed (their absence says nothing); the failure is
returned beside the changes instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from dagster_project.attribution.resolve import normalize_tags

UTC_TIME = pl.Datetime("us", "UTC")

CHANGES_SCHEMA = pl.Schema({
    "captured_before": UTC_TIME,
    "captured_after": UTC_TIME,
    "resource_kind": pl.Utf8,  # compute | endpoint | deployment | asset_version
    "workspace": pl.Utf8,
    "resource_id": pl.Utf8,
    "resource_name": pl.Utf8,
    "change": pl.Utf8,  # added | removed | changed
    "field": pl.Utf8,  # null for added / removed
    "before": pl.Utf8,
    "after": pl.Utf8,
})


@dataclass(frozen=True)
class KindSpec:
    table: str
    key: str
    name: tuple[str, ...]
    fields: tuple[str, ...]


KINDS: dict[str, KindSpec] = {
    "compute": KindSpec("computes", "compute_id", ("compute_name",), (
        "compute_type", "vm_size", "vm_priority", "min_nodes", "max_nodes", "idle_seconds_before_scaledown",
        "idle_shutdown", "idle_shutdown_minutes", "stop_schedule_enabled", "assigned_user_object_id")),
    "endpoint": KindSpec("endpoints", "endpoint_id", ("endpoint_name",), ("auth_mode", "traffic", "mirror_traffic")),
    "deployment": KindSpec("deployments", "deployment_id", ("endpoint_name", "deployment_name"), (
        "instance_type", "instance_count", "scale_type", "model", "environment", "provisioning_state")),
    "asset_version": KindSpec("asset_versions", "asset_id", ("kind", "name", "version"), ("is_archived",)),
}

# JSON-valued fields compare as parsed values, so key order or spacing is not a change.
JSON_FIELDS = frozenset({"traffic", "mirror_traffic"})


@dataclass
class Changes:
    """The change rows (`CHANGES_SCHEMA`) and the workspaces whose resources were not compared."""

    frame: pl.DataFrame
    skipped_workspaces: dict[str, str] = field(default_factory=dict)  # workspace id → why


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _canonical(field_name: str, value: object) -> object:
    if field_name in JSON_FIELDS and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return None if parsed in ({}, [], None) else json.dumps(parsed, sort_keys=True)
    return value


def _owner(tags: dict[str, str], owner_keys: list[str]) -> str | None:
    for key in owner_keys:
        if tags.get(key):
            return tags[key]
    return None


def _rows_by_id(frame: pl.DataFrame | None, spec: KindSpec) -> dict[str, dict]:
    if frame is None or frame.height == 0 or spec.key not in frame.columns:
        return {}
    return {row[spec.key].lower(): row for row in frame.iter_rows(named=True) if row[spec.key]}


def _workspace_of(resource_id: str) -> str:
    lower = resource_id.lower()
    marker = "/workspaces/"
    if marker not in lower:
        return ""
    head, _, rest = lower.partition(marker)
    return f"{head}{marker}{rest.split('/', 1)[0]}"


def inventory_changes(before: dict[str, pl.DataFrame], after: dict[str, pl.DataFrame],
                      captured_before: datetime, captured_after: datetime,
                      owner_keys: list[str] | None = None,
                      failed_workspaces: set[str] | frozenset[str] = frozenset()) -> Changes:
    """The drift from `before` to `after` (frames keyed `computes`, `endpoints`, `deployments`,
    `asset_versions`, `workspaces`, as in `Inventory.tables()` without the `inventory_` prefix).

    `failed_workspaces` are lowercased workspace ARM ids that failed to list in either capture;
    `owner_keys` are the owner tag keys of `finops.yaml` (default `owner`)."""
    owner_keys = [k.strip().lower() for k in (owner_keys or ["owner"])]
    names: dict[str, str] = {}
    for frames in (before, after):
        ws = frames.get("workspaces")
        if ws is not None and ws.height:
            names.update({r["workspace_id"].lower(): r["workspace_name"] for r in ws.iter_rows(named=True)})
    rows: list[dict] = []
    skipped: dict[str, str] = {}
    for kind, spec in KINDS.items():
        old_frame, new_frame = before.get(spec.table), after.get(spec.table)
        old, new = _rows_by_id(old_frame, spec), _rows_by_id(new_frame, spec)
        shared_columns = set(old_frame.columns if old_frame is not None else ()) & set(
            new_frame.columns if new_frame is not None else ())
        for rid in sorted(old.keys() | new.keys()):
            workspace_id = _workspace_of(rid)
            a, b = old.get(rid), new.get(rid)
            row = b or a
            base = {"captured_before": captured_before, "captured_after": captured_after, "resource_kind": kind,
                    "workspace": names.get(workspace_id, workspace_id.rsplit("/", 1)[-1] or None),
                    "resource_id": rid,
                    "resource_name": "/".join(str(row.get(part) or "") for part in spec.name)
                    if kind != "asset_version" else f"{row['kind']}:{row['name']}:{row['version']}"}
            if a is None or b is None:
                if any(rid.startswith(scope) for scope in failed_workspaces):
                    skipped[workspace_id] = "failed to list in one of the captures"
                    continue
                rows.append({**base, "change": "added" if a is None else "removed", "field": None,
                             "before": None, "after": None})
                continue
            for name in spec.fields:
                if name not in shared_columns:
                    continue
                x, y = _canonical(name, a.get(name)), _canonical(name, b.get(name))
                if x != y:
                    rows.append({**base, "change": "changed", "field": name, "before": _text(x), "after": _text(y)})
            if "tags" in shared_columns:
                tags_a, tags_b = normalize_tags(a.get("tags")), normalize_tags(b.get("tags"))
                for key in sorted(tags_a.keys() | tags_b.keys()):
                    if tags_a.get(key) != tags_b.get(key):
                        rows.append({**base, "change": "changed", "field": f"tags.{key}",
                                     "before": tags_a.get(key), "after": tags_b.get(key)})
                owner_a, owner_b = _owner(tags_a, owner_keys), _owner(tags_b, owner_keys)
                if owner_a != owner_b:
                    rows.append({**base, "change": "changed", "field": "owner", "before": owner_a, "after": owner_b})
    frame = pl.DataFrame(rows, schema=CHANGES_SCHEMA, orient="row") if rows else pl.DataFrame(schema=CHANGES_SCHEMA)
    frame = frame.sort(["resource_kind", "workspace", "resource_id", "change", "field"], nulls_last=False)
    return Changes(frame, skipped)


def failed_workspace_ids(failures) -> set[str]:
    """Lowercased scopes that failed to list: a workspace ARM id, a subscription scope
    (`/subscriptions/<id>`), or "" (a failure naming neither could hide anything)."""
    out = set()
    for failure in failures:
        scope = str(failure.scope).strip().lower()
        if "/workspaces/" in scope:
            out.add(_workspace_of(scope))
        elif scope.startswith("/subscriptions/"):
            out.add("/".join(scope.split("/")[:3]))
        else:
            out.add("")
    return out


def changes_between(snapshot_before, snapshot_after, owner_keys: list[str] | None = None):
    """Replay two snapshot folders through azure-ai-ml and compare them.

    Returns `(Changes, failures)`: `failures` are the `ListingFailure`s of both captures (their
    workspaces are not reported as added or removed)."""
    from dagster_project.inventory.tables import load_inventory

    first, second = load_inventory(snapshot_before), load_inventory(snapshot_after)
    failures = [*first.failures, *second.failures]
    changes = inventory_changes(_frames(first), _frames(second), first.captured_at, second.captured_at,
                                owner_keys, _hiding(failures))
    return changes, failures


def _frames(inventory) -> dict[str, pl.DataFrame]:
    return {name.removeprefix("inventory_"): frame for name, frame in inventory.tables().items()}


MONTH_CHANGES_SCHEMA = pl.Schema({"billing_month": pl.Date, **CHANGES_SCHEMA})


def month_changes(store, month, owner_keys: list[str] | None = None) -> tuple[pl.DataFrame, dict[str, str]]:
    """The drift a month's review shows: every consecutive pair of captures from the capture that
    judged the previous month to the one that judges `month` (`inventory.history.select_capture`),
    as `inventory_changes` rows; and the workspaces not compared (failed to list), id → why.

    No rows when both months are judged against the same capture, or the store has one capture."""
    from datetime import date as _date

    from dagster_project.inventory.history import list_captures, replay_capture, select_capture

    if store is None:  # no folder of captures: nothing to compare
        return pl.DataFrame(schema=MONTH_CHANGES_SCHEMA), {}
    captures = list_captures(store)
    current = select_capture(captures, month)
    previous_month = _date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    base = select_capture(captures, previous_month).capture
    chain = [c for c in captures if base.captured_at <= c.captured_at <= current.captured_at]
    frames, skipped = [], {}
    for before, after in zip(chain, chain[1:], strict=False):
        first, second = replay_capture(before), replay_capture(after)
        failures = [*first.failures, *second.failures]
        changes = inventory_changes(_frames(first), _frames(second), before.captured_at, after.captured_at,
                                    owner_keys, _hiding(failures))
        frames.append(changes.frame)
        skipped.update(changes.skipped_workspaces)
    if not frames:
        return pl.DataFrame(schema=MONTH_CHANGES_SCHEMA), skipped
    frame = pl.concat(frames).with_columns(pl.lit(month).alias("billing_month"))
    return frame.select(list(MONTH_CHANGES_SCHEMA.names())), skipped


def _hiding(failures) -> set[str]:
    """Workspace ids whose listing failed in a way that can hide resources."""
    return failed_workspace_ids([f for f in failures if not str(f.call).startswith(("resource_groups.",
                                                                                     "subscriptions."))])
