"""The resolution rules of attribution (docs/architecture.md, "Attribution") on hand-built inventories and keys."""

import json
from decimal import Decimal

import polars as pl
import pytest

from dagster_project.attribution.resolve import (
    InventoryIndex,
    normalize_tags,
    resolve_attribution_keys,
    vm_sizes_from_meter,
)
from dagster_project.config import parse_config

SUB = "00000000-0000-0000-0000-000000000001"
WS = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.machinelearningservices/workspaces/mlw"
STORAGE = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.storage/storageaccounts/stml"


def _inventory(ws_tags=None, computes=(), endpoints=(), deployments=()):
    workspaces = pl.DataFrame([{
        "workspace_id": WS, "workspace_name": "mlw", "subscription_id": SUB, "resource_group": "rg-ml",
        "storage_account_id": STORAGE, "container_registry_id": None, "key_vault_id": None,
        "application_insights_id": None, "tags": json.dumps(ws_tags or {}),
    }])
    computes_df = pl.DataFrame(list(computes), schema={
        "workspace_id": pl.String, "compute_name": pl.String, "compute_type": pl.String, "vm_size": pl.String,
        "tags": pl.String, "created_by": pl.String})
    endpoints_df = pl.DataFrame(list(endpoints), schema={"workspace_id": pl.String, "endpoint_name": pl.String,
                                                         "tags": pl.String})
    deployments_df = pl.DataFrame(list(deployments), schema={
        "workspace_id": pl.String, "endpoint_name": pl.String, "deployment_name": pl.String, "tags": pl.String})
    return InventoryIndex.build(workspaces, computes_df, endpoints_df, deployments_df)


def _compute(name, ctype, size, tags=None, created_by="someone@contoso.com"):
    return {"workspace_id": WS, "compute_name": name, "compute_type": ctype, "vm_size": size,
            "tags": json.dumps(tags or {}), "created_by": created_by}


def _resolve(index, config=None, **key):
    keys = pl.DataFrame([{"key_id": 1, "resource_id": WS, "sub_account_id": SUB, "resource_group": "rg-ml",
                          "tags": "{}", "meter_vm_size": None, "charge_description": None, **key}])
    return resolve_attribution_keys(keys, config or parse_config({}), index).to_dicts()


def test_tag_key_variants_are_one_key():
    assert normalize_tags('{" Project ": " fraud ", "PROJECT": "other"}') == {"project": "fraud"}
    index = _inventory()
    for key in ("Project", "project", " project", "PROJ", "ProjectName"):
        [part] = _resolve(index, tags=json.dumps({key: " Fraud-Detection "}))
        assert part["project"] == "fraud-detection", key
        assert part["allocation_method"] == "row_tag"


def test_row_tag_wins_over_a_conflicting_resource_tag():
    index = _inventory(ws_tags={"project": "platform"},
                       computes=[_compute("ci-a", "ComputeInstance", "Standard_DS3_v2", {"project": "from-compute"})])
    [part] = _resolve(index, tags=json.dumps({"project": "from-row", "ComputeType": "Compute Instance"}),
                      meter_vm_size="Standard_DS3_v2")
    assert part["project"] == "from-row"
    assert part["allocation_method"] == "row_tag"
    assert part["aml_kind"] == "compute" and part["aml_name"] == "ci-a"


def test_endpoint_tags_decide_for_workspace_billed_endpoint_rows():
    index = _inventory(ws_tags={"project": "platform"},
                       endpoints=[{"workspace_id": WS, "endpoint_name": "scoring", "tags": '{"project": "churn"}'}],
                       deployments=[{"workspace_id": WS, "endpoint_name": "scoring", "deployment_name": "blue",
                                     "tags": '{"owner": "dana@contoso.com"}'}])
    [part] = _resolve(index, tags=json.dumps({"azuremlendpoint": "Scoring", "azuremldeployment": "blue"}))
    assert (part["project"], part["owner"], part["aml_kind"], part["aml_name"]) == (
        "churn", "dana@contoso.com", "endpoint", "Scoring/blue")
    assert part["allocation_method"] == "endpoint_tag"


def test_compute_matched_by_vm_size_and_type_when_row_names_none():
    index = _inventory(ws_tags={"project": "platform"}, computes=[
        _compute("train", "AmlCompute", "Standard_F4s_v2", {"project": "forecasting"}, "gina@contoso.com"),
        _compute("ci-x", "ComputeInstance", "Standard_F4s_v2", {"project": "other"}),
    ])
    [part] = _resolve(index, tags='{"ComputeType": "AmlCompute"}',
                      charge_description="Virtual Machines FSv2 Series - F4s v2")
    assert (part["project"], part["aml_name"], part["allocation_method"]) == ("forecasting", "train", "compute_match")
    assert part["owner"] == "gina@contoso.com"  # the compute's creator when no owner tag
    assert vm_sizes_from_meter("Virtual Machines Dv2/DSv2 Series - D11 v2/DS11 v2") == {
        "standard_d11_v2", "standard_ds11_v2"}


def test_several_matching_computes_split_evenly_and_say_so():
    index = _inventory(ws_tags={"project": "platform"}, computes=[
        _compute("a", "AmlCompute", "Standard_D4s_v3", {"project": "p1"}),
        _compute("b", "AmlCompute", "Standard_D4s_v3", {"project": "p2"}),
        _compute("c", "AmlCompute", "Standard_D4s_v3", {"project": "p3"}),
    ])
    parts = _resolve(index, tags='{"ComputeType": "AmlCompute"}', meter_vm_size="Standard_D4s_v3")
    assert sorted(p["project"] for p in parts) == ["p1", "p2", "p3"]
    assert {p["allocation_method"] for p in parts} == {"compute_split"}
    assert sum((p["weight"] for p in parts), Decimal(0)) == pytest.approx(Decimal(1), abs=Decimal("1e-17"))


def test_compute_identified_by_its_own_tags_on_the_row():
    index = _inventory(ws_tags={"project": "platform"}, computes=[
        _compute("ci-carol", "ComputeInstance", "Standard_DS3_v2", {"owner": "carol@contoso.com", "team": "x"}),
        _compute("ci-dan", "ComputeInstance", "Standard_DS3_v2", {"owner": "dan@contoso.com"}),
    ])
    [part] = _resolve(index, tags=json.dumps({"ComputeType": "Compute Instance", "owner": "carol@contoso.com",
                                              "team": "x"}), charge_description="Premium SSD Managed Disks - P10 LRS")
    assert (part["aml_name"], part["allocation_method"], part["project"]) == ("ci-carol", "workspace_tag", "platform")


def test_workspace_dependencies_inherit_the_workspace():
    index = _inventory(ws_tags={" Project": "Vision ", "cost-center": "CC-1"})
    [part] = _resolve(index, resource_id=STORAGE)
    assert (part["project"], part["cost_center"], part["aml_kind"], part["workspace_id"]) == (
        "vision", "CC-1", "dependency", WS)
    assert part["allocation_method"] == "workspace_tag"


def test_rules_then_unallocated():
    index = _inventory()
    config = parse_config({"attribution": {"rules": [{"resource_group": "RG-SAND*", "project": "sandbox"}]}})
    [ruled] = _resolve(index, config, resource_id="/subscriptions/x/resourcegroups/rg-sandbox/vm1",
                       resource_group="rg-sandbox")
    assert (ruled["project"], ruled["allocation_method"]) == ("sandbox", "rule")
    [nothing] = _resolve(index, resource_id="/subscriptions/x/resourcegroups/rg-other/vm1", resource_group="rg-other")
    assert (nothing["project"], nothing["allocation_method"], nothing["aml_kind"]) == (
        "(unallocated)", "unallocated", "other")


def test_project_aliases_apply_after_normalization():
    config = parse_config({"tags": {"project_aliases": {"FraudDetection": "fraud-detection"}}})
    [part] = _resolve(_inventory(), config, tags='{"project": " frauddetection"}')
    assert part["project"] == "fraud-detection"
