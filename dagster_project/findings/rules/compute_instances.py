"""Compute instance rules: no idle shutdown, left running, stopped and abandoned."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from dagster_project.findings.commands import q, workspace_args
from dagster_project.findings.model import (
    ZERO,
    Proposal,
    Savings,
    Usage,
    delete_savings,
    hours_text,
    rate_text,
    stop_savings,
)
from dagster_project.findings.rules.context import FindingsContext
from dagster_project.findings.rules.registry import rule

IDLE_SHUTDOWN_API_VERSION = "2025-12-01"


@dataclass(frozen=True)
class Compute:
    """A compute (instance or cluster) with its month's usage and its one owner."""

    row: dict
    usage: Usage
    owner: str | None

    @property
    def id(self) -> str:
        return self.row["compute_id_original"]

    @property
    def name(self) -> str:
        return self.row["compute_name"]

    def proposal(self, rule_id: str, savings: Decimal | Savings, evidence: dict, action: str, command: str) -> Proposal:
        return Proposal(rule_id, self.id, self.name, self.row["workspace_id"], self.row["tags"],
                        self.row["created_by"], savings, {**self.usage.evidence(), **evidence}, action, command,
                        usage=self.usage, owner=self.owner)


@dataclass(frozen=True)
class Instance(Compute):
    @property
    def last_operation_time(self) -> datetime | None:
        return self.row["last_operation_time"]


def instances(ctx: FindingsContext) -> list[Instance]:
    return ctx.memo("compute_instances", lambda: list(_instances(ctx)))


def _instances(ctx: FindingsContext) -> Iterator[Instance]:
    for c in ctx.compute_instances.iter_rows(named=True):
        ws, name = c["workspace_id"], c["compute_name"]
        yield Instance(c, ctx.usage_of(ws, "compute", name), ctx.resolver.resource_owner(ws, "compute", name))


def idle_in_state(ctx: FindingsContext, state: str, days: int) -> Iterator[Instance]:
    """The instances in `state` whose last operation is older than `days`."""
    for ci in instances(ctx):
        if ci.row["state"] == state and ctx.older_than(ci.last_operation_time, days):
            yield ci


def _days_since(ctx: FindingsContext, moment: datetime | None) -> int | None:
    return (ctx.now - moment).days if moment else None


def set_idle_shutdown_command(compute_id: str) -> str:
    url = f"https://management.azure.com{compute_id}/updateIdleShutdownSetting?api-version={IDLE_SHUTDOWN_API_VERSION}"
    return f"az rest --method post --url {q(url)} --body {q(json.dumps({'idleTimeBeforeShutdown': 'PT60M'}))}"


@rule("ci_no_idle_shutdown", "idle_compute", "Compute instance without idle shutdown or stop schedule")
def no_idle_shutdown(ctx: FindingsContext) -> Iterator[Proposal]:
    for ci in instances(ctx):
        if ci.row["idle_shutdown"] or ci.row["stop_schedule_enabled"]:
            continue
        u = ci.usage
        work_hours = Decimal(ctx.t.work_hours_per_week) * ctx.month_days / 7
        excess = max(ZERO, u.hours - work_hours)
        saved = stop_savings(u, excess, "billed hours above a work schedule × observed on-demand hourly rate")
        yield ci.proposal("ci_no_idle_shutdown", saved, {
            "idle_shutdown": None, "stop_schedule_enabled": False, "state": ci.row["state"],
            "work_schedule_hours": hours_text(work_hours),
            "observed_hourly_rate": rate_text(u.on_demand_rate),
        }, "Set an idle shutdown (e.g. 60 minutes) on this compute instance.", set_idle_shutdown_command(ci.id))


def stop_compute_command(compute_id: str, name: str) -> str:
    return f"az ml compute stop --name {q(name)} {workspace_args(compute_id)}"


@rule("ci_left_running", "idle_compute", "Compute instance left running")
def left_running(ctx: FindingsContext) -> Iterator[Proposal]:
    for ci in idle_in_state(ctx, "Running", ctx.t.ci_left_running_days):
        last, u = ci.last_operation_time, ci.usage
        # A stop ends the VM hours; its disk, load balancer and public IP keep billing.
        saved = stop_savings(u, u.hours, "its running cost this month (run rate), without what keeps "
                                         "billing after a stop (disk, load balancer, public IP)")
        if u.hours == 0 and u.cash_running_cost > 0:
            saved = Savings(u.cash_running_cost, ZERO, "its running cost this month (run rate), without "
                                                      "what keeps billing after a stop")
        yield ci.proposal("ci_left_running", saved, {
            "state": "Running", "last_operation": ci.row["last_operation_name"],
            "last_operation_time": last.isoformat(), "days_since": _days_since(ctx, last),
            "cost_after_stop": str(u.after_stop_cost),
        }, "Stop this compute instance when it is not in use.", stop_compute_command(ci.id, ci.name))


def delete_compute_command(compute_id: str, name: str) -> str:
    return f"az ml compute delete --name {q(name)} {workspace_args(compute_id)} --yes"


@rule("ci_stopped_abandoned", "idle_compute", "Compute instance stopped and abandoned")
def stopped_abandoned(ctx: FindingsContext) -> Iterator[Proposal]:
    for ci in idle_in_state(ctx, "Stopped", ctx.t.ci_stopped_abandoned_days):
        last = ci.last_operation_time
        yield ci.proposal("ci_stopped_abandoned", delete_savings(ci.usage, "its residual (disk) cost this month"), {
            "state": "Stopped", "last_operation_time": last.isoformat(), "days_since": _days_since(ctx, last),
        }, "Delete this compute instance if nobody needs it.", delete_compute_command(ci.id, ci.name))
