"""Reservations, savings plans and Cost Management allocation rules, on hand-built months, a
hand-written EA file and the real EA amortized sample."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from cost_support import EXTERNAL
from test_attribution_allocation import MONTH, SUB, WS, _compute, _line, allocate

from dagster_project.attribution.allocate import rows_without_method
from dagster_project.attribution.methods import (
    ALLOCATION_METHODS,
    COMMITMENT_PURCHASES,
    UNUSED_COMMITMENT,
)
from dagster_project.config import parse_config

RESERVATION = "/providers/Microsoft.Capacity/reservationOrders/o-1/reservations/r-1"
EA_SAMPLE = EXTERNAL / "finops-toolkit" / "src" / "powershell" / "Tests" / "Unit" / "assets" / "EA_AmortizedCost_Small.csv"
TAGGED_GROUP = [{"resource_group_id": f"/subscriptions/{SUB}/resourcegroups/rg-ml", "subscription_id": SUB,
                 "resource_group": "rg-ml", "resource_group_original": "rg-ml", "tags": '{"project": "scope-owner"}'}]


def _commitment(status, **extra):
    return {"commitment_discount_id": RESERVATION, "commitment_discount_name": "ri-d4s",
            "commitment_discount_type": "Reservation", "commitment_discount_status": status, **extra}


def _rows(allocation: pl.DataFrame) -> dict[str, tuple[str, Decimal, Decimal]]:
    out = {}
    for r in allocation.iter_rows(named=True):
        out[r["project"]] = (r["allocation_method"], r["effective_cost"], r["billed_cost"])
    return out


def test_unused_hours_and_purchases_never_inherit_a_project_from_their_scope(tmp_path):
    computes = [_compute("train", "Standard_D4s_v3", {"project": "training"})]
    lines = [
        # Usage the reservation covered: the compute that ran, its amortized cost, billed 0.
        _line(WS, "12", {"ComputeType": "AmlCompute"}, vm_size="Standard_D4s_v3", billed="0", row=1,
              **_commitment("Used")),
        # Unused hours on the reservation; its resource group is tagged with a project.
        _line(RESERVATION, "60", billed="0", row=2, **_commitment("Unused")),
        # The month's payment: billed, effective 0.
        _line("", "0", billed="72", row=3, charge_category="Purchase", **_commitment(None)),
        # A Marketplace purchase is no commitment: the ordinary chain (here the resource group).
        _line("", "0", billed="5", row=4, charge_category="Purchase"),
    ]
    collect: dict = {}
    allocation, spend, recon = allocate(tmp_path, lines, computes, resource_groups=TAGGED_GROUP, collect=collect)
    by_project = _rows(allocation)
    assert by_project[UNUSED_COMMITMENT] == ("unused_commitment", Decimal(60), Decimal(0))
    assert by_project[COMMITMENT_PURCHASES] == ("commitment_purchase", Decimal(0), Decimal(72))
    assert by_project["scope-owner"] == ("resource_group_tag", Decimal(0), Decimal(5))
    assert by_project["training"][1:] == (Decimal(12), Decimal(0))
    covered = allocation.filter(pl.col("project") == "training").row(0, named=True)
    assert (covered["aml_kind"], covered["aml_name"]) == ("compute", "train")
    assert covered["allocation_rule"].endswith("; covered by Reservation 'ri-d4s'")
    unused = allocation.filter(pl.col("project") == UNUSED_COMMITMENT).row(0, named=True)
    assert unused["allocation_rule"] == "unused hours of Reservation 'ri-d4s' (commitment status Unused)"
    assert recon["effective_difference"].to_list() == [0] and recon["billed_difference"].to_list() == [0]
    # The compute's month knows what the commitment covered (the basis of freed hours).
    [usage] = collect["usage"].filter(pl.col("aml_name") == "train").iter_rows(named=True)
    assert (usage["committed_cost"], usage["committed_hours"]) == (Decimal(12), Decimal(1))
    # Finance: per commitment, what was bought, covered and unused.
    [view] = collect["commitments"].iter_rows(named=True)
    assert (view["purchased_billed_cost"], view["covered_effective_cost"], view["unused_effective_cost"]) == (
        Decimal(72), Decimal(12), Decimal(60))
    assert view["utilization_pct"] == Decimal("50.00")  # 1 covered hour, 1 unused hour
    assert set(spend["project"]) >= {UNUSED_COMMITMENT, COMMITMENT_PURCHASES}


def test_a_commitment_row_with_its_own_project_tag_keeps_it_and_names_can_be_configured(tmp_path):
    config = parse_config({"attribution": {"commitments": {"unused_project": "(idle reservations)",
                                                           "purchase_project": "(prepaid)"}}})
    lines = [_line(RESERVATION, "30", {"project": "Fraud"}, billed="0", row=1, **_commitment("Unused")),
             _line(RESERVATION, "20", billed="0", row=2, **_commitment("unused")),
             _line("", "0", billed="50", row=3, charge_category="Purchase", **_commitment(None))]
    allocation, _, recon = allocate(tmp_path, lines, config=config)
    by_project = _rows(allocation)
    assert by_project["fraud"][:2] == ("row_tag", Decimal(30))
    assert by_project["(idle reservations)"][:2] == ("unused_commitment", Decimal(20))
    assert by_project["(prepaid)"] == ("commitment_purchase", Decimal(0), Decimal(50))
    assert "unused hours of Reservation" in allocation.filter(pl.col("project") == "fraud")["allocation_rule"][0]


def test_cost_allocation_rule_rows_are_kept_and_named(tmp_path):
    """Cost Management moves cost with a negative row on the source and a positive one on the
    target: both are kept as delivered, each follows its own chain, and the rule is named."""
    target = f"/subscriptions/{SUB}/resourcegroups/rg-ml/providers/microsoft.web/sites/app"
    lines = [_line(WS, "100", {"project": "alpha"}, row=1),
             _line(WS, "-40", {"project": "alpha"}, row=2, cost_allocation_rule_name="share-ml-with-beta"),
             _line(target, "40", {"project": "beta"}, row=3, cost_allocation_rule_name="share-ml-with-beta")]
    allocation, _, recon = allocate(tmp_path, lines)
    moved = allocation.filter(pl.col("allocation_rule").str.contains("allocation rule"))
    assert {(r["project"], r["effective_cost"]) for r in moved.iter_rows(named=True)} == {
        ("alpha", Decimal(-40)), ("beta", Decimal(40))}
    assert all(r.endswith("; moved by Cost Management allocation rule 'share-ml-with-beta'")
               for r in moved["allocation_rule"])
    totals = allocation.group_by("project").agg(pl.col("effective_cost").sum())
    assert dict(totals.iter_rows()) == {"alpha": Decimal(60), "beta": Decimal(40)}
    assert recon["effective_difference"].to_list() == [0]


def test_every_method_of_the_vocabulary_passes_the_method_check(tmp_path):
    lines = [_line(RESERVATION, "1", billed="0", row=1, **_commitment("Unused")),
             _line("", "0", billed="1", row=2, charge_category="Purchase", **_commitment(None)),
             _line(WS, "1", {"project": "a"}, row=3)]
    allocate(tmp_path, lines)
    from dagster_project.warehouse import Warehouse

    with Warehouse(tmp_path / "out").connect() as con:
        assert rows_without_method(con, MONTH).height == 0
        assert set(con.sql("SELECT DISTINCT allocation_method FROM cost_allocation").pl()[
            "allocation_method"]) <= set(ALLOCATION_METHODS)


EA_HEADER = ["SubscriptionId", "SubscriptionName", "Date", "Product", "MeterCategory", "MeterName", "Quantity",
             "EffectivePrice", "CostInBillingCurrency", "UnitPrice", "BillingCurrencyCode", "ResourceLocation",
             "ConsumedService", "ResourceId", "ResourceName", "AdditionalInfo", "Tags", "UnitOfMeasure",
             "ResourceGroup", "ReservationId", "ReservationName", "ChargeType", "PayGPrice", "PricingModel",
             "CostAllocationRuleName", "benefitId", "benefitName"]


def _load_ea(tmp_path: Path, rows: list[dict]) -> duckdb.DuckDBPyConnection:
    from dagster_project.costs.load import load_month_from_root

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EA_HEADER)
    for row in rows:
        writer.writerow([row.get(c, "") for c in EA_HEADER])
    folder = tmp_path / "exports" / "ea" / "20261001-20261031"
    folder.mkdir(parents=True)
    (folder / "amortized_part_0_0001.csv").write_text(buf.getvalue(), encoding="utf-8")
    con = duckdb.connect()
    load_month_from_root(con, tmp_path / "exports", MONTH)
    return con


def test_ea_unused_reservation_rows_and_allocation_rules_are_ingested(tmp_path):
    base = {"SubscriptionId": SUB, "SubscriptionName": "s", "Date": "10/05/2026", "MeterCategory": "Virtual Machines",
            "Quantity": "24", "EffectivePrice": "0.1", "UnitPrice": "0.1", "BillingCurrencyCode": "EUR",
            "ResourceLocation": "westeurope", "UnitOfMeasure": "1 Hour", "PayGPrice": "0.2"}
    con = _load_ea(tmp_path, [
        {**base, "Product": "Virtual Machines DSv3 Series - D4s v3 - EU West", "MeterName": "D4s v3",
         "CostInBillingCurrency": "2.4", "ChargeType": "UnusedReservation", "PricingModel": "Reservation",
         "ReservationId": "r-1", "ReservationName": "ri-d4s", "benefitId": RESERVATION, "benefitName": "ri-d4s"},
        {**base, "Product": "Virtual Machines DSv3 Series - D4s v3 - EU West", "MeterName": "D4s v3",
         "CostInBillingCurrency": "1.2", "ChargeType": "Usage", "PricingModel": "SavingsPlan",
         "benefitId": "/providers/Microsoft.BillingBenefits/savingsPlanOrders/o/savingsPlans/p",
         "benefitName": "sp-compute", "ResourceId": WS, "CostAllocationRuleName": "ml-to-platform"},
    ])
    rows = con.sql("SELECT sku_meter, commitment_discount_id, commitment_discount_name, commitment_discount_type, "
                   "commitment_discount_status, cost_allocation_rule_name, charge_category, billed_cost "
                   "FROM cost_line_items ORDER BY source_row").fetchall()
    assert rows == [
        ("D4s v3", RESERVATION, "ri-d4s", "Reservation", "Unused", None, "Usage", Decimal("2.4")),
        ("D4s v3", "/providers/Microsoft.BillingBenefits/savingsPlanOrders/o/savingsPlans/p", "sp-compute",
         "Savings Plan", "Used", "ml-to-platform", "Usage", Decimal(0)),
    ]


@pytest.mark.external
def test_the_real_ea_amortized_sample_names_its_reservation_and_savings_plan(tmp_path):
    if not EA_SAMPLE.is_file():
        pytest.skip(f"external samples not present under {EXTERNAL}: clone the repository's shared fixtures "
                    "beside it (../shared/fixtures/external, see its PROVENANCE.md)")
    from dagster_project.costs.load import load_month_from_root

    folder = tmp_path / "exports" / "ea-sample" / "20230901-20230930"
    folder.mkdir(parents=True)
    (folder / "amortized_part_0_0001.csv").write_bytes(EA_SAMPLE.read_bytes())
    con = duckdb.connect()
    load_month_from_root(con, tmp_path / "exports", date(2023, 9, 1))
    commitments = con.sql("SELECT commitment_discount_name, commitment_discount_type, commitment_discount_status, "
                          "count(*) FROM cost_line_items WHERE commitment_discount_id IS NOT NULL GROUP BY ALL "
                          "ORDER BY 1").fetchall()
    assert commitments == [("Compute_SavingsPlan_11-07-2022_09-55", "Savings Plan", "Used", 1),
                           ("ProdDS1VMReservation", "Reservation", "Used", 1)]
    meters = dict(con.sql("SELECT charge_description, sku_meter FROM cost_line_items "
                          "WHERE resource_id LIKE '%/workspaces/zmltestplayground'").fetchall())
    assert meters["IP Addresses - Standard IPv4 Static Public IP - Dev/Test"] == "Standard IPv4 Static Public IP"
    [(info,)] = con.execute("SELECT additional_info FROM cost_line_items "
                            "WHERE commitment_discount_type = 'Reservation'").fetchall()
    assert json.loads(info)["ServiceType"] == "Standard_DS2_v2"


def test_the_documented_methods_are_the_vocabulary():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "tables.md").read_text(encoding="utf-8")
    table = doc[doc.index("Allocation methods (their one home"):doc.index("### Compute identification")]
    documented = []
    for line in table.splitlines():
        if line.startswith("| `"):
            documented += [m.strip().strip("`") for m in line.split("|")[1].split(",")]
    assert documented == list(ALLOCATION_METHODS)
    example = (Path(__file__).resolve().parents[1] / "finops.example.yaml")
    config = parse_config(yaml.safe_load(example.read_text()))
    assert config.attribution.commitments.unused_project == UNUSED_COMMITMENT
    assert config.attribution.commitments.purchase_project == COMMITMENT_PURCHASES
