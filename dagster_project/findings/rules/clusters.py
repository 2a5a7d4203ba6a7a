"""Cluster (AmlCompute) rules: warm nodes, slow scale-down, unused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import polars as pl

from dagster_project.findings.commands import q, workspace_args
from dagster_project.findings.model import (
    ZERO,
    Proposal,
    delete_savings,
    hours_text,
    rate_text,
    stop_savings,
)
from dagster_project.findings.rules.compute_instances import Compute, delete_compute_command
from dagster_project.findings.rules.context import FindingsContext
from dagster_project.findings.rules.registry import rule


@dataclass(frozen=True)
class Cluster(Compute):
    jobs: pl.DataFrame  # every job that ran on it
    jobs_in_month: pl.DataFrame  # the jobs that started in the month
    job_hours: Decimal  # their hours


def clusters(ctx: FindingsContext) -> list[Cluster]:
    return ctx.memo("clusters", lambda: list(_clusters(ctx)))


def _clusters(ctx: FindingsContext) -> Iterator[Cluster]:
    jobs = ctx.inputs.jobs
    for k in ctx.clusters.iter_rows(named=True):
        ws, name = k["workspace_id"], k["compute_name"]
        mine = jobs.filter((pl.col("workspace_id") == ws) & (pl.col("compute_name").str.to_lowercase() == name.lower()))
        in_month = mine.filter(pl.col("start_time").is_not_null() & (pl.col("start_time") >= ctx.month_start)
                               & (pl.col("start_time") < ctx.month_end))
        job_hours = ZERO
        for j in in_month.iter_rows(named=True):
            if j["end_time"] and j["start_time"]:
                job_hours += Decimal(int((j["end_time"] - j["start_time"]).total_seconds())) / 3600
        yield Cluster(k, ctx.usage_of(ws, "compute", name), ctx.resolver.resource_owner(ws, "compute", name),
                      mine, in_month, job_hours)


def scale_to_zero_command(compute_id: str, name: str) -> str:
    return f"az ml compute update --name {q(name)} {workspace_args(compute_id)} --min-instances 0"


@rule("cluster_warm_nodes", "idle_compute", "Cluster keeps warm nodes")
def warm_nodes(ctx: FindingsContext) -> Iterator[Proposal]:
    for k in clusters(ctx):
        if (k.row["min_nodes"] or 0) <= 0:
            continue
        u = k.usage
        idle_hours = max(ZERO, u.hours - k.job_hours)
        yield k.proposal("cluster_warm_nodes", stop_savings(
            u, idle_hours, "idle node-hours (billed minus job hours) × observed on-demand rate"), {
            "min_nodes": k.row["min_nodes"], "billed_node_hours": str(u.hours),
            "job_hours": hours_text(k.job_hours),
            "observed_hourly_rate": rate_text(u.on_demand_rate),
        }, "Let the cluster scale to zero nodes when idle.", scale_to_zero_command(k.id, k.name))


def scaledown_command(compute_id: str, name: str, idle_seconds: int) -> str:
    return (f"az ml compute update --name {q(name)} {workspace_args(compute_id)} "
            f"--idle-time-before-scale-down {idle_seconds}")


@rule("cluster_slow_scaledown", "idle_compute", "Cluster slow to scale down")
def slow_scaledown(ctx: FindingsContext) -> Iterator[Proposal]:
    t = ctx.t
    for k in clusters(ctx):
        idle_s = k.row["idle_seconds_before_scaledown"]
        if idle_s is None or idle_s <= t.cluster_idle_seconds_max:
            continue
        u = k.usage
        excess_h = Decimal(idle_s - t.cluster_recommended_idle_seconds) / 3600
        n_jobs = k.jobs_in_month.height
        yield k.proposal("cluster_slow_scaledown", stop_savings(
            u, Decimal(n_jobs) * excess_h, "jobs × excess idle time × observed on-demand rate"), {
            "idle_seconds_before_scaledown": idle_s, "jobs_this_month": n_jobs,
            "observed_hourly_rate": rate_text(u.on_demand_rate),
        }, f"Scale down after {t.cluster_recommended_idle_seconds} s of idleness.",
            scaledown_command(k.id, k.name, t.cluster_recommended_idle_seconds))


@rule("cluster_unused", "idle_compute", "Cluster unused")
def unused(ctx: FindingsContext) -> Iterator[Proposal]:
    days = ctx.t.cluster_unused_days
    for k in clusters(ctx):
        if k.jobs.filter(pl.col("created_on") >= ctx.now - timedelta(days=days)).height:
            continue
        last = k.jobs["created_on"].max() if k.jobs.height else None
        yield k.proposal("cluster_unused", delete_savings(k.usage, "its cost this month"), {
            "jobs_in_window": 0, "window_days": days, "last_job": last.isoformat() if last else None,
        }, "Delete this cluster if nobody uses it.", delete_compute_command(k.id, k.name))
