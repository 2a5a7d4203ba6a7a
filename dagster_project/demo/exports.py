"""The demo tenant's Cost Management exports, written the way Azure writes them to storage.

Layout (docs/ingestion.md)::

    <out_dir>/exports/<export-name>/<YYYYMMDD-YYYYMMDD>/<run-id>/manifest.json
                                                              /part_0_0001.csv
                                                              /part_1_0001.csv   (> rows_per_part)

One FOCUS export per subscription (`aml-finops-focus-<subscription name>`), one run per month.
The second-to-last month (the only month when there is one) is delivered twice: first a
month-to-date run submitted on the 16th with the days up to the 15th and slightly different
(estimated) amounts, then the complete run submitted after month end. Only the newer run counts;
`ExportSummary` carries the ground truth of the newest complete run per month only.

Rows are streamed from `tenant.line_items` straight into the CSV files (never all in memory), and
each line is built from per-resource constant fragments joined with plain string operations, so
ten million rows take minutes. Money is written as `str(Decimal)`; no float is ever involved.

`schema="ea-amortized"` writes the legacy EA amortized-cost layout instead (manifest-less, one
`part_0_0001.csv` per range folder, overwritten in place like a legacy export, so no re-delivery).
"""

from __future__ import annotations

import calendar
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from dagster_project.azure_ids import ArmId
from dagster_project.demo.tenant import TEN_PLACES, LineItem, Tenant, add_months, line_items

EXPORT_ROOT = "exports"
DEFAULT_ROWS_PER_PART = 1_000_000
MANIFEST_VERSION = "2024-04-01"
FOCUS_DATA_VERSION = "1.2"
# The month-to-date run's amounts are estimates; Azure revises them in the final run.
ESTIMATE_FACTOR = Decimal("1.03")

# FOCUS 1.2 as Cost Management writes it (FocusCost dataVersion 1.2): the column order of the
# FinOps toolkit's export schema `focuscost_1.2.json` (translator.mappings[].source.name).
FOCUS_1_2_COLUMNS: tuple[str, ...] = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId", "CapacityReservationStatus",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
    "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost",
    "ListUnitPrice", "PricingCategory", "PricingCurrency", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName",
    "ResourceType", "ServiceCategory", "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter",
    "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName", "SubAccountType", "Tags",
    "x_AccountId", "x_AccountName", "x_AccountOwnerId", "x_AmortizationClass", "x_BilledCostInUsd",
    "x_BilledUnitPrice", "x_BillingAccountId", "x_BillingAccountName", "x_BillingExchangeRate",
    "x_BillingExchangeRateDate", "x_BillingProfileId", "x_BillingProfileName", "x_ContractedCostInUsd",
    "x_CostAllocationRuleName", "x_CostCenter", "x_CustomerId", "x_CustomerName",
    "x_EffectiveCostInUsd", "x_EffectiveUnitPrice", "x_InvoiceIssuerId", "x_InvoiceSectionId",
    "x_InvoiceSectionName", "x_ListCostInUsd", "x_PartnerCreditApplied", "x_PartnerCreditRate",
    "x_PricingBlockSize", "x_PricingSubcategory", "x_PricingUnitDescription", "x_PublisherCategory",
    "x_PublisherId", "x_ResellerId", "x_ResellerName", "x_ResourceGroupName", "x_ResourceType",
    "x_ServiceModel", "x_ServicePeriodEnd", "x_ServicePeriodStart", "x_SkuDescription",
    "x_SkuIsCreditEligible", "x_SkuMeterCategory", "x_SkuMeterId", "x_SkuMeterSubcategory",
    "x_SkuOfferId", "x_SkuOrderId", "x_SkuOrderName", "x_SkuPartNumber", "x_SkuPlanName", "x_SkuRegion",
    "x_SkuServiceFamily", "x_SkuTerm", "x_SkuTier",
)

# Legacy EA amortized-cost layout: the column order of the FinOps toolkit's real
# `EA_AmortizedCost_Small.csv`, in the later vintage that names the money column
# `CostInBillingCurrency` and the currency `BillingCurrencyCode` (as the FinOps Foundation's
# anonymised EA sample does).
EA_AMORTIZED_COLUMNS: tuple[str, ...] = (
    "BillingAccountId", "BillingAccountName", "BillingPeriodStartDate", "BillingPeriodEndDate",
    "BillingProfileId", "BillingProfileName", "AccountOwnerId", "AccountName", "SubscriptionId",
    "SubscriptionName", "Date", "Product", "PartNumber", "MeterId", "ServiceFamily", "MeterCategory",
    "MeterSubCategory", "MeterRegion", "MeterName", "Quantity", "EffectivePrice",
    "CostInBillingCurrency", "UnitPrice", "BillingCurrencyCode", "ResourceLocation", "AvailabilityZone",
    "ConsumedService", "ResourceId", "ResourceName", "ServiceInfo1", "ServiceInfo2", "AdditionalInfo",
    "Tags", "InvoiceSectionId", "InvoiceSection", "CostCenter", "UnitOfMeasure", "ResourceGroup",
    "ReservationId", "ReservationName", "ProductOrderId", "ProductOrderName", "OfferId",
    "IsAzureCreditEligible", "Term", "PublisherName", "PlanName", "ChargeType", "Frequency",
    "PublisherType", "PayGPrice", "PricingModel", "CostAllocationRuleName", "benefitId", "benefitName",
)

SCHEMAS = ("focus-1.2", "ea-amortized")
REGION_NAMES = {
    "eastus": "East US", "eastus2": "East US 2", "westus2": "West US 2", "westeurope": "West Europe",
    "northeurope": "North Europe", "uksouth": "UK South",
}


@dataclass
class CurrencyTruth:
    """Ground truth of one billing month in one billing currency (amounts are never summed
    across currencies)."""

    currency: str
    # project -> (effective_cost, billed_cost)
    projects: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    effective_total: Decimal = Decimal(0)
    billed_total: Decimal = Decimal(0)
    line_items: int = 0
    # (true_aml_kind, true_aml_name) -> effective cost
    aml: dict[tuple[str, str], Decimal] = field(default_factory=dict)


@dataclass
class MonthTruth:
    """Ground truth of one billing month, from the newest complete run only, per currency."""

    month: date
    currencies: dict[str, CurrencyTruth] = field(default_factory=dict)

    @property
    def line_items(self) -> int:
        return sum(c.line_items for c in self.currencies.values())

    def totals(self) -> dict[str, tuple[int, Decimal, Decimal]]:
        """currency → (line items, effective cost, billed cost)."""
        return {c: (t.line_items, t.effective_total, t.billed_total) for c, t in sorted(self.currencies.items())}


@dataclass(frozen=True)
class WrittenRun:
    """One delivered export run (FOCUS layout) or range folder (EA layout)."""

    export_name: str
    month: date
    run_id: str | None
    submitted_time: datetime
    complete: bool
    folder: Path
    manifest: Path | None
    parts: tuple[Path, ...]
    rows: int


@dataclass
class ExportSummary:
    root: Path  # <out_dir>/exports
    schema: str
    months: dict[date, MonthTruth]
    runs: list[WrittenRun]
    files: list[Path]  # every file written (manifests and parts), superseded runs included

    @property
    def line_items(self) -> int:
        return sum(m.line_items for m in self.months.values())


def _iso_z(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _range_folder(month: date) -> str:
    return f"{month:%Y%m%d}-{_month_end(month):%Y%m%d}"


def _csv_field(value: str) -> str:
    """Quote a field the way the csv module would (only when needed)."""
    if not value:
        return ""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _json(obj: dict[str, str]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) if obj else ""


def _meter_category(item: LineItem) -> str:
    desc = item.charge_description
    if desc.startswith("Virtual Machines") or desc.startswith("Reserved VM Instance"):
        return "Virtual Machines"
    if "Managed Disks" in desc:
        return "Storage"
    return item.service_name


def _meter_subcategory(item: LineItem) -> str:
    head, sep, _ = item.charge_description.partition(" - ")
    return head if sep else ""


class _Writer:
    """Splits one stream of lines into `part_<n>_0001.csv` files of at most `rows_per_part` rows."""

    def __init__(self, folder: Path, header: str, rows_per_part: int, suffix: str = ".csv"):
        self.folder, self.header, self.rows_per_part, self.suffix = folder, header, rows_per_part, suffix
        self.parts: list[tuple[Path, int]] = []
        self._fh: io.TextIOWrapper | None = None
        self._rows = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._open()

    def _open(self) -> None:
        self._close_current()
        path = self.folder / f"part_{len(self.parts)}_0001{self.suffix}"
        # newline="" so "\r\n" inside quoted fields would be kept verbatim; lines end in "\n".
        self._fh = open(path, "w", encoding="utf-8", newline="")  # closed in close()
        self._fh.write(self.header)
        self.parts.append((path, 0))
        self._rows = 0

    def _close_current(self) -> None:
        if self._fh is not None:
            self._fh.close()
            path, _ = self.parts[-1]
            self.parts[-1] = (path, self._rows)
            self._fh = None

    def write(self, line: str) -> None:
        if self._rows >= self.rows_per_part:
            self._open()
        self._fh.write(line)  # type: ignore[union-attr]
        self._rows += 1

    def close(self) -> list[tuple[Path, int]]:
        self._close_current()
        return self.parts


class _FocusRenderer:
    """Renders LineItems as FOCUS 1.2 lines; constant fragments are cached per resource."""

    def __init__(self, tenant: Tenant, month: date):
        t = tenant
        bp_start, bp_end = _iso_z(month), _iso_z(add_months(month, 1))
        # BillingAccountId .. BillingPeriodStart is the same for every row of the month and
        # billing currency (a subscription's billing profile), apart from BilledCost which leads.
        self.billing = {
            currency: ",".join(_csv_field(v) for v in (
                t.billing_account_id, t.billing_account_name, "Billing Account", currency, bp_end, bp_start))
            for currency in sorted({s.currency for s in t.subscriptions})
        }
        self._mid: dict[tuple, str] = {}
        self._tail: dict[tuple, str] = {}
        self._tags: dict[tuple, str] = {}
        self._day: dict[date, str] = {}

    def _day_pair(self, d: date) -> str:
        s = self._day.get(d)
        if s is None:
            s = self._day[d] = f"{_iso_z(d + timedelta(days=1))},{_iso_z(d)}"
        return s

    def _tags_field(self, tags: dict[str, str]) -> str:
        key = tuple(tags.items())
        s = self._tags.get(key)
        if s is None:
            s = self._tags[key] = _csv_field(json.dumps(tags, ensure_ascii=False) if tags else "")
        return s

    def line(self, it: LineItem) -> str:
        purchase = it.charge_category == "Purchase"
        # Charge columns between ChargeClass and ChargePeriodEnd, and the commitment block.
        k_mid = (it.charge_category, it.charge_class, it.charge_description, it.commitment_discount_id,
                 it.commitment_status)
        mid = self._mid.get(k_mid)
        if mid is None:
            frequency = "One-Time" if it.charge_category in ("Purchase", "Credit") else "Usage-Based"
            # CommitmentDiscountCategory, Id, Name, Quantity, Status, Type, Unit.
            commit = ("Usage" if it.commitment_discount_id else "", it.commitment_discount_id,
                      it.commitment_name, "", it.commitment_status, it.commitment_type, "")
            mid = self._mid[k_mid] = (
                ",".join(_csv_field(v) for v in (it.charge_category, it.charge_class, it.charge_description,
                                                 frequency)),
                ",".join(_csv_field(v) for v in commit),
            )
        k_tail = (it.resource_id, it.resource_name, it.resource_type, it.service_name, it.service_category,
                  it.region, it.subscription.id, it.resource_group, it.sku_id, it.sku_meter, it.consumed_unit,
                  it.pricing_category, it.charge_description, purchase)
        tail = self._tail.get(k_tail)
        if tail is None:
            sub = it.subscription
            region_name = REGION_NAMES.get(it.region, it.region)
            arm = ArmId.parse(it.resource_id).resource_type
            res = ",".join(_csv_field(v) for v in (
                "Microsoft", "Microsoft", it.region, region_name, it.resource_id, it.resource_name,
                it.resource_type, it.service_category, it.service_name, "", it.sku_id, it.sku_meter))
            subacct = ",".join(_csv_field(v) for v in (
                f"/subscriptions/{sub.id}", sub.name, "Subscription"))
            x_head = ",".join(_csv_field(v) for v in ("", "", "", "Principal" if purchase else ""))
            x_mid = ",,"  # x_InvoiceIssuerId, x_InvoiceSectionId, x_InvoiceSectionName
            x_res = ",".join(_csv_field(v) for v in (
                it.consumed_unit, "", "", "", "", it.resource_group, arm.lower(), "", "", "",
                it.charge_description, "True", _meter_category(it), "", _meter_subcategory(it), "", "", "",
                "", "", it.region, "", "", ""))
            tail = self._tail[k_tail] = (
                f"{_csv_field(it.currency)},",  # PricingCurrency, then PricingQuantity follows
                f"{_csv_field(it.consumed_unit)},{res}",  # PricingUnit .. SkuMeter
                subacct, x_head, x_mid, x_res, _csv_field(it.pricing_category), _csv_field(it.consumed_unit),
            )
        pricing_cur, res_block, subacct, x_head, x_mid, x_res, pricing_cat, unit = tail
        billed, eff, lst, con = str(it.billed_cost), str(it.effective_cost), str(it.list_cost), str(it.contracted_cost)
        qty = str(it.consumed_quantity)
        list_price, con_price = str(it.list_unit_price), str(it.contracted_unit_price)
        info = _csv_field(_json(it.additional_info))
        # One entry per FOCUS_1_2_COLUMNS column, or a pre-joined run of them (see the caches).
        fields = (
            billed, self.billing[it.currency], "", "", mid[0], self._day_pair(it.charge_date), mid[1],
            qty, unit, con, con_price, eff, "", "Microsoft", lst, list_price, pricing_cat,
            pricing_cur + qty, res_block, info, "", subacct, self._tags_field(it.tags),
            x_head, billed, con_price, "", "", "1", "", "", "", con, "", "", "", "", eff, con_price, x_mid,
            lst, "", "", "1", "", x_res,
        )
        return ",".join(fields) + "\n"


class _EaRenderer:
    """Renders LineItems in the legacy EA amortized layout (MM/DD/YYYY, tags without braces)."""

    def __init__(self, tenant: Tenant, month: date):
        t = tenant
        account = t.billing_account_id.rsplit("/", 1)[-1]
        self.head = ",".join(_csv_field(v) for v in (
            account, t.billing_account_name, f"{month:%m/%d/%Y}", f"{_month_end(month):%m/%d/%Y}", account,
            t.billing_account_name, "finops@contoso.com", "Contoso ML"))
        self._const: dict[tuple, tuple[str, str]] = {}
        self._tags: dict[tuple, str] = {}

    def _tags_field(self, tags: dict[str, str]) -> str:
        key = tuple(tags.items())
        s = self._tags.get(key)
        if s is None:
            # The real EA export writes the JSON object's members without the enclosing braces.
            body = json.dumps(tags, ensure_ascii=False)[1:-1] if tags else ""
            s = self._tags[key] = _csv_field(body)
        return s

    def line(self, it: LineItem) -> str:
        key = (it.resource_id, it.resource_name, it.region, it.subscription.id, it.resource_group,
               it.charge_description, it.sku_meter, it.consumed_unit, it.charge_category, it.pricing_category,
               it.service_name, it.commitment_discount_id, it.commitment_status)
        const = self._const.get(key)
        if const is None:
            sub = it.subscription
            arm = ArmId.parse(it.resource_id).resource_type
            consumed_service = arm.split("/", 1)[0] if arm else ""
            pre = ",".join(_csv_field(v) for v in (sub.id, sub.name))
            meter = ",".join(_csv_field(v) for v in (
                it.charge_description, "", it.sku_id, it.service_name, _meter_category(it),
                _meter_subcategory(it), REGION_NAMES.get(it.region, it.region), it.sku_meter))
            res = ",".join(_csv_field(v) for v in (
                it.currency, it.region, "", consumed_service, it.resource_id, it.resource_name, "", ""))
            charge_type = {"Purchase": "Purchase", "Credit": "Refund"}.get(it.charge_category, "Usage")
            if it.commitment_status == "Unused":
                charge_type = "UnusedReservation"
            pricing = "Reservation" if it.pricing_category == "Committed" else "OnDemand"
            # ReservationId is the reservation's GUID; the later vintage's benefitId its ARM id.
            reservation = it.commitment_discount_id.rsplit("/", 1)[-1] if it.commitment_discount_id else ""
            post = ",".join(_csv_field(v) for v in (
                "", "", "", it.consumed_unit, it.resource_group, reservation, it.commitment_name, "", "",
                "MS-AZR-0017P", "True", "", "Microsoft", "", charge_type,
                "UsageBased" if charge_type in ("Usage", "UnusedReservation") else "OneTime", "Azure"))
            benefit = ",".join(_csv_field(v) for v in (it.commitment_discount_id, it.commitment_name))
            const = self._const[key] = (pre, meter, res, post, pricing, benefit)
        pre, meter, res, post, pricing, benefit = const
        fields = (
            self.head, pre, f"{it.charge_date:%m/%d/%Y}", meter, str(it.consumed_quantity),
            str(it.contracted_unit_price), str(it.effective_cost), str(it.list_unit_price), res,
            _csv_field(_json(it.additional_info)), self._tags_field(it.tags), post,
            str(it.list_unit_price), pricing, "", benefit,
        )
        return ",".join(fields) + "\n"


def _estimate(it: LineItem) -> LineItem:
    """The month-to-date run's preliminary amounts: slightly off, as Azure's estimates are."""
    from dataclasses import replace

    def f(v: Decimal) -> Decimal:
        return (v * ESTIMATE_FACTOR).quantize(TEN_PLACES)

    return replace(it, billed_cost=f(it.billed_cost), effective_cost=f(it.effective_cost),
                   list_cost=f(it.list_cost), contracted_cost=f(it.contracted_cost))


def _export_name(sub_name: str) -> str:
    return f"aml-finops-focus-{sub_name}"


def _twice_delivered(tenant: Tenant) -> date:
    return tenant.months[-2] if len(tenant.months) >= 2 else tenant.months[0]


def write_exports(tenant: Tenant, out_dir: Path, schema: str = "focus-1.2",
                  rows_per_part: int = DEFAULT_ROWS_PER_PART) -> ExportSummary:
    """Write the tenant's cost exports under `<out_dir>/exports` and return the ground truth.

    `rows_per_part` is Azure's part size (about a million rows); tests lower it to see splits.
    """
    if schema not in SCHEMAS:
        raise ValueError(f"unknown export schema {schema!r}; expected one of {', '.join(SCHEMAS)}")
    if rows_per_part < 1:
        raise ValueError("rows_per_part must be at least 1")
    out_dir = Path(out_dir)
    root = out_dir / EXPORT_ROOT
    summary = ExportSummary(root=root, schema=schema, months={}, runs=[], files=[])
    twice = _twice_delivered(tenant)
    for month in tenant.months:
        if schema == "focus-1.2":
            if month == twice:
                _write_focus_month(tenant, month, root, rows_per_part, summary, partial=True)
            _write_focus_month(tenant, month, root, rows_per_part, summary, partial=False)
        else:
            _write_ea_month(tenant, month, root, rows_per_part, summary)
    return summary


def _truth_add(month_truth: MonthTruth, it: LineItem) -> None:
    truth = month_truth.currencies.setdefault(it.currency, CurrencyTruth(it.currency))
    eff, billed = truth.projects.get(it.true_project, (Decimal(0), Decimal(0)))
    truth.projects[it.true_project] = (eff + it.effective_cost, billed + it.billed_cost)
    truth.effective_total += it.effective_cost
    truth.billed_total += it.billed_cost
    truth.line_items += 1
    key = (it.true_aml_kind, it.true_aml_name)
    truth.aml[key] = truth.aml.get(key, Decimal(0)) + it.effective_cost


def _run_times(month: date, partial: bool) -> datetime:
    if partial:
        return datetime(month.year, month.month, 16, 4, 12, 31)
    nxt = add_months(month, 1)
    return datetime(nxt.year, nxt.month, 2, 5, 47, 9)


def _write_focus_month(tenant: Tenant, month: date, root: Path, rows_per_part: int,
                       summary: ExportSummary, partial: bool) -> None:
    renderer = _FocusRenderer(tenant, month)
    header = ",".join(FOCUS_1_2_COLUMNS) + "\n"
    submitted = _run_times(month, partial)
    kind = "mtd" if partial else "final"
    writers: dict[str, tuple[str, str, Path, _Writer]] = {}
    for sub in tenant.subscriptions:
        name = _export_name(sub.name)
        run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"aml-finops-demo/{tenant.seed}/run/{name}/{month}/{kind}"))
        rel_folder = f"{EXPORT_ROOT}/{name}/{_range_folder(month)}/{run_id}"
        folder = root.parent / rel_folder
        writers[sub.id] = (name, run_id, folder, _Writer(folder, header, rows_per_part))
    truth = MonthTruth(month=month) if not partial else None
    last_day = month.replace(day=15) if partial else _month_end(month)
    for it in line_items(tenant, month):
        if it.charge_date > last_day:
            continue
        if partial:
            it = _estimate(it)
        else:
            _truth_add(truth, it)  # type: ignore[arg-type]
        writers[it.subscription.id][3].write(renderer.line(it))
    for sub in tenant.subscriptions:
        name, run_id, folder, writer = writers[sub.id]
        parts = writer.close()
        blobs = []
        for path, rows in parts:
            blobs.append({
                "blobName": path.relative_to(root.parent).as_posix(),
                "byteCount": path.stat().st_size,
                "dataRowCount": rows,
            })
        manifest = {
            "manifestVersion": MANIFEST_VERSION,
            "byteCount": sum(b["byteCount"] for b in blobs),
            "blobCount": len(blobs),
            "dataRowCount": sum(b["dataRowCount"] for b in blobs),
            "exportConfig": {
                "exportName": name,
                "resourceId": f"/subscriptions/{sub.id}/providers/Microsoft.CostManagement/exports/{name}",
                "dataVersion": FOCUS_DATA_VERSION,
                "apiVersion": "2025-03-01",
                "type": "FocusCost",
                "timeFrame": "MonthToDate" if partial else "TheLastMonth",
                "granularity": "Daily",
            },
            "deliveryConfig": {
                "partitionData": True,
                "dataOverwriteBehavior": "CreateNewReport",
                "fileFormat": "Csv",
                "compressionMode": "None",
                "containerUri": (f"/subscriptions/{tenant.subscriptions[0].id}/resourceGroups/rg-finops"
                                 "/providers/Microsoft.Storage/storageAccounts/stfinopsexports"),
                "rootFolderPath": EXPORT_ROOT,
            },
            "runInfo": {
                "executionType": "Scheduled",
                "submittedTime": submitted.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
                "runId": run_id,
                "startDate": f"{month.isoformat()}T00:00:00",
                "endDate": f"{(month.replace(day=15) if partial else _month_end(month)).isoformat()}T00:00:00",
            },
            "blobs": blobs,
        }
        manifest_path = folder / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        part_paths = tuple(p for p, _ in parts)
        summary.files.extend([manifest_path, *part_paths])
        summary.runs.append(WrittenRun(name, month, run_id, submitted, not partial, folder, manifest_path,
                                       part_paths, manifest["dataRowCount"]))
    if truth is not None:
        summary.months[month] = truth


def _write_ea_month(tenant: Tenant, month: date, root: Path, rows_per_part: int,
                    summary: ExportSummary) -> None:
    renderer = _EaRenderer(tenant, month)
    header = ",".join(EA_AMORTIZED_COLUMNS) + "\n"
    writers: dict[str, tuple[str, Path, _Writer]] = {}
    for sub in tenant.subscriptions:
        name = f"aml-finops-ea-amortized-{sub.name}"
        folder = root / name / _range_folder(month)
        writers[sub.id] = (name, folder, _Writer(folder, header, rows_per_part))
    truth = MonthTruth(month=month)
    for it in line_items(tenant, month):
        _truth_add(truth, it)
        writers[it.subscription.id][2].write(renderer.line(it))
    for sub in tenant.subscriptions:
        name, folder, writer = writers[sub.id]
        parts = writer.close()
        part_paths = tuple(p for p, _ in parts)
        summary.files.extend(part_paths)
        summary.runs.append(WrittenRun(name, month, None, _run_times(month, False), True, folder, None,
                                       part_paths, sum(r for _, r in parts)))
    summary.months[month] = truth
