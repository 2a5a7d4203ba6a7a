"""Cost tables: what the cost exports asset (`cost_exports`) stages for a month."""

from __future__ import annotations

from dagster_project.catalog.model import Column, Table
from dagster_project.catalog.types import AMOUNT, BIGINT, DATE, INTEGER, TEXT, TIMESTAMP

COST_LINE_ITEMS_COLUMNS = (
    Column('billing_month', DATE, 'partition: first day of the billing month', required=True),
    Column('charge_period_start', TIMESTAMP, 'start of the charge period (UTC)', required=True),
    Column('charge_period_end', TIMESTAMP, 'end of the charge period (UTC)'),
    Column('billed_cost', AMOUNT, 'what the invoice bills (FOCUS BilledCost; commitment purchases here)', required=True),
    Column('effective_cost', AMOUNT, 'amortized cost, the basis of chargeback (FOCUS EffectiveCost; purchases 0)', required=True),
    Column('list_cost', AMOUNT, 'list price cost'),
    Column('billing_currency', TEXT, 'ISO currency', required=True),
    Column('charge_category', TEXT, 'FOCUS charge category: Usage / Purchase / Credit / Adjustment / Tax'),
    Column('charge_class', TEXT, 'FOCUS charge class: `Correction` or null'),
    Column('resource_id', TEXT, 'ARM id, **lowercase** (empty for charges with no resource)'),
    Column('resource_name', TEXT, 'as exported'),
    Column('resource_type', TEXT, 'as exported'),
    Column('service_name', TEXT, 'as exported'),
    Column('sub_account_id', TEXT, 'subscription GUID'),
    Column('resource_group', TEXT, 'lowercase'),
    Column('region', TEXT, 'region id'),
    Column('meter_category', TEXT, 'meter category'),
    Column('charge_description', TEXT, 'meter / charge description'),
    Column('consumed_quantity', AMOUNT, 'usage quantity'),
    Column('consumed_unit', TEXT, 'unit of the usage quantity'),
    Column('tags', TEXT, "JSON object text: the row's tags as exported (EA brace-less tags repaired); `{}` when none", required=True),
    Column('additional_info', TEXT, 'JSON text: AdditionalInfo / x_SkuDetails (e.g. `ServiceType` = VM size)'),
    Column('source_schema', TEXT, 'e.g. `focus-1.2`, `ea-amortized`', required=True),
    Column('source_file', TEXT, 'path of the file relative to the folder given as the export source (a container copy, the export root, …)', required=True),
    Column('source_row', BIGINT, '1-based data row in that file (header not counted)', required=True),
    Column('repairs', TEXT, "*(version 1.1)* the repairs applied to this row, comma-separated codes in this order: `tags_braces` (EA tags without braces), `date_mdy` (`MM/DD/YYYY` or `M/D/YYYY` date), `null_literal` (a field read held the text `NULL`), `scientific` (an amount in scientific notation), `id_case` (resource / subscription id or resource group lowercased), `long_decimal` (more than 10 fraction digits, rounded half away from zero); `''` when none", required=True, default="''"),
    Column('sku_meter', TEXT, '*(version 1.2)* the meter name: FOCUS `x_SkuMeterName` (1.0) / `SkuMeter` (1.2), EA/MCA `MeterName` (e.g. `D11 v2/DS11 v2`)'),
    Column('commitment_discount_id', TEXT, '*(version 1.2)* the reservation or savings plan the row belongs to (usage it covered, its unused part, its purchase): FOCUS `CommitmentDiscountId`, EA/MCA `benefitId`, else `ReservationId`; null otherwise'),
    Column('commitment_discount_name', TEXT, '*(version 1.2)* its name: FOCUS `CommitmentDiscountName`, EA/MCA `benefitName`, else `ReservationName`; null otherwise'),
    Column('commitment_discount_type', TEXT, '*(version 1.2)* `Reservation` or `Savings Plan` (FOCUS `CommitmentDiscountType`; EA/MCA from `PricingModel` / `ChargeType`)'),
    Column('commitment_discount_status', TEXT, '*(version 1.2)* `Used` (usage the commitment covered) or `Unused` (its unused hours: FOCUS `CommitmentDiscountStatus`, EA/MCA `ChargeType` `UnusedReservation` / `UnusedSavingsPlan`); null for purchases and on-demand rows'),
    Column('cost_allocation_rule_name', TEXT, '*(version 1.2)* the Cost Management cost allocation rule that moved this row (FOCUS `x_CostAllocationRuleName`, EA/MCA `CostAllocationRuleName`), as delivered'),
)

COST_REJECTS_COLUMNS = (
    Column('source_file', TEXT, 'file, relative to the folder given as the export source', required=True),
    Column('source_row', BIGINT, '1-based data row', required=True),
    Column('reason', TEXT, 'why it was rejected (e.g. `bad EffectiveCost: abc`, `unparseable line: 11 fields, the header has 10`)', required=True),
    Column('raw', TEXT, 'the row as read, as JSON (column → text); for an unparseable line, the line as it was'),
    Column('billing_month', DATE, 'the month being loaded (so re-loading a month replaces its rejects)', required=True),
)

EXPORT_RUNS_COLUMNS = (
    Column('billing_month', DATE, 'the month', required=True),
    Column('export_name', TEXT, "`exportConfig.exportName` (else the export's folder name)", required=True),
    Column('export_folder', TEXT, "the export's folder, relative to the root read (runs are grouped by it)"),
    Column('run_id', TEXT, '`runInfo.runId` (else the run folder); null for a skipped run'),
    Column('submitted_time', TIMESTAMP, "`runInfo.submittedTime`, UTC (the newest file's time for a manifest-less run)"),
    Column('export_type', TEXT, '`FocusCost`, `ActualCost`, `AmortizedCost`, …'),
    Column('data_version', TEXT, "the manifest's `dataVersion`"),
    Column('manifest', TEXT, 'the manifest (or folder), relative to the root read'),
    Column('status', TEXT, '`loaded` (the run that counts), `superseded` (a newer complete run counts), `skipped` (incomplete or unreadable)', required=True),
    Column('files', INTEGER, 'data files the manifest lists', required=True),
    Column('line_items', BIGINT, 'rows loaded from it (`loaded` only)'),
    Column('rejected_rows', BIGINT, 'rows of it in `cost_rejects` (`loaded` only)'),
    Column('note', TEXT, 'why a run was superseded or skipped'),
)
TABLES = (
    Table("cost_line_items", "One row per export data row that parsed, from the newest complete export run per "
          "export and month, normalized to FOCUS names whatever the source schema.",
          COST_LINE_ITEMS_COLUMNS, kind="monthly", asset="cost_line_items"),
    Table("cost_rejects", "Export rows that could not be parsed, with file, 1-based data row and reason: never "
          "silently dropped.", COST_REJECTS_COLUMNS, kind="monthly", asset="cost_rejects"),
    Table("export_runs", "The Cost Management export runs behind each month (loaded, superseded, skipped, with "
          "the reason): provenance for the packs.", EXPORT_RUNS_COLUMNS, kind="monthly", asset="export_runs"),
)
