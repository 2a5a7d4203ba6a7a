"""Attribution tables: every cent of a month to a project, owner and cost center, and its rollups."""

from __future__ import annotations

from dagster_project.catalog.model import Column, Table
from dagster_project.catalog.types import AMOUNT, DATE, PERCENT, TEXT

COST_ALLOCATION_COLUMNS = (
    Column('billing_month', DATE, 'partition: first day of the billing month', required=True),
    Column('billing_currency', TEXT, 'ISO currency of the amounts', required=True),
    Column('resource_id', TEXT, 'lowercase ARM id the cost was billed on (the workspace for AML compute and endpoints)'),
    Column('workspace_id', TEXT, 'the Azure ML workspace it belongs to (also for its storage, registry, key vault, insights), else null'),
    Column('aml_kind', TEXT, '`compute`, `endpoint`, `workspace` (workspace-level, not tied to one compute), `dependency` (storage / registry / key vault / insights of a workspace), `other` (not Azure ML)', required=True),
    Column('aml_name', TEXT, 'compute name, `endpoint/deployment`, workspace name or dependency name'),
    Column('project', TEXT, 'normalized project, or an explicit project: `(unallocated)`, `(unused commitment)`, `(commitment purchases)` *(version 1.4; names configurable in `attribution.commitments`)*', required=True),
    Column('owner', TEXT, 'first found along the same chain; rows of an Azure ML compute or deployment take *its* one owner (its owner tag along its chain, then its assigned user, then its creator), the owner its findings name'),
    Column('cost_center', TEXT, 'first found along the same chain as the project'),
    Column('allocation_method', TEXT, 'which rule decided the project (the allocation methods, below)', required=True),
    Column('allocation_rule', TEXT, "the explanation, e.g. `workspace mlw-fraud-prod tag 'project' (via compute ci-alice-dev (only ComputeInstance of size Standard_DS11_v2; tag ComputeType 'Compute Instance' = ComputeInstance; size from charge description '…'))`; it ends with `; covered by Reservation '<name>'`, `; moved by Cost Management allocation rule '<name>'` or `; repair: row tag 'project' is a JSON array, not a value, ignored` when those apply", required=True),
    Column('effective_cost', AMOUNT, 'the allocated amortized cost', required=True),
    Column('billed_cost', AMOUNT, 'the allocated billed cost', required=True),
)

AML_RESOURCE_USAGE_COLUMNS = (
    Column('billing_month', DATE, 'partition: first day of the billing month', required=True),
    Column('billing_currency', TEXT, 'ISO currency of the amounts', required=True),
    Column('workspace_id', TEXT, 'the Azure ML workspace'),
    Column('aml_kind', TEXT, 'as in `cost_allocation`', required=True),
    Column('aml_name', TEXT, 'as in `cost_allocation`'),
    Column('effective_cost', AMOUNT, "the resource's effective cost of the month", required=True),
    Column('usage_hours', AMOUNT, 'running hours: hourly meters other than disks, load balancers and public IPs', required=True),
    Column('running_cost', AMOUNT, 'what a stop ends (not disks, load balancers, public IPs)', required=True, default='0'),
    Column('committed_cost', AMOUNT, 'cost a reservation or savings plan covered', required=True, default='0'),
    Column('committed_hours', AMOUNT, 'hours a reservation or savings plan covered', required=True, default='0'),
)

PROJECT_SPEND_MONTHLY_COLUMNS = (
    Column('billing_month', DATE, 'partition: first day of the billing month', required=True),
    Column('billing_currency', TEXT, 'ISO currency; one row per project and currency', required=True),
    Column('project', TEXT, 'the project (or an explicit project, see `cost_allocation.project`)', required=True),
    Column('effective_cost', AMOUNT, "the project's effective cost of the month", required=True),
    Column('billed_cost', AMOUNT, "the project's billed cost of the month", required=True),
    Column('previous_effective_cost', AMOUNT, "the project's effective cost the month before (null if none)"),
    Column('change_pct', PERCENT, 'month over month change, % (null without a previous month)'),
    Column('share_pct', PERCENT, "share of the month's total in that currency, %"),
)
TABLES = (
    Table("cost_allocation", "Every cent of `cost_line_items`, allocated to a project, owner and cost center with "
          "the method and rule that decided it.", COST_ALLOCATION_COLUMNS, kind="monthly", asset="cost_allocation"),
    Table("aml_resource_usage", "Cost and billed hours per Azure ML resource and month, the basis of savings.",
          AML_RESOURCE_USAGE_COLUMNS, kind="monthly", asset="cost_allocation", contract=False),
    Table("project_spend_monthly", "Spend per project and month, with the change from the previous month and "
          "the share of the month.", PROJECT_SPEND_MONTHLY_COLUMNS, kind="monthly", asset="project_spend_monthly"),
)
