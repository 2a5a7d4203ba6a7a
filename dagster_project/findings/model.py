"""What a finding is made of: its published schema (from the table catalog), the inputs the rules read, a resource's month
of cost and hours (`Usage`), and the two ways a finding saves money (`stop_savings`,
`delete_savings`).

Savings come from what Azure actually billed for the resource in the month (the cost attribution
ties workspace-level rows to computes and deployments), never from list prices. Where no cost can
be tied to a resource the finding is *hygiene* with zero savings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from dagster_project.catalog import polars_schema
from dagster_project.money import CENT

# The published `findings` columns, from the table catalog (dagster_project/catalog/tables/findings.toml).
FINDINGS_SCHEMA = polars_schema("findings")
ZERO = Decimal(0)


def finding_id(rule_id: str, resource_id: str, version: str | None = None) -> str:
    """Stable across runs: a hash of the rule and the lowercased resource id (and version)."""
    text = f"{rule_id}|{resource_id.lower()}" + (f"|{version}" if version else "")
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class FindingInputs:
    """Everything the rules read. Frames use the column names of the published tables."""

    billing_month: date
    captured_at: datetime
    # The month's main currency: the currency of a finding with no cost of its own in a workspace
    # without spend (a finding's savings are in the currency of the cost they come from).
    currency: str
    workspaces: pl.DataFrame
    computes: pl.DataFrame
    asset_versions: pl.DataFrame
    endpoints: pl.DataFrame
    deployments: pl.DataFrame
    jobs: pl.DataFrame
    # Cost and hours of the month per Azure ML resource: workspace_id, aml_kind, aml_name,
    # billing_currency, effective_cost, usage_hours (running hours) and, when known, running_cost,
    # committed_cost, committed_hours (aml_resource_usage).
    resource_usage: pl.DataFrame
    # cost_allocation rows of the month.
    allocation: pl.DataFrame


@dataclass(frozen=True)
class Usage:
    """One resource's month in one currency."""

    currency: str
    cost: Decimal = ZERO  # everything billed for it
    hours: Decimal = ZERO  # running hours
    running_cost: Decimal = ZERO  # what a stop ends (not its disks, load balancer, public IP)
    committed_cost: Decimal = ZERO  # covered by a reservation / savings plan
    committed_hours: Decimal = ZERO

    @property
    def after_stop_cost(self) -> Decimal:
        return self.cost - self.running_cost

    @property
    def cash_hours(self) -> Decimal:
        return max(ZERO, self.hours - self.committed_hours)

    @property
    def cash_running_cost(self) -> Decimal:
        return max(ZERO, self.running_cost - self.committed_cost)

    @property
    def on_demand_rate(self) -> Decimal | None:
        return self.cash_running_cost / self.cash_hours if self.cash_hours > 0 else None

    def evidence(self) -> dict:
        """The month's cost and hours as a finding's evidence states them."""
        evidence = {"month_cost": str(self.cost), "billed_hours": str(self.hours)}
        if self.committed_cost or self.committed_hours:
            evidence.update({"commitment_covered_cost": str(self.committed_cost),
                             "commitment_covered_hours": str(self.committed_hours)})
        return evidence


@dataclass(frozen=True)
class Savings:
    """What a finding saves in cash, and the reserved hours it frees instead."""

    cash: Decimal
    freed_hours: Decimal
    basis: str | None


@dataclass(frozen=True)
class Proposal:
    """One finding as a rule states it; the engine adds its owner, project, currency, severity
    and id (`FindingsContext.add`)."""

    rule_id: str
    resource_id: str
    resource_name: str
    workspace_id: str | None
    tags: object
    owner_fallback: str | None
    savings: Decimal | Savings
    evidence: dict = field(default_factory=dict)
    action: str = ""
    command: str = ""
    version: str | None = None
    usage: Usage | None = None
    owner: str | None = None


def rate_text(rate: Decimal | None) -> str | None:
    return str(rate.quantize(Decimal("0.0001"))) if rate is not None else None


def hours_text(hours: Decimal) -> str:
    """Hours as evidence states them: to 0.01 h (context rounding, as the published findings have it)."""
    return str(hours.quantize(CENT))


def stop_savings(u: Usage, hours_removed: Decimal, basis: str) -> Savings:
    """Savings of running `hours_removed` fewer hours. A commitment keeps billing whether or not
    its hours are used, so removed hours are first taken from the on-demand ones (cash, at the
    observed on-demand rate) and only the rest from committed ones (freed hours, not cash)."""
    hours_removed = max(ZERO, min(hours_removed, u.hours))
    cash_hours = min(hours_removed, u.cash_hours)
    rate = u.on_demand_rate
    cash = cash_hours * rate if rate is not None else ZERO
    freed = hours_removed - cash_hours
    return Savings(cash, freed, _basis(basis, cash, freed))


def delete_savings(u: Usage, basis: str) -> Savings:
    """Savings of deleting the resource: all its cost, except what a commitment covered."""
    cash = max(ZERO, u.cost - u.committed_cost)
    return Savings(cash, u.committed_hours, _basis(basis, cash, u.committed_hours))


def _basis(basis: str, cash: Decimal, freed: Decimal) -> str | None:
    """How the savings were computed; None when there is nothing to save (the hygiene text)."""
    if freed <= 0:
        return basis if cash > 0 else None
    freed_text = (f"{hours_text(freed)} h covered by a reservation or savings plan are freed, not cash "
                  "(the commitment bills them whether used or not)")
    if cash > 0:
        return f"{basis}; {freed_text}"
    return f"{basis}: all of it commitment-covered, so 0 in cash; {freed_text}"
