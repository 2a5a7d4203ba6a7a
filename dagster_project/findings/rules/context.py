"""What every rule reads: the month's inventory and usage, looked up once, and `add`, which turns
a rule's `Proposal` into a published finding row (owner, project, currency, capped savings,
severity, id). Ages count back from the inventory's `captured_at`, never from the wall clock, so
replaying an old snapshot gives the same findings."""

from __future__ import annotations

import calendar
import json
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import cached_property

import polars as pl

from dagster_project.attribution.resolve import Resolver
from dagster_project.config import FinopsConfig
from dagster_project.findings.model import (
    ZERO,
    FindingInputs,
    Proposal,
    Savings,
    Usage,
    finding_id,
    hours_text,
)
from dagster_project.findings.rules.registry import REGISTRY
from dagster_project.money import CENT, round_cents


class FindingsContext:
    def __init__(self, config: FinopsConfig, resolver: Resolver, inputs: FindingInputs):
        self.config = config
        self.t = config.findings
        self.resolver = resolver
        self.inputs = inputs
        self.now: datetime = inputs.captured_at
        self.ws_names = {r["workspace_id"]: r["workspace_name"] for r in inputs.workspaces.iter_rows(named=True)}
        self.usage = _usage_index(inputs.resource_usage)
        self.ws_currency = _workspace_currencies(inputs.allocation)
        month = inputs.billing_month
        self.month_days = calendar.monthrange(month.year, month.month)[1]
        self.month_start = datetime(month.year, month.month, 1, tzinfo=self.now.tzinfo)
        self.month_end = self.month_start + timedelta(days=self.month_days)
        self.rows: list[dict] = []
        self._memo: dict[str, object] = {}

    # -- lookups ---------------------------------------------------------------------------------

    def currency_of(self, workspace_id: str | None) -> str:
        return self.ws_currency.get(workspace_id or "", self.inputs.currency)

    def usage_of(self, workspace_id: str, kind: str, name: str) -> Usage:
        """The resource's month in the currency it was billed in (its largest, should there be two)."""
        found = self.usage.get((workspace_id, kind, name.lower()), [])
        if not found:
            return Usage(self.currency_of(workspace_id))
        return sorted(found, key=lambda u: (-abs(u.cost), u.currency))[0]

    def memo(self, key: str, build):
        """What several rules of a family share (its resources with their usage), built once."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def older_than(self, moment: datetime | None, days: int) -> bool:
        return moment is not None and self.now - moment > timedelta(days=days)

    @cached_property
    def compute_instances(self) -> pl.DataFrame:
        return self.inputs.computes.filter(pl.col("compute_type") == "ComputeInstance")

    @cached_property
    def clusters(self) -> pl.DataFrame:
        return self.inputs.computes.filter(pl.col("compute_type") == "AmlCompute")

    # -- a proposal becomes a row ------------------------------------------------------------------

    def severity(self, savings: Decimal, rule_id: str) -> str:
        if savings >= self.t.severity_high:
            return "high"
        if savings >= self.t.severity_medium:
            return "medium"
        return REGISTRY[rule_id].min_severity

    def add(self, p: Proposal) -> None:
        who = self.resolver.resolve_resource(p.resource_id, p.workspace_id, p.tags, p.owner_fallback, p.owner)
        usage = p.usage
        currency = usage.currency if usage is not None else self.currency_of(p.workspace_id)
        evidence, savings = p.evidence, p.savings
        if isinstance(savings, Savings):
            freed = savings.freed_hours
            if savings.basis:
                evidence = {**evidence, "savings_basis": savings.basis}
            if freed > 0:
                evidence = {**evidence, "freed_commitment_hours": hours_text(freed)}
            savings = savings.cash
        # Never more than the resource's own cost in the month.
        cap = max(ZERO, usage.cost) if usage is not None else None
        if cap is not None:
            savings = min(savings, cap)
        savings = round_cents(savings) if savings > 0 else Decimal("0.00")
        if cap is not None and savings > cap:  # rounding to the cent must not overshoot the cost
            savings = cap.quantize(CENT, rounding=ROUND_DOWN)
        evidence = {**evidence, "savings_basis": evidence.get("savings_basis") or "hygiene: no cost tied to it",
                    "currency": currency}
        self.rows.append({
            "billing_month": self.inputs.billing_month,
            "finding_id": finding_id(p.rule_id, p.resource_id, p.version),
            "rule_id": p.rule_id,
            "category": REGISTRY[p.rule_id].category,
            "severity": self.severity(savings, p.rule_id),
            "workspace": self.ws_names.get(p.workspace_id or "", None),
            "resource_id": p.resource_id.lower(),
            "resource_name": p.resource_name,
            "project": who["project"],
            "owner": who["owner"],
            "evidence": json.dumps(evidence, sort_keys=True, default=str),
            "savings": savings,
            "currency": currency,
            "action": p.action,
            "command": p.command,
            "first_seen": self.now,
            "last_seen": self.now,
            "status": "open",
            "suppression_reason": None,
        })


def _usage_index(resource_usage: pl.DataFrame) -> dict[tuple[str, str, str], list[Usage]]:
    """(workspace, kind, lowercased name) → the resource's month per currency."""
    index: dict[tuple[str, str, str], list[Usage]] = {}
    columns = resource_usage.columns
    for r in resource_usage.iter_rows(named=True):
        cost = r["effective_cost"] or ZERO
        u = Usage(
            currency=r["billing_currency"], cost=cost, hours=r["usage_hours"] or ZERO,
            running_cost=(r["running_cost"] if "running_cost" in columns and r["running_cost"] is not None
                          else cost),
            committed_cost=(r.get("committed_cost") or ZERO) if "committed_cost" in columns else ZERO,
            committed_hours=(r.get("committed_hours") or ZERO) if "committed_hours" in columns else ZERO,
        )
        index.setdefault((r["workspace_id"], r["aml_kind"], (r["aml_name"] or "").lower()), []).append(u)
    return index


def _workspace_currencies(alloc: pl.DataFrame) -> dict[str, str]:
    """The currency a workspace is billed in (its largest), for findings with no cost of their own."""
    currencies: dict[str, str] = {}
    if alloc.height and "workspace_id" in alloc.columns:
        per = alloc.filter(pl.col("workspace_id").is_not_null()).group_by("workspace_id", "billing_currency").agg(
            pl.col("effective_cost").abs().sum().alias("spend")).sort(
            ["workspace_id", "spend", "billing_currency"], descending=[False, True, False])
        for r in per.iter_rows(named=True):
            currencies.setdefault(r["workspace_id"], r["billing_currency"])
    return currencies
