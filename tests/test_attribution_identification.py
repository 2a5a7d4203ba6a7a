"""Which compute ran: every type-tag spelling, every place a VM size can hide, never a region.

Hand-built keys for the resolver, hand-written export files of each schema family through the
real ingestion, the real FOCUS and EA samples, and generated variants (hypothesis).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from cost_support import EXTERNAL
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.attribution.allocate import inventory_index, stage_month_allocation
from dagster_project.attribution.compute import (
    _REGION_WORDS,
    COMPUTE_TYPE_SPELLINGS,
    COMPUTE_TYPES,
    canonical_compute_type,
    is_region,
    is_vm_size,
    vm_sizes_from_meter,
    vm_sizes_from_meter_part,
)
from dagster_project.attribution.resolve import InventoryIndex, resolve_attribution_keys
from dagster_project.config import ConfigError, parse_config
from dagster_project.inventory.tables import TABLE_SCHEMAS
from dagster_project.warehouse import Warehouse

FOCUS_SAMPLE = EXTERNAL / "FOCUS-Sample-Data" / "FOCUS-1.0" / "focus_sample.csv"
EA_SAMPLE = EXTERNAL / "finops-toolkit" / "src" / "powershell" / "Tests" / "Unit" / "assets" / "EA_AmortizedCost_Small.csv"
NO_SAMPLES = f"external samples not present under {EXTERNAL}: clone the repository's shared fixtures beside it " \
             "(../shared/fixtures/external, see its PROVENANCE.md)"

SUB = "00000000-0000-0000-0000-0000000000cc"
WS = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.machinelearningservices/workspaces/mlw"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
MONTH = date(2026, 10, 1)


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    return pl.DataFrame([{n: r.get(n) for n in schema.names()} for r in rows], schema=schema, orient="row")


def _workspace(ws=WS, name="mlw", tags=None):
    return {"workspace_id": ws, "workspace_id_original": ws, "subscription_id": SUB, "resource_group": "rg-ml",
            "workspace_name": name, "tags": json.dumps(tags or {"project": "platform"}), "captured_at": NOW,
            "workspace_kind": "Default"}


def _compute(name, ctype, size, tags=None, ws=WS):
    cid = f"{ws}/computes/{name}"
    return {"compute_id": cid, "compute_id_original": cid, "workspace_id": ws, "compute_name": name,
            "compute_type": ctype, "vm_size": size, "tags": json.dumps(tags or {}), "created_by": f"{name}@contoso.com",
            "captured_at": NOW}


def _deployment(endpoint, name, size, count=1, ws=WS):
    eid = f"{ws}/onlineendpoints/{endpoint}"
    return {"deployment_id": f"{eid}/deployments/{name}", "deployment_id_original": f"{eid}/deployments/{name}",
            "endpoint_id": eid, "workspace_id": ws, "endpoint_name": endpoint, "deployment_name": name,
            "instance_type": size, "instance_count": count, "tags": "{}", "captured_at": NOW}


def _index(computes=(), deployments=(), workspaces=None) -> InventoryIndex:
    endpoints = [{"endpoint_id": d["endpoint_id"], "endpoint_id_original": d["endpoint_id"],
                  "workspace_id": d["workspace_id"], "endpoint_name": d["endpoint_name"], "tags": "{}",
                  "captured_at": NOW} for d in deployments]
    return InventoryIndex.build(_frame("inventory_workspaces", workspaces or [_workspace()]),
                                _frame("inventory_computes", list(computes)),
                                _frame("inventory_endpoints", endpoints),
                                _frame("inventory_deployments", list(deployments)))


def _key(**fields) -> dict:
    base = {"key_id": 1, "resource_id": WS, "sub_account_id": SUB, "resource_group": "rg-ml", "tags": "{}",
            "meter_vm_size": None, "details_size_key": None, "aml_resource_type": None, "charge_description": None,
            "sku_meter": None, "after_stop": False, "charge_category": "Usage", "commitment_discount_id": None,
            "commitment_discount_name": None, "commitment_discount_type": None, "commitment_discount_status": None,
            "cost_allocation_rule_name": None}
    return {**base, **fields}


def _resolve(index, config=None, **fields) -> list[dict]:
    keys = pl.DataFrame([_key(**fields)])
    return resolve_attribution_keys(keys, config or parse_config({}), index).to_dicts()


# Four resources of one size, one of each type that has inventory resources.
SAME_SIZE = [_compute("ci-a", "ComputeInstance", "Standard_DS3_v2"), _compute("train", "AmlCompute", "Standard_DS3_v2"),
             _compute("aks", "Kubernetes", "Standard_DS3_v2")]
SAME_SIZE_DEPLOYMENT = [_deployment("scoring", "blue", "Standard_DS3_v2")]
EXPECTED_TARGET = {"ComputeInstance": ("compute", "ci-a"), "AmlCompute": ("compute", "train"),
                   "Kubernetes": ("compute", "aks"), "OnlineEndpoint": ("endpoint", "scoring/blue")}


@pytest.mark.parametrize("canonical,spelling", [(c, s) for c, spellings in COMPUTE_TYPE_SPELLINGS.items()
                                                for s in spellings])
def test_every_type_tag_spelling_names_its_compute_type(canonical, spelling):
    index = _index(SAME_SIZE, SAME_SIZE_DEPLOYMENT)
    for variant in (spelling, spelling.upper(), f"  {spelling.lower()} ", spelling.replace(" ", "_")):
        assert canonical_compute_type(variant) == canonical, variant
        parts = _resolve(index, tags=json.dumps({"ComputeType": variant}), meter_vm_size="Standard_DS3_v2",
                         details_size_key="ServiceType")
        if canonical == "Serverless":  # no inventory resource: stays on the workspace, saying why
            [part] = parts
            assert (part["aml_kind"], part["allocation_method"]) == ("workspace", "workspace_tag")
            assert "serverless compute" in part["allocation_rule"]
            continue
        [part] = parts
        assert (part["aml_kind"], part["aml_name"]) == EXPECTED_TARGET[canonical], variant
        assert f"'{variant.strip()}' = {canonical}" in part["allocation_rule"]  # tag values are trimmed


def test_an_unknown_type_tag_matches_by_size_across_every_compute_type():
    index = _index(SAME_SIZE, SAME_SIZE_DEPLOYMENT)
    parts = _resolve(index, tags='{"ComputeType": "Quantum Annealer"}', meter_vm_size="Standard_DS3_v2",
                     details_size_key="ServiceType")
    assert sorted((p["aml_kind"], p["aml_name"]) for p in parts) == sorted(EXPECTED_TARGET.values())
    assert {p["allocation_method"] for p in parts} == {"workspace_tag"}
    assert all("'Quantum Annealer' unknown: any compute type" in p["allocation_rule"] for p in parts)
    assert sum((p["weight"] for p in parts), Decimal(0)) == pytest.approx(Decimal(1), abs=Decimal("1e-17"))
    # Alone of its size, an unknown type still finds its compute (the 97.8 % tenant's clusters).
    [part] = _resolve(_index([_compute("gpu", "AmlCompute", "Standard_NC6s_v3"), *SAME_SIZE[:1]]),
                      tags='{"ComputeType": "GPU Pool"}', sku_meter="NC6s v3")
    assert (part["aml_kind"], part["aml_name"]) == ("compute", "gpu")


def test_configured_synonyms_extend_the_table_and_are_validated():
    config = parse_config({"attribution": {"compute_type_synonyms": {"Quantum Annealer": "AmlCompute"}}})
    [part] = _resolve(_index(SAME_SIZE, SAME_SIZE_DEPLOYMENT), config, tags='{"ComputeType": "quantum-annealer"}',
                      meter_vm_size="Standard_DS3_v2")
    assert part["aml_name"] == "train"
    with pytest.raises(ConfigError, match="unknown compute type 'GPU'"):
        parse_config({"attribution": {"compute_type_synonyms": {"x": "GPU"}}})
    assert set(COMPUTE_TYPES) == set(COMPUTE_TYPE_SPELLINGS)


def test_the_type_can_come_from_additional_info():
    [part] = _resolve(_index(SAME_SIZE, SAME_SIZE_DEPLOYMENT), aml_resource_type="AmlCompute",
                      meter_vm_size="Standard_DS3_v2")
    assert part["aml_name"] == "train" and "AdditionalInfo AMLResourceType 'AmlCompute'" in part["allocation_rule"]


ONE_INSTANCE = [_compute("ci-dev", "ComputeInstance", "Standard_DS11_v2")]
# Every place a VM size hides on a row, as the key carries it: (fields, what the rule must say).
SIZE_PLACES = [
    ({"meter_vm_size": "Standard_DS11_v2", "details_size_key": "ServiceType"}, "size from ServiceType Standard_DS11_v2"),
    ({"meter_vm_size": "Standard_DS11_v2", "details_size_key": "x_ServiceType"}, "size from x_ServiceType"),
    ({"sku_meter": "D11 v2/DS11 v2"}, "size from meter name 'D11 v2/DS11 v2'"),
    ({"sku_meter": "DS11 v2 Low Priority"}, "size from meter name"),
    ({"charge_description": "Virtual Machines Dv2/DSv2 Series - D11 v2/DS11 v2 - US East 2"},
     "size from charge description"),
    ({"charge_description": "Virtual Machines Dv2/DSv2 Series - DS11 v2"}, "size from charge description"),
    # A ServiceType that is no VM size (real EA rows: SQLThreatDetection) gives way to the meter.
    ({"meter_vm_size": "SQLThreatDetection", "details_size_key": "ServiceType", "sku_meter": "DS11 v2"},
     "size from meter name 'DS11 v2'"),
]


@pytest.mark.parametrize("fields,how", SIZE_PLACES)
def test_every_place_a_size_can_hide(fields, how):
    [part] = _resolve(_index(ONE_INSTANCE), tags='{"ComputeType": "Compute Instance"}', **fields)
    assert (part["aml_kind"], part["aml_name"]) == ("compute", "ci-dev")
    assert how in part["allocation_rule"]


def test_a_region_or_a_disk_is_never_a_size():
    # A compute whose size looks like what a naive last-part parser reads from a region.
    trap = [_compute("trap", "ComputeInstance", "Standard_US_East_2"), *ONE_INSTANCE]
    for description in ("Premium SSD Managed Disks - P10 LRS - US East 2", "Virtual Machines - US East 2",
                        "Standard SSD Managed Disks - E2 - LRS - Disks - US East"):
        [part] = _resolve(_index(trap), tags='{"ComputeType": "Compute Instance"}', charge_description=description)
        assert part["aml_kind"] == "workspace", description
    for word in _REGION_WORDS:
        assert is_region(word) and not is_vm_size("Standard_" + word.replace(" ", "_"))
        assert vm_sizes_from_meter(f"Virtual Machines Dv3 Series - {word}") == set(), word
        assert vm_sizes_from_meter_part(word) == set(), word
    # Rows that keep billing after a stop (disk, load balancer, IP) are never matched by meter.
    [part] = _resolve(_index([_compute("e2", "ComputeInstance", "Standard_E2")]),
                      tags='{"ComputeType": "Compute Instance"}', sku_meter="E2", after_stop=True)
    assert part["aml_kind"] == "workspace"


@pytest.mark.external
def test_the_real_focus_samples_azure_ml_meters_give_sizes_never_regions():
    if not FOCUS_SAMPLE.is_file():
        pytest.skip(NO_SAMPLES)
    with open(FOCUS_SAMPLE, encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["ServiceName"] == "Azure Machine Learning"
                or "machinelearningservices" in r["ResourceId"]]
    assert len(rows) >= 9
    found = {}
    for row in rows:
        sizes = vm_sizes_from_meter(row["ChargeDescription"])
        assert all(is_vm_size(s) for s in sizes), (row["ChargeDescription"], sizes)
        region_sizes = {"standard_" + row["RegionName"].lower().replace(" ", "_"), "standard_us_east_2"}
        assert not sizes & region_sizes, row["ChargeDescription"]
        if sizes:
            found[row["ChargeDescription"]] = sizes
    assert found == {"Virtual Machines Dv2/DSv2 Series - D11 v2/DS11 v2 - US East 2":
                     {"standard_d11_v2", "standard_ds11_v2"}}


@pytest.mark.external
def test_the_real_focus_samples_vm_row_reaches_its_compute_instance(tmp_path):
    if not FOCUS_SAMPLE.is_file():
        pytest.skip(NO_SAMPLES)
    ws = ("/subscriptions/64e355d7-997c-491d-b0c1-8414dccfcf42/resourcegroups/devtestlab/providers/"
          "microsoft.machinelearningservices/workspaces/zmltestplayground")
    export = tmp_path / "exports" / "focus-sample" / "20240901-20240930"
    export.mkdir(parents=True)
    (export / "part_0_0001.csv").write_bytes(FOCUS_SAMPLE.read_bytes())
    inventory = {
        "inventory_workspaces": _frame("inventory_workspaces", [{**_workspace(ws, "zmltestplayground", {}),
                                                                 "subscription_id": "64e355d7-997c-491d-b0c1-8414dccfcf42",
                                                                 "resource_group": "devtestlab"}]),
        "inventory_computes": _frame("inventory_computes", [
            _compute("ci-sameer", "ComputeInstance", "Standard_DS11_v2", ws=ws),
            _compute("cpu", "AmlCompute", "Standard_DS11_v2", ws=ws)]),
    }
    allocation = _allocate_files(tmp_path, date(2024, 9, 1), inventory)
    vm = allocation.filter(pl.col("allocation_rule").str.contains("D11 v2/DS11 v2"))
    assert vm.height == 1
    row = vm.row(0, named=True)
    assert (row["aml_kind"], row["aml_name"]) == ("compute", "ci-sameer")
    assert "only ComputeInstance of size Standard_DS11_v2" in row["allocation_rule"]
    assert "us_east" not in row["allocation_rule"].lower()
    # Disks, IPs, bandwidth, load balancer: no size, so they stay on the workspace.
    others = allocation.filter((pl.col("workspace_id") == ws) & ~pl.col("allocation_rule").str.contains("D11 v2"))
    assert set(others["aml_kind"]) == {"workspace"}


@pytest.mark.external
def test_the_real_ea_samples_azure_ml_rows_are_never_matched_by_a_region(tmp_path):
    if not EA_SAMPLE.is_file():
        pytest.skip(NO_SAMPLES)
    with open(EA_SAMPLE, encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["ConsumedService"] == "Microsoft.MachineLearningServices"]
    assert len(rows) == 5
    for row in rows:
        for text in (row["Product"], row["MeterName"]):
            assert vm_sizes_from_meter(text) == set() and vm_sizes_from_meter_part(text) == set(), text
        assert canonical_compute_type(json.loads("{" + row["Tags"] + "}")["ComputeType"]) == "ComputeInstance"


# -- the real ingestion, hand-written files of each family -----------------------------------------

FOCUS_10_HEADER = ["BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargePeriodStart",
                   "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ResourceId", "ResourceName", "ResourceType",
                   "ServiceName", "SubAccountId", "x_ResourceGroupName", "RegionId", "ChargeDescription",
                   "ConsumedQuantity", "ConsumedUnit", "Tags", "x_SkuDetails", "x_SkuMeterName",
                   "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountType",
                   "CommitmentDiscountStatus", "x_CostAllocationRuleName"]
FOCUS_12_HEADER = [c.replace("x_SkuDetails", "SkuPriceDetails").replace("x_SkuMeterName", "SkuMeter")
                   for c in FOCUS_10_HEADER]
EA_HEADER = ["SubscriptionId", "SubscriptionName", "Date", "Product", "MeterCategory", "MeterSubCategory",
             "MeterName", "Quantity", "EffectivePrice", "CostInBillingCurrency", "UnitPrice", "BillingCurrencyCode",
             "ResourceLocation", "ConsumedService", "ResourceId", "ResourceName", "AdditionalInfo", "Tags",
             "UnitOfMeasure", "ResourceGroup", "ReservationId", "ReservationName", "ChargeType", "PayGPrice",
             "PricingModel", "CostAllocationRuleName", "benefitId", "benefitName"]

# (ServiceType JSON, meter name, description) of the three size places, for one compute each.
PLACES = {
    "ci-json": ('{"ServiceType":"Standard_E4s_v3"}', "", "Virtual Machines Esv3 Series"),
    "ci-meter": ("{}", "F4s v2", "Virtual Machines FSv2 Series"),
    "ci-description": ("", "", "Virtual Machines Dv2/DSv2 Series - D11 v2/DS11 v2 - US East 2"),
}
SIZES = {"ci-json": "Standard_E4s_v3", "ci-meter": "Standard_F4s_v2", "ci-description": "Standard_DS11_v2"}


def _focus_file(header: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for i, (info, meter, description) in enumerate(PLACES.values()):
        values = {"BilledCost": "10", "EffectiveCost": "10", "ListCost": "10", "BillingCurrency": "USD",
                  "ChargePeriodStart": f"2026-10-0{i + 1}T00:00:00Z", "ChargePeriodEnd": f"2026-10-0{i + 2}T00:00:00Z",
                  "ChargeCategory": "Usage", "ResourceId": WS, "ResourceName": "mlw",
                  "ResourceType": "Azure Machine Learning workspace", "ServiceName": "Azure Machine Learning",
                  "SubAccountId": f"/subscriptions/{SUB}", "x_ResourceGroupName": "rg-ml", "RegionId": "eastus2",
                  "ChargeDescription": description, "ConsumedQuantity": "5", "ConsumedUnit": "Hours",
                  "Tags": '{"ComputeType": "Compute Instance"}', "x_SkuDetails": info, "SkuPriceDetails": info,
                  "x_SkuMeterName": meter, "SkuMeter": meter}
        writer.writerow([values.get(c, "") for c in header])
    return buf.getvalue().encode()


def _ea_file() -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EA_HEADER)
    for i, (info, meter, description) in enumerate(PLACES.values()):
        values = {"SubscriptionId": SUB, "SubscriptionName": "s", "Date": f"10/0{i + 1}/2026",
                  "Product": description, "MeterCategory": "Virtual Machines", "MeterName": meter, "Quantity": "5",
                  "EffectivePrice": "2", "CostInBillingCurrency": "10", "UnitPrice": "2", "BillingCurrencyCode": "USD",
                  "ResourceLocation": "eastus2", "ConsumedService": "Microsoft.MachineLearningServices",
                  "ResourceId": WS, "ResourceName": "mlw", "AdditionalInfo": info,
                  "Tags": '"ComputeType": "Compute Instance"', "UnitOfMeasure": "1 Hour", "ResourceGroup": "rg-ml",
                  "ChargeType": "Usage", "PayGPrice": "2", "PricingModel": "OnDemand"}
        writer.writerow([values.get(c, "") for c in EA_HEADER])
    return buf.getvalue().encode()


def _allocate_files(tmp_path: Path, month: date, inventory: dict[str, pl.DataFrame]) -> pl.DataFrame:
    from dagster_project.costs.load import load_month_from_root

    warehouse = Warehouse(tmp_path / "out")
    with warehouse.connect() as con:
        load_month_from_root(con, tmp_path / "exports", month)
        tables = {t: _frame(t, []) for t in ("inventory_workspaces", "inventory_computes", "inventory_endpoints",
                                             "inventory_deployments", "inventory_jobs")}
        warehouse.publish_snapshot_tables(con, {**tables, **inventory})
        stage_month_allocation(con, month, parse_config({}), inventory_index(con, month))
        return con.sql("SELECT * FROM month_allocation").pl()


@pytest.mark.parametrize("family", ["focus-1.0r2", "focus-1.2", "ea"])
def test_each_family_carries_the_size_to_attribution(tmp_path, family):
    content = {"focus-1.0r2": lambda: _focus_file(FOCUS_10_HEADER), "focus-1.2": lambda: _focus_file(FOCUS_12_HEADER),
               "ea": _ea_file}[family]()
    folder = tmp_path / "exports" / f"export-{family}" / "20261001-20261031"
    folder.mkdir(parents=True)
    name = "part_0_0001.csv" if family != "ea" else "amortized_part_0_0001.csv"
    (folder / name).write_bytes(content)
    computes = [_compute(n, "ComputeInstance", size) for n, size in SIZES.items()]
    allocation = _allocate_files(tmp_path, MONTH, {
        "inventory_workspaces": _frame("inventory_workspaces", [_workspace()]),
        "inventory_computes": _frame("inventory_computes", computes)})
    got = {r["aml_name"]: r["effective_cost"] for r in allocation.iter_rows(named=True)}
    assert got == {n: Decimal(10) for n in SIZES}, allocation.select("aml_name", "allocation_rule").rows()
    rules = dict(zip(allocation["aml_name"], allocation["allocation_rule"], strict=True))
    assert "size from ServiceType Standard_E4s_v3" in rules["ci-json"]
    assert "size from meter name 'F4s v2'" in rules["ci-meter"]
    assert "size from charge description" in rules["ci-description"]


# -- generated variants ------------------------------------------------------------------------------

def _scramble(spelling: str, flips: list[bool], seps: list[str]) -> str:
    out = []
    for i, ch in enumerate(spelling):
        out.append(ch.swapcase() if flips[i % len(flips)] else ch)
        out.append(seps[i % len(seps)])
    return "".join(out)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    canonical=st.sampled_from(["ComputeInstance", "AmlCompute", "Kubernetes", "OnlineEndpoint"]),
    pick=st.integers(min_value=0, max_value=20),
    flips=st.lists(st.booleans(), min_size=1, max_size=5),
    seps=st.lists(st.sampled_from(["", "", " ", "_", "-"]), min_size=1, max_size=4),
    place=st.sampled_from(["details", "x_details", "meter", "description", "description_region", "low_priority"]),
    size=st.sampled_from(["Standard_DS3_v2", "Standard_NC24ads_A100_v4", "Standard_E96-48ads_v5", "Standard_F4s_v2"]),
)
def test_generated_spellings_and_size_places_find_the_compute(canonical, pick, flips, seps, place, size):
    spellings = COMPUTE_TYPE_SPELLINGS[canonical]
    spelled = _scramble(spellings[pick % len(spellings)], flips, seps)
    computes = [_compute("ci-a", "ComputeInstance", size), _compute("train", "AmlCompute", size),
                _compute("aks", "Kubernetes", size)]
    index = _index(computes, [_deployment("scoring", "blue", size)])
    meter = " ".join(size.removeprefix("Standard_").split("_"))
    fields = {
        "details": {"meter_vm_size": size, "details_size_key": "ServiceType"},
        "x_details": {"meter_vm_size": size, "details_size_key": "x_ServiceType"},
        "meter": {"sku_meter": meter},
        "description": {"charge_description": f"Virtual Machines Series - {meter}"},
        "description_region": {"charge_description": f"Virtual Machines Series - {meter} - US East 2"},
        "low_priority": {"charge_description": f"Virtual Machines Series - {meter} Low Priority - EU West"},
    }[place]
    [part] = _resolve(index, tags=json.dumps({"ComputeType": spelled}), **fields)
    assert (part["aml_kind"], part["aml_name"]) == EXPECTED_TARGET[canonical], (spelled, fields)


def test_the_documented_synonym_table_is_the_code_one():
    """docs/tables.md lists every spelling of COMPUTE_TYPE_SPELLINGS, and nothing else."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "tables.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Compute identification"):]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].strip("`") in COMPUTE_TYPES:
            rows[cells[0].strip("`")] = tuple(s.strip() for s in cells[2].split(","))
    assert rows == COMPUTE_TYPE_SPELLINGS
