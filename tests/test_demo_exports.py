"""The demo tenant's Cost Management exports: layout, manifests, header, ground truth."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from cost_support import EXTERNAL
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.demo.events import instances_on
from dagster_project.demo.exports import EA_AMORTIZED_COLUMNS, FOCUS_1_2_COLUMNS, write_exports
from dagster_project.demo.tenant import build_tenant, line_items


@pytest.fixture(scope="module")
def demo(demo_tenant, tmp_path_factory):
    tenant = demo_tenant
    out = tmp_path_factory.mktemp("demo")
    # A small part size so the split into several parts is exercised.
    return tenant, write_exports(tenant, out, rows_per_part=400)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_layout_and_manifests(demo):
    tenant, summary = demo
    manifests = sorted(summary.root.glob("*/*/*/manifest.json"))
    # 2 subscriptions × 3 months, plus the second run of the twice-delivered month.
    assert len(manifests) == 2 * 3 + 2
    for manifest_path in manifests:
        export, range_folder, run_id = manifest_path.relative_to(summary.root).parts[:3]
        m = json.loads(manifest_path.read_text())
        assert m["manifestVersion"] == "2024-04-01"
        assert m["exportConfig"]["type"] == "FocusCost"
        assert m["exportConfig"]["exportName"] == export
        assert export.startswith("aml-finops-focus-contoso-ml-")
        assert m["runInfo"]["runId"] == run_id
        assert m["blobCount"] == len(m["blobs"]) >= 1
        assert m["deliveryConfig"]["rootFolderPath"] == "exports"
        for blob in m["blobs"]:
            assert blob["blobName"].startswith(f"exports/{export}/{range_folder}/{run_id}/part_")
            path = summary.root.parent / blob["blobName"]
            assert blob["byteCount"] == path.stat().st_size
            assert blob["dataRowCount"] == len(_rows(path))
        assert m["dataRowCount"] == sum(b["dataRowCount"] for b in m["blobs"])
        assert m["byteCount"] == sum(b["byteCount"] for b in m["blobs"])
    # rows_per_part=400 splits the bigger runs into several parts.
    assert any(len(json.loads(p.read_text())["blobs"]) > 1 for p in manifests)


def test_header_is_full_focus_1_2(demo):
    _, summary = demo
    part = next(summary.root.glob("*/*/*/part_0_0001.csv"))
    with open(part, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == FOCUS_1_2_COLUMNS
    assert len(header) == 104


@pytest.mark.skipif(not (EXTERNAL / "finops-toolkit").is_dir(), reason="../shared/fixtures/external is absent")
def test_focus_columns_match_toolkit_schema():
    schema = EXTERNAL / ("finops-toolkit/src/templates/finops-hub/modules/Microsoft.CostManagement/Exports/"
                         "schemas/focuscost_1.2.json")
    mappings = json.loads(schema.read_text())["translator"]["mappings"]
    assert tuple(m["source"]["name"] for m in mappings) == FOCUS_1_2_COLUMNS


def test_twice_delivered_month(demo):
    tenant, summary = demo
    month = tenant.months[-2]
    for sub in tenant.subscriptions:
        runs = [r for r in summary.runs if r.month == month and r.export_name.endswith(sub.name)]
        assert len(runs) == 2
        old, new = sorted(runs, key=lambda r: r.submitted_time)
        assert not old.complete and new.complete
        old_days = {row["ChargePeriodStart"][:10] for p in old.parts for row in _rows(p)}
        assert max(old_days) <= f"{month:%Y-%m}-15"
        old_m = json.loads(old.manifest.read_text())
        assert old_m["exportConfig"]["timeFrame"] == "MonthToDate"
    other = [r for r in summary.runs if r.month != month]
    assert len(other) == 2 * (len(tenant.months) - 1)


def test_summary_equals_independent_sum_of_newest_runs(demo):
    tenant, summary = demo
    for month, truth in summary.months.items():
        newest = [r for r in summary.runs if r.month == month and r.complete]
        per: dict[str, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
        for run in newest:
            for part in run.parts:
                for row in _rows(part):
                    totals = per[row["BillingCurrency"]]
                    totals[0] += 1
                    totals[1] += Decimal(row["EffectiveCost"])
                    totals[2] += Decimal(row["BilledCost"])
                    assert row["ChargePeriodStart"].startswith(f"{month:%Y-%m}-")
                    assert row["ChargePeriodStart"].endswith("T00:00:00Z")
                    assert row["PricingCurrency"] == row["BillingCurrency"]
        # Two billing currencies, never added together.
        assert {c: tuple(v) for c, v in per.items()} == truth.totals()
        assert set(truth.currencies) == {"USD", "EUR"}
        for currency in truth.currencies.values():
            assert sum((e for e, _ in currency.projects.values()), Decimal(0)) == currency.effective_total
            assert sum((b for _, b in currency.projects.values()), Decimal(0)) == currency.billed_total
            assert sum(currency.aml.values(), Decimal(0)) == currency.effective_total
        # The reservation purchases are billed but not amortized into effective cost.
        usd = truth.currencies["USD"]
        assert usd.projects["(commitment purchases)"][0] == 0 < usd.projects["(commitment purchases)"][1]
    # The superseded run's amounts differ (they are estimates).
    month = tenant.months[-2]
    old = [r for r in summary.runs if r.month == month and not r.complete]
    old_eff = sum((Decimal(row["EffectiveCost"]) for r in old for p in r.parts for row in _rows(p)
                   if row["BillingCurrency"] == "USD"), Decimal(0))
    assert old_eff != summary.months[month].currencies["USD"].effective_total


def test_commitment_rows_are_written_as_azure_writes_them(demo):
    tenant, summary = demo
    month = tenant.months[-1]
    rows = [row for r in summary.runs if r.month == month and r.complete for p in r.parts for row in _rows(p)]
    commitment = [row for row in rows if row["CommitmentDiscountId"]]
    by_status = defaultdict(list)
    for row in commitment:
        by_status[(row["ChargeCategory"], row["CommitmentDiscountStatus"])].append(row)
    assert set(by_status) == {("Usage", "Used"), ("Usage", "Unused"), ("Purchase", "")}
    for row in commitment:
        assert row["CommitmentDiscountType"] == "Reservation" and row["CommitmentDiscountName"].startswith("ri-")
        assert row["PricingCategory"] == "Committed"
    for row in by_status[("Usage", "Used")] + by_status[("Usage", "Unused")]:
        assert Decimal(row["BilledCost"]) == 0 < Decimal(row["EffectiveCost"])  # billed by the purchase
    for row in by_status[("Purchase", "")]:
        assert Decimal(row["EffectiveCost"]) == 0 < Decimal(row["BilledCost"])
    # Per reservation: the payment is the covered plus the unused amortized cost.
    for c in tenant.commitments:
        mine = [row for row in commitment if row["CommitmentDiscountId"] == c.id]
        paid = sum((Decimal(r["BilledCost"]) for r in mine if r["ChargeCategory"] == "Purchase"), Decimal(0))
        amortized = sum((Decimal(r["EffectiveCost"]) for r in mine), Decimal(0))
        assert paid == amortized, c.name


def test_type_tag_and_size_variants_are_in_the_rows(demo):
    tenant, summary = demo
    month = tenant.months[-1]
    rows = [row for r in summary.runs if r.month == month and r.complete for p in r.parts for row in _rows(p)]
    vm = [row for row in rows if row["ConsumedUnit"] == "1 Hour" and "Virtual Machines" in row["ChargeDescription"]
          and not row["CommitmentDiscountStatus"] == "Unused"]
    spellings = {json.loads(row["Tags"]).get("ComputeType") for row in vm}
    assert {"Compute Instance", "computeinstance", "ComputeInstance", "AmlCompute", "Compute Cluster",
            "Training Pool", "Managed Online Endpoint"} <= spellings
    details = [row for row in vm if "ServiceType" in (row["SkuPriceDetails"] or "")]
    meter_only = [row for row in vm if "ServiceType" not in (row["SkuPriceDetails"] or "") and row["SkuMeter"]]
    description_only = [row for row in vm if not row["SkuMeter"]]
    assert details and meter_only and description_only
    assert all(row["ChargeDescription"].endswith(" - US East 2") for row in description_only)


def test_values_are_exact_and_mixed_case_ids(demo):
    _, summary = demo
    part = next(summary.root.glob("*/*/*/part_0_0001.csv"))
    rows = _rows(part)
    for row in rows:
        for col in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity"):
            Decimal(row[col])  # parses exactly
        assert row["SubAccountId"].startswith("/subscriptions/")
        tags = json.loads(row["Tags"]) if row["Tags"] else {}
        assert isinstance(tags, dict)
    ids = {r["ResourceId"] for r in rows if r["ResourceId"]}
    assert any(i != i.lower() for i in ids) and any(i == i.lower() for i in ids)


def test_deterministic_for_a_seed(tmp_path):
    def digest(out: Path) -> dict[str, str]:
        write_exports(build_tenant(seed=7, months=2), out)
        return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*")) if p.is_file()}

    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert a == b and len(a) >= 8
    c = {}
    write_exports(build_tenant(seed=8, months=2), tmp_path / "c")
    c = {p.relative_to(tmp_path / "c").as_posix() for p in (tmp_path / "c").rglob("*") if p.is_file()}
    assert c != set(a)  # run ids derive from the seed


def test_ea_amortized_layout(tmp_path):
    tenant = build_tenant(seed=42, months=2)
    summary = write_exports(tenant, tmp_path, schema="ea-amortized")
    parts = sorted(summary.root.glob("*/*/part_*.csv"))
    assert len(parts) == 2 * 2
    assert not list(summary.root.rglob("*manifest*.json"))
    per_month: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for part in parts:
        with open(part, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert tuple(reader.fieldnames) == EA_AMORTIZED_COLUMNS
            for row in reader:
                mm, dd, yyyy = row["Date"].split("/")
                assert len(mm) == 2 and len(dd) == 2 and len(yyyy) == 4
                per_month[f"{yyyy}-{mm}"][row["BillingCurrencyCode"]] += Decimal(row["CostInBillingCurrency"])
                if row["ChargeType"] == "UnusedReservation":
                    assert row["ReservationId"] and row["benefitId"].endswith(row["ReservationId"])
                if row["Tags"]:
                    assert not row["Tags"].startswith("{")
                    assert isinstance(json.loads("{" + row["Tags"] + "}"), dict)
    for month, truth in summary.months.items():
        assert dict(per_month[f"{month:%Y-%m}"]) == {c: t.effective_total for c, t in truth.currencies.items()}


def test_unknown_schema_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown export schema"):
        write_exports(build_tenant(months=1), tmp_path, schema="mca")


@settings(max_examples=8, deadline=None, derandomize=True)
@given(seed=st.integers(min_value=0, max_value=10_000), end=st.sampled_from([date(2026, 2, 1), date(2026, 10, 1)]))
def test_the_generator_never_bills_impossible_hours(seed, end):
    """A compute instance is one node, a cluster at most max_nodes, a deployment its instances:
    for any seed, no day bills more running hours than that (the demo once billed 25 h a day)."""
    tenant = build_tenant(seed=seed, months=1, end_month=end)
    nodes = {c.name: 1 for c in tenant.compute_instances}
    nodes |= {k.name: k.max_nodes for k in tenant.clusters}
    nodes |= {f"{e.name}/{d.name}": d.instance_count for e in tenant.endpoints for d in e.deployments}
    hours: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for item in line_items(tenant, tenant.months[0]):
        if item.true_aml_kind in ("compute", "endpoint") and item.consumed_unit == "1 Hour":
            hours[(item.true_aml_name, item.charge_date)] += item.consumed_quantity
    assert hours
    for (name, day), billed in hours.items():
        # The planted two-day scale-up (demo/events.py) bills the instances it was scaled to.
        endpoint, _, deployment = name.partition("/")
        allowed = instances_on(tenant, endpoint, deployment, day, nodes[name]) if deployment else nodes[name]
        assert billed <= allowed * 24, (name, day, billed)
    # A reservation never covers more than its instances × 24 h a day, used plus unused.
    for c in tenant.commitments:
        per_day: dict[date, Decimal] = defaultdict(Decimal)
        for item in line_items(tenant, tenant.months[0]):
            if item.commitment_discount_id == c.id and item.commitment_status:
                per_day[item.charge_date] += item.consumed_quantity
        assert per_day and all(v == c.quantity * 24 for v in per_day.values()), c.name


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("seed", "months", "schema", "rows"), [
    (42, 3, "focus-1.2", None),  # the demo itself
    (7, 2, "ea-amortized", 5_000),  # another seed and schema, with filler rows past the base rows
])
def test_generation_draws_each_months_base_rows_once_with_the_same_bytes(tmp_path, monkeypatch, seed, months,
                                                                        schema, rows):
    """`generate_demo` hands every pass the same drawn base rows of a month (the exports and each
    ground truth); the tenant folder is byte for byte the one drawing them anew for every pass
    writes, so no pass may change a row it was given."""
    from contextlib import nullcontext

    import dagster_project.demo.generate as generate
    import dagster_project.demo.tenant as tenant_module

    drawn: list[tuple[date, bool]] = []  # (month, drawn while sharing)
    draw = tenant_module._draw_base_line_items
    monkeypatch.setattr(tenant_module, "_draw_base_line_items",
                        lambda t, m: drawn.append((m, tenant_module._SHARED_BASE is not None)) or draw(t, m))
    shared = generate.generate_demo(tmp_path / "shared", seed=seed, months=months, schema=schema, rows=rows)
    while_sharing = sorted(m for m, sharing in drawn if sharing)
    monkeypatch.setattr(generate, "shared_base_line_items", nullcontext)
    drawn.clear()
    anew = generate.generate_demo(tmp_path / "anew", seed=seed, months=months, schema=schema, rows=rows)

    # build_tenant draws before the sharing starts (the tenant is still being built); after that
    # each month is drawn once, where drawing anew draws it for every pass.
    assert while_sharing == sorted({m for m, _ in drawn})
    assert len(while_sharing) == months
    assert len(drawn) > 3 * months
    assert _tree(shared.root) == _tree(anew.root)
