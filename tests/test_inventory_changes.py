"""Drift between two captures (`inventory.changes`), on hand-built inventory frames.

Nothing here comes from the demo generator: the frames are written out below, and hypothesis
varies what must not matter (row order, tag-key spellings, key order of JSON fields) and what must
be reported exactly (missing fields).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.inventory.changes import inventory_changes
from dagster_project.inventory.tables import TABLE_SCHEMAS

BEFORE = datetime(2026, 11, 1, 6, tzinfo=UTC)
AFTER = datetime(2026, 11, 8, 6, tzinfo=UTC)
WS = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/ws-a"
WS_B = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/ws-b"


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[f"inventory_{table}"]
    return pl.DataFrame([{name: row.get(name) for name in schema.names()} for row in rows], schema=schema,
                        orient="row")


def compute(name: str, ws: str = WS, **fields) -> dict:
    cid = f"{ws}/computes/{name}"
    return {"compute_id": cid, "compute_id_original": cid, "workspace_id": ws, "compute_name": name,
            "compute_type": "AmlCompute", "vm_size": "Standard_DS3_v2", "min_nodes": 0, "max_nodes": 4,
            "idle_seconds_before_scaledown": 120, "state": "Steady", "tags": json.dumps({"project": "p"}), **fields}


def endpoint(name: str, **fields) -> dict:
    eid = f"{WS}/onlineendpoints/{name}"
    return {"endpoint_id": eid, "endpoint_id_original": eid, "workspace_id": WS, "endpoint_name": name,
            "auth_mode": "Key", "traffic": json.dumps({"blue": 100}), "tags": "{}", **fields}


def deployment(endpoint_name: str, name: str, **fields) -> dict:
    did = f"{WS}/onlineendpoints/{endpoint_name}/deployments/{name}"
    return {"deployment_id": did, "deployment_id_original": did, "endpoint_id": f"{WS}/onlineendpoints/{endpoint_name}",
            "workspace_id": WS, "endpoint_name": endpoint_name, "deployment_name": name,
            "instance_type": "Standard_DS3_v2", "instance_count": 1, "traffic_pct": 100, "tags": "{}", **fields}


def version(name: str, number: str, **fields) -> dict:
    aid = f"{WS}/models/{name}/versions/{number}"
    return {"asset_id": aid, "asset_id_original": aid, "workspace_id": WS, "kind": "model", "name": name,
            "version": number, "is_archived": False, "tags": "{}", **fields}


WORKSPACES = [{"workspace_id": WS, "workspace_id_original": WS, "workspace_name": "ws-a", "tags": "{}"},
              {"workspace_id": WS_B, "workspace_id_original": WS_B, "workspace_name": "ws-b", "tags": "{}"}]


def base() -> dict[str, list[dict]]:
    return {
        "workspaces": [dict(w) for w in WORKSPACES],
        "computes": [compute("cpu"), compute("gpu", vm_size="Standard_NC6s_v3", min_nodes=1,
                                              tags=json.dumps({"project": "p", "owner": "ann@x"})),
                     compute("ci-bob", compute_type="ComputeInstance", idle_shutdown=None,
                             stop_schedule_enabled=False, state="Running"),
                     compute("other", ws=WS_B)],
        "endpoints": [endpoint("score")],
        "deployments": [deployment("score", "blue"), deployment("score", "green", traffic_pct=0)],
        "asset_versions": [version("m", "1"), version("m", "2")],
    }


def planted() -> tuple[dict[str, list[dict]], set[tuple]]:
    """The `after` rows and exactly the changes planted in them."""
    after = base()
    after["computes"] = [
        compute("cpu", vm_size="Standard_DS4_v2", state="Resizing"),  # size changed; state is not drift
        compute("gpu", vm_size="Standard_NC6s_v3", min_nodes=0, max_nodes=2,
                tags=json.dumps({"project": "p", "owner": "bob@x", "cost-center": "cc1"})),
        compute("ci-bob", compute_type="ComputeInstance", idle_shutdown="PT60M", idle_shutdown_minutes=60,
                stop_schedule_enabled=True, state="Stopped"),
        compute("new-cluster"),
        compute("other", ws=WS_B),
    ]
    after["endpoints"] = [endpoint("score", traffic=json.dumps({"blue": 90, "green": 10}))]
    after["deployments"] = [deployment("score", "blue", traffic_pct=90),
                            deployment("score", "green", traffic_pct=10, instance_count=2)]
    after["asset_versions"] = [version("m", "2", is_archived=True), version("m", "3")]
    c, e, d, a = (f"{WS}/computes/", f"{WS}/onlineendpoints/", f"{WS}/onlineendpoints/score/deployments/",
                  f"{WS}/models/m/versions/")
    expected = {
        ("compute", c + "cpu", "changed", "vm_size", "Standard_DS3_v2", "Standard_DS4_v2"),
        ("compute", c + "gpu", "changed", "min_nodes", "1", "0"),
        ("compute", c + "gpu", "changed", "max_nodes", "4", "2"),
        ("compute", c + "gpu", "changed", "tags.owner", "ann@x", "bob@x"),
        ("compute", c + "gpu", "changed", "tags.cost-center", None, "cc1"),
        ("compute", c + "gpu", "changed", "owner", "ann@x", "bob@x"),
        ("compute", c + "ci-bob", "changed", "idle_shutdown", None, "PT60M"),
        ("compute", c + "ci-bob", "changed", "idle_shutdown_minutes", None, "60"),
        ("compute", c + "ci-bob", "changed", "stop_schedule_enabled", "false", "true"),
        ("compute", c + "new-cluster", "added", None, None, None),
        ("endpoint", e + "score", "changed", "traffic", '{"blue": 100}', '{"blue": 90, "green": 10}'),
        ("deployment", d + "green", "changed", "instance_count", "1", "2"),
        ("asset_version", a + "1", "removed", None, None, None),
        ("asset_version", a + "2", "changed", "is_archived", "false", "true"),
        ("asset_version", a + "3", "added", None, None, None),
    }
    return after, expected


def as_frames(rows: dict[str, list[dict]]) -> dict[str, pl.DataFrame]:
    return {table: frame(table, items) for table, items in rows.items()}


def found(changes) -> set[tuple]:
    return {(r["resource_kind"], r["resource_id"], r["change"], r["field"], r["before"], r["after"])
            for r in changes.frame.iter_rows(named=True)}


def test_exactly_the_planted_changes_with_before_and_after():
    after, expected = planted()
    changes = inventory_changes(as_frames(base()), as_frames(after), BEFORE, AFTER)
    assert found(changes) == expected
    assert changes.frame.height == len(expected)  # nothing listed twice
    assert set(changes.frame["workspace"]) == {"ws-a"}
    assert changes.frame["captured_before"].to_list() == [BEFORE] * len(expected)


def test_the_same_capture_twice_has_no_changes():
    assert inventory_changes(as_frames(base()), as_frames(base()), BEFORE, AFTER).frame.height == 0


def test_a_failed_workspace_is_not_reported_as_removed():
    after = base()
    after["computes"] = [c for c in after["computes"] if c["workspace_id"] != WS_B]
    assert found(inventory_changes(as_frames(base()), as_frames(after), BEFORE, AFTER)) == {
        ("compute", f"{WS_B}/computes/other", "removed", None, None, None)}
    changes = inventory_changes(as_frames(base()), as_frames(after), BEFORE, AFTER, failed_workspaces={WS_B})
    assert changes.frame.height == 0
    assert WS_B in changes.skipped_workspaces


def test_a_column_an_older_capture_lacks_is_not_compared():
    after, expected = planted()
    old = as_frames(base())
    old["computes"] = old["computes"].drop("idle_shutdown_minutes")
    assert found(inventory_changes(old, as_frames(after), BEFORE, AFTER)) == {
        e for e in expected if e[3] != "idle_shutdown_minutes"}


def _respell(tags_text: str, rng: random.Random) -> str:
    tags = json.loads(tags_text or "{}")
    spelled = {}
    for key, value in tags.items():
        variant = rng.choice([key, key.upper(), key.title(), f" {key}", f"{key} "])
        spelled[variant] = value
    items = list(spelled.items())
    rng.shuffle(items)
    return json.dumps(dict(items))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), drop=st.sampled_from([None, "vm_size", "instance_type", "tags"]))
def test_order_spelling_and_missing_fields(seed, drop):
    """Row order, tag-key spelling and JSON key order change nothing; a field missing from one
    capture's body (null) is reported as exactly that change."""
    rng = random.Random(seed)
    before, after = base(), planted()[0]
    _, expected = planted()
    for rows in (before, after):
        for table, items in rows.items():
            rng.shuffle(items)
            for item in items:
                if "tags" in item and table != "workspaces":
                    item["tags"] = _respell(item["tags"], rng)
                if item.get("traffic"):
                    pairs = list(json.loads(item["traffic"]).items())
                    rng.shuffle(pairs)
                    item["traffic"] = json.dumps(dict(pairs))
    if drop is not None:
        # The later capture's response for `cpu` / `blue` / `gpu` lost the field.
        target = {"vm_size": ("computes", "cpu"), "instance_type": ("deployments", "score/blue"),
                  "tags": ("computes", "gpu")}[drop]
        table, name = target
        for item in after[table]:
            label = item.get("compute_name") or f"{item.get('endpoint_name')}/{item.get('deployment_name')}"
            if label == name:
                item[drop] = None
        rid = {"vm_size": f"{WS}/computes/cpu", "instance_type": f"{WS}/onlineendpoints/score/deployments/blue",
               "tags": f"{WS}/computes/gpu"}[drop]
        if drop == "tags":
            expected = {e for e in expected if not (e[1] == rid and (e[3] or "").startswith(("tags.", "owner")))}
            expected |= {("compute", rid, "changed", "tags.project", "p", None),
                         ("compute", rid, "changed", "tags.owner", "ann@x", None),
                         ("compute", rid, "changed", "owner", "ann@x", None)}
        else:
            before_value = "Standard_DS3_v2"
            expected = {e for e in expected if not (e[1] == rid and e[3] == drop)}
            kind = "compute" if drop == "vm_size" else "deployment"
            expected.add((kind, rid, "changed", drop, before_value, None))
    changes = inventory_changes(as_frames(before), as_frames(after), BEFORE, AFTER)
    assert found(changes) == expected
    assert changes.frame.height == len(expected)
