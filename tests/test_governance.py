"""Governance findings against an approved design in `finops.yaml`, on hand-built inventory frames."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_inventory_changes import (
    WORKSPACES,
    WS,
    WS_B,
    compute,
    deployment,
    endpoint,
    frame,
    version,
)

from dagster_project.attribution.resolve import InventoryIndex, Resolver
from dagster_project.config import ConfigError, parse_config
from dagster_project.findings.governance import governance_findings
from dagster_project.findings.rules import FindingInputs

CAPTURED = datetime(2026, 11, 1, 6, tzinfo=UTC)

DESIGN = {
    "required_tags": {"compute": ["project", "Owner"], "endpoint": ["project"]},
    "allowed_vm_sizes": {"ws-a": ["standard_ds3_v2"], "*": ["Standard_DS3_v2", "Standard_NC6s_v3"]},
    "max_min_nodes": 0,
    "idle_shutdown_required": True,
    "public_network_access": "disabled",
}


def inputs(computes, workspaces=None, endpoints=None) -> FindingInputs:
    tables = {
        "workspaces": frame("workspaces", workspaces or WORKSPACES),
        "computes": frame("computes", computes),
        "endpoints": frame("endpoints", endpoints or []),
        "deployments": frame("deployments", [deployment("score", "blue")]),
        "asset_versions": frame("asset_versions", [version("m", "1")]),
        "jobs": frame("jobs", []),
    }
    return FindingInputs(billing_month=date(2026, 10, 1), captured_at=CAPTURED, currency="USD",
                         resource_usage=pl.DataFrame(), allocation=pl.DataFrame(), **tables)


def run(design: dict, data: FindingInputs) -> set[tuple[str, str, str]]:
    config = parse_config({"governance": design})
    index = InventoryIndex.build(data.workspaces, data.computes, data.endpoints, data.deployments)
    result = governance_findings(config, Resolver(config, index), data)
    assert (result["category"] == "governance").all() and (result["status"] == "open").all()
    return {(r["rule_id"], r["resource_name"], json.loads(r["evidence"])["rule"]) for r in result.iter_rows(named=True)}


def estate():
    return [
        compute("ok", tags=json.dumps({"project": "p", "owner": "ann"})),
        compute("big", vm_size="Standard_NC24", tags=json.dumps({"project": "p", "owner": "ann"})),
        compute("warm", min_nodes=2, tags=json.dumps({"PROJECT": "p", " Owner ": "ann"})),
        compute("untagged", tags="{}"),
        compute("ci", compute_type="ComputeInstance", idle_shutdown=None, stop_schedule_enabled=False,
                tags=json.dumps({"project": "p", "owner": "bob"})),
        compute("ci-stops", compute_type="ComputeInstance", idle_shutdown=None, stop_schedule_enabled=True,
                tags=json.dumps({"project": "p", "owner": "bob"})),
        compute("gpu-b", ws=WS_B, vm_size="Standard_NC6s_v3", tags=json.dumps({"project": "p", "owner": "c"})),
        compute("huge-b", ws=WS_B, vm_size="Standard_ND96", tags=json.dumps({"project": "p", "owner": "c"})),
    ]


def test_each_rule_names_itself_and_its_evidence():
    workspaces = [{**WORKSPACES[0], "public_network_access": "Disabled"},
                  {**WORKSPACES[1], "public_network_access": "Enabled"}]
    endpoints = [endpoint("score", public_network_access="Enabled", tags=json.dumps({"project": "p"})),
                 endpoint("private", public_network_access="Disabled")]
    found = run(DESIGN, inputs(estate(), workspaces, endpoints))
    assert found == {
        ("governance_vm_size", "big", "governance.allowed_vm_sizes.ws-a"),
        ("governance_vm_size", "huge-b", "governance.allowed_vm_sizes.*"),
        ("governance_min_nodes", "warm", "governance.max_min_nodes"),
        ("governance_required_tags", "untagged", "governance.required_tags.compute"),
        ("governance_required_tags", "private", "governance.required_tags.endpoint"),
        ("governance_idle_shutdown", "ci", "governance.idle_shutdown_required"),
        ("governance_public_network", "ws-b", "governance.public_network_access"),
        ("governance_public_network", "score", "governance.public_network_access"),
    }


def test_no_design_no_governance_findings():
    assert run({}, inputs(estate())) == set()


def test_an_unknown_public_access_value_is_a_breach_not_a_pass():
    workspaces = [{**WORKSPACES[0], "public_network_access": None}]
    found = run({"public_network_access": "disabled"}, inputs([], workspaces))
    assert found == {("governance_public_network", "ws-a", "governance.public_network_access")}


@settings(max_examples=30, deadline=None, derandomize=True)
@given(spelling=st.sampled_from(["owner", "Owner", "OWNER", " owner", "owner "]),
       order=st.permutations(range(8)))
def test_tag_key_spellings_and_order_do_not_matter(spelling, order):
    computes = estate()
    computes = [computes[i] for i in order]
    for c in computes:
        tags = json.loads(c["tags"])
        if "owner" in tags:
            tags[spelling] = tags.pop("owner")
        c["tags"] = json.dumps(tags)
    found = run({"required_tags": {"compute": ["owner"]}}, inputs(computes))
    assert found == {("governance_required_tags", "untagged", "governance.required_tags.compute")}


@pytest.mark.parametrize(("design", "message"), [
    ({"required_tags": {"computes": ["project"]}}, "governance.required_tags.computes.[key]: Input should be "
                                                   "'workspace', 'compute'"),
    ({"required_tags": {"compute": []}}, "governance.required_tags: compute: must be a non-empty list"),
    ({"allowed_vm_sizes": {"ws-a": []}}, "governance.allowed_vm_sizes: ws-a: must be a non-empty list of VM sizes"),
    ({"max_min_nodes": -1}, "governance.max_min_nodes: Input should be greater than or equal to 0"),
    ({"public_network_access": "sometimes"}, "governance.public_network_access: Input should be 'allowed' or "
                                             "'disabled'"),
    ({"idle_shutdown": True}, "governance.idle_shutdown: unknown key"),
])
def test_a_bad_design_fails_naming_the_key(design, message):
    with pytest.raises(ConfigError) as error:
        parse_config({"governance": design}, "finops.yaml")
    assert str(error.value).startswith(f"finops.yaml: {message}")


def test_governance_ids_are_stable_per_resource():
    data = inputs(estate())
    config = parse_config({"governance": DESIGN})
    index = InventoryIndex.build(data.workspaces, data.computes, data.endpoints, data.deployments)
    first = governance_findings(config, Resolver(config, index), data)["finding_id"].to_list()
    second = governance_findings(config, Resolver(config, index), data)["finding_id"].to_list()
    assert first == second and len(set(first)) == len(first)
    assert WS in data.computes["workspace_id"].to_list()
