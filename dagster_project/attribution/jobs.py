"""Job-level showback: a compute cluster's cost divided among the jobs that ran on it.

The policy (docs/tables.md, *Job-level showback*), for each compute cluster, month and currency:

* a job's **node-hours** in the month are (min(end, month end) − max(start, month start)) × its
  instance count (a job still running at the inventory capture runs until the capture);
* the **billed node-hours** are the consumed hours of the cluster's cost rows (running hours:
  hourly meters other than disks, load balancers and public IPs);
* each job's part is its node-hours over the billed node-hours, to the project of the job's own
  tags (the configured project keys, case-insensitive), else to the cluster's project;
* the **remainder** — billed minus job node-hours, when positive — is the idle line
  (`cluster_idle`), to the cluster's project or `attribution.job_showback.idle_project`;
* when the jobs ran more node-hours than were billed (clock skew, low-priority preemption) their
  parts are scaled to cover the whole cost and there is no idle line; a cluster without jobs is
  all idle.

Money stays exact: every cost row of a cluster (an *origin charge*) is divided by the largest
remainder method to the last digit of DECIMAL(38, 10), so the parts add up to it exactly and the
blocking reconciliation of `cost_allocation` still holds. This module imports nothing from Dagster.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext

import duckdb
import polars as pl

from dagster_project.attribution.methods import AllocationMethod
from dagster_project.attribution.resolve import Resolver, normalize_tags
from dagster_project.catalog import polars_schema
from dagster_project.config import FinopsConfig
from dagster_project.money import allocate
from dagster_project.sql import load_sql, relation_exists, sql_parameters

JOB_SPLIT = AllocationMethod.JOB_SPLIT.value
CLUSTER_IDLE = AllocationMethod.CLUSTER_IDLE.value
# FOCUS AllocatedMethodId of the split (one documented method for all its allocated charges).
FOCUS_METHOD_ID = "aml-finops/job-node-hours"
USAGE_UNIT = "NodeHours"
CLUSTER_TYPE = "AmlCompute"
PLACES = Decimal("1e-10")  # DECIMAL(38, 10): the last digit of every amount
RATIO_PLACES = Decimal("1e-12")
HOURS_PLACES = Decimal("1e-6")
SPLIT_COLUMNS = ("effective_cost", "billed_cost", "usage_hours", "running_cost", "committed_cost", "committed_hours")
ZERO = Decimal(0)
_PRECISION = 60

MONEY = pl.Decimal(38, 10)
PART_SCHEMA = pl.Schema({
    "billing_currency": pl.String, "resource_id": pl.String, "workspace_id": pl.String, "aml_kind": pl.String,
    "aml_name": pl.String, "project": pl.String, "owner": pl.String, "cost_center": pl.String,
    "allocation_method": pl.String, "allocation_rule": pl.String,
    **{c: MONEY for c in SPLIT_COLUMNS},
})


def _month_schema(table: str) -> pl.Schema:
    """A published table's columns without `billing_month` (the staging SQL adds it): the catalog's."""
    return pl.Schema({name: dtype for name, dtype in polars_schema(table).items() if name != "billing_month"})


JOB_COSTS_SCHEMA = _month_schema("job_costs")
FOCUS_SCHEMA = _month_schema("cost_allocation_focus")


# -- the split of one cluster ---------------------------------------------------------------------

@dataclass(frozen=True)
class Share:
    """One destination of a cluster's month: a job (`job_id`) or the idle line (`job_id` None)."""

    job_id: str | None
    node_seconds: Decimal  # the job's node-seconds in the month; the idle line's: billed minus jobs
    weight: Decimal  # its exact share of the cost (shares sum to 1)


def cluster_shares(billed_node_hours: Decimal, job_node_seconds: Sequence[tuple[str, int]]) -> list[Share]:
    """The policy's shares of one cluster's month: jobs by node-hours over the billed node-hours
    (the rest idle), scaled to the jobs' own total when they exceed it (no idle), all idle without
    jobs. Shares are exact fractions (to 60 digits) summing to 1; the idle share comes last."""
    jobs = [(job, int(seconds)) for job, seconds in job_node_seconds if seconds > 0]
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        billed_seconds = max(ZERO, billed_node_hours) * 3600
        total = Decimal(sum(seconds for _, seconds in jobs))
        if not jobs:
            return [Share(None, billed_seconds, Decimal(1))]
        if billed_seconds >= total:
            shares = [Share(job, Decimal(seconds), Decimal(seconds) / billed_seconds) for job, seconds in jobs]
            idle_seconds = billed_seconds - total
            if idle_seconds > 0:
                shares.append(Share(None, idle_seconds, idle_seconds / billed_seconds))
            return shares
        return [Share(job, Decimal(seconds), Decimal(seconds) / total) for job, seconds in jobs]


def split_amount(amount: Decimal, weights: Sequence[Decimal], unit: Decimal = PLACES) -> list[Decimal]:
    """`amount` divided by `weights` (summing to 1) into parts of `unit` that add up to it exactly
    (largest remainder: each part its exact share rounded down or up by less than one unit)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = [amount * w for w in weights]
    parts = allocate(exact, unit)
    # An amount of more digits than `unit` cannot be split exactly into units; the table's amounts
    # are DECIMAL(38, 10), so this is a guard, not a path.
    if sum(parts, ZERO) != amount:
        raise ArithmeticError(f"split of {amount} into {len(weights)} parts does not add up")
    return parts


def ratio_parts(weights: Sequence[Decimal]) -> list[Decimal]:
    """The weights rounded to 12 places so that they sum to exactly 1 (FOCUS AllocatedRatio)."""
    return allocate(list(weights), RATIO_PLACES)


def method_details(ratio: Decimal, node_hours: Decimal, method: str) -> str:
    """FOCUS AllocatedMethodDetails: one element with the ratio, the unit and quantity that drove
    it, written as JSON numbers from the decimals themselves (no binary float on the way)."""
    element = (f'{{"AllocatedRatio": {ratio:f}, "UsageQuantity": {node_hours:f}, '
               f'"UsageUnit": {json.dumps(USAGE_UNIT)}}}')
    return f'{{"Elements": [{element}], "x_Method": {json.dumps(method)}}}'



# -- the month ------------------------------------------------------------------------------------

@dataclass
class JobSplit:
    """The month's split: the allocation rows replacing the clusters' rows, job_costs, the FOCUS
    allocation, and the jobs no cluster cost could be given to (named, never silently dropped)."""

    parts: pl.DataFrame
    job_costs: pl.DataFrame
    focus: pl.DataFrame
    clusters: int = 0
    jobs: int = 0
    unpriced_jobs: list[str] = field(default_factory=list)


def _hours(seconds: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return (Decimal(seconds) / 3600).quantize(HOURS_PLACES)


def _origin_charge_id(month: date, currency: str, compute_id: str) -> str:
    return hashlib.sha256(f"{month.isoformat()}|{currency}|{compute_id.lower()}".encode()).hexdigest()[:20]


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


class _JobOwner:
    """Project, owner and cost center of a job's part: its own tags first (the configured keys,
    case-insensitive), else the cluster's project. The owner stays the cluster's (a resource has
    one owner, the one its findings name; who submitted the job is in job_costs)."""

    def __init__(self, config: FinopsConfig, resolver: Resolver):
        self.keys = config.tags
        self.resolver = resolver

    def _tag(self, tags: dict[str, str], keys: Sequence[str]) -> str | None:
        return next((tags[k] for k in keys if tags.get(k)), None)

    def of(self, job: dict, origin: dict) -> tuple[str, str | None, str | None, bool]:
        tags = normalize_tags(job.get("tags"))
        tagged = self._tag(tags, self.keys.project)
        project = self.resolver.normalize_project(tagged) if tagged else origin["project"]
        owner = origin["owner"]
        cost_center = self._tag(tags, self.keys.cost_center) or (
            origin["cost_center"] if project == origin["project"] else None)
        return project, owner, cost_center, bool(tagged)


def split_clusters(month: date, origins: pl.DataFrame, jobs: pl.DataFrame, config: FinopsConfig,
                   resolver: Resolver, compute_types: dict[tuple[str, str], str]) -> JobSplit:
    """Divide each cluster's origin charges (`job_cluster_origins`) among its jobs of the month
    (`job_node_seconds`) and its idle line. `compute_types`: (workspace id, lowercase compute
    name) → inventory compute type, to name the jobs whose compute is gone or billed nothing."""
    idle_project = config.attribution.job_showback.idle_project
    owner_of = _JobOwner(config, resolver)
    jobs_by_cluster: dict[tuple[str, str], list[dict]] = {}
    for job in jobs.iter_rows(named=True):
        jobs_by_cluster.setdefault((job["workspace_id"], job["compute_key"]), []).append(job)
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for origin in origins.sort("origin_id").iter_rows(named=True):
        groups.setdefault((origin["billing_currency"], origin["workspace_id"], origin["aml_name"].lower()),
                          []).append(origin)
    period_start, period_end = _month_bounds(month)
    part_rows: list[dict] = []
    cost_rows: list[dict] = []
    focus_rows: list[dict] = []
    priced: set[str] = set()
    for (currency, workspace_id, compute_key), rows in sorted(groups.items()):
        cluster_jobs = sorted(jobs_by_cluster.get((workspace_id, compute_key), []), key=lambda j: j["job_id"])
        by_id = {j["job_id"]: j for j in cluster_jobs}
        billed = sum((r["usage_hours"] or ZERO for r in rows), ZERO)
        shares = cluster_shares(billed, [(j["job_id"], j["node_seconds"]) for j in cluster_jobs])
        weights = [s.weight for s in shares]
        priced |= {s.job_id for s in shares if s.job_id}
        scaled = bool(cluster_jobs) and all(s.job_id for s in shares) and billed * 3600 < sum(
            s.node_seconds for s in shares)
        first = rows[0]
        name, compute_id = first["aml_name"], first["compute_id"]
        # Per destination: the sum over the origin rows (job_costs and FOCUS are per cluster).
        totals = [{"effective_cost": ZERO, "billed_cost": ZERO} for _ in shares]
        for origin in rows:
            split = {c: split_amount(origin[c] or ZERO, weights) for c in SPLIT_COLUMNS}
            grouped: dict[tuple, dict] = {}
            for i, share in enumerate(shares):
                totals[i]["effective_cost"] += split["effective_cost"][i]
                totals[i]["billed_cost"] += split["billed_cost"][i]
                if share.job_id is None:
                    project = idle_project or origin["project"]
                    key = (CLUSTER_IDLE, project, origin["owner"], origin["cost_center"])
                else:
                    project, owner, cost_center, _ = owner_of.of(by_id[share.job_id], origin)
                    key = (JOB_SPLIT, project, owner, cost_center)
                entry = grouped.setdefault(key, {"jobs": 0, "seconds": ZERO, **{c: ZERO for c in SPLIT_COLUMNS}})
                entry["jobs"] += share.job_id is not None
                entry["seconds"] += share.node_seconds
                for c in SPLIT_COLUMNS:
                    entry[c] += split[c][i]
            for (method, project, owner, cost_center), entry in grouped.items():
                if method == JOB_SPLIT:
                    rule = (f"{entry['jobs']} job{'s' if entry['jobs'] != 1 else ''} on cluster {name}: "
                            f"{_hours(entry['seconds'])} of {billed} billed node-hours"
                            f"{' (jobs ran more node-hours than billed: scaled to the whole cost)' if scaled else ''}"
                            f"; cluster by {origin['allocation_rule']}")
                else:
                    rule = (f"idle node-hours of cluster {name}: {_hours(entry['seconds'])} of {billed} billed"
                            f"{' (no job ran this month)' if not cluster_jobs else ''}"
                            f"; cluster by {origin['allocation_rule']}")
                part_rows.append({
                    "billing_currency": currency, "resource_id": origin["resource_id"], "workspace_id": workspace_id,
                    "aml_kind": "compute", "aml_name": name, "project": project, "owner": owner,
                    "cost_center": cost_center, "allocation_method": method, "allocation_rule": rule,
                    **{c: entry[c] for c in SPLIT_COLUMNS},
                })
        ratios = ratio_parts(weights)
        origin_effective = sum((r["effective_cost"] or ZERO for r in rows), ZERO)
        origin_billed = sum((r["billed_cost"] or ZERO for r in rows), ZERO)
        consumed = split_amount(billed, weights)
        charge_id = _origin_charge_id(month, currency, compute_id)
        cluster_tags = normalize_tags(first["compute_tags"])
        cluster_project = rows[0]["project"]
        for i, share in enumerate(shares):
            job = by_id.get(share.job_id) if share.job_id else None
            if job is None:
                project, method = idle_project or cluster_project, CLUSTER_IDLE
            else:
                project, method = owner_of.of(job, first)[0], JOB_SPLIT
            cost_rows.append({
                "billing_currency": currency, "workspace_id": workspace_id, "workspace_name": first["workspace_name"],
                "compute_id": compute_id, "compute_name": name,
                "job_id": share.job_id, "job_name": job["job_name"] if job else None,
                "experiment_name": job["experiment_name"] if job else None,
                "submitter": job["submitter"] if job else None, "project": project, "allocation_method": method,
                "node_hours": _hours(share.node_seconds), "billed_node_hours": billed, "allocated_ratio": ratios[i],
                "effective_cost": totals[i]["effective_cost"], "billed_cost": totals[i]["billed_cost"],
            })
            job_tags = {k: v for k, v in json.loads(job["tags"] or "{}").items()} if job else {}
            allocated_tags = {k: v for k, v in job_tags.items() if k.strip().lower() not in cluster_tags}
            focus_rows.append({
                "BillingPeriodStart": period_start, "BillingPeriodEnd": period_end,
                "ChargePeriodStart": period_start, "ChargePeriodEnd": period_end,
                "BillingCurrency": currency, "BilledCost": totals[i]["billed_cost"],
                "EffectiveCost": totals[i]["effective_cost"], "ChargeCategory": "Usage",
                "ChargeDescription": (f"Azure ML compute cluster {name}: job {job['job_name']}" if job else
                                      f"Azure ML compute cluster {name}: idle node-hours"),
                "ConsumedQuantity": consumed[i], "ConsumedUnit": "Hours",
                "ServiceName": "Azure Machine Learning", "ServiceCategory": "AI and Machine Learning",
                "SubAccountId": first["subscription_id"], "ResourceId": compute_id, "ResourceName": name,
                "ResourceType": "Azure Machine Learning compute cluster",
                "Tags": json.dumps(json.loads(first["compute_tags"] or "{}"), sort_keys=True),
                "AllocatedMethodId": FOCUS_METHOD_ID,
                "AllocatedMethodDetails": method_details(ratios[i], _hours(share.node_seconds), method),
                # FOCUS: null for the unallocated (idle) portion of the origin charge.
                "AllocatedResourceId": job["job_id"] if job else None,
                "AllocatedResourceName": job["job_name"] if job else None,
                "AllocatedTags": json.dumps(allocated_tags, sort_keys=True) if job else None,
                "x_OriginChargeId": charge_id, "x_OriginEffectiveCost": origin_effective,
                "x_OriginBilledCost": origin_billed, "x_AllocationMethod": method, "x_Project": project,
                "x_WorkspaceId": workspace_id, "x_ExperimentName": job["experiment_name"] if job else None,
                "x_Submitter": job["submitter"] if job else None,
            })
    unpriced = []
    for j in jobs.iter_rows(named=True):
        kind = compute_types.get((j["workspace_id"], j["compute_key"]))
        if j["job_id"] in priced or kind not in (None, CLUSTER_TYPE):
            continue  # priced, or on a compute instance / attached compute (not shared by jobs)
        why = "no such compute in the inventory (deleted?)" if kind is None else "no cost billed for it this month"
        unpriced.append(f"{j['job_name']} on {j['compute_name']}: {why}")
    return JobSplit(
        parts=pl.DataFrame(part_rows, schema=PART_SCHEMA, orient="row"),
        job_costs=pl.DataFrame(cost_rows, schema=JOB_COSTS_SCHEMA, orient="row"),
        focus=pl.DataFrame(focus_rows, schema=FOCUS_SCHEMA, orient="row"),
        clusters=len({(w, k) for _, w, k in groups}), jobs=len(priced), unpriced_jobs=sorted(unpriced),
    )


# -- staging in DuckDB ----------------------------------------------------------------------------

def stage_job_split(con: duckdb.DuckDBPyConnection, month: date, config: FinopsConfig, resolver: Resolver) -> JobSplit:
    """Replace the clusters' rows of the temp table `month_allocation` by their job and idle parts,
    and build the temp tables `month_job_costs` and `month_cost_allocation_focus`.

    With `attribution.job_showback.enabled: false`, or no jobs table (an inventory older than the
    jobs listing), the clusters keep their rows and both tables are empty for the month."""
    params = {"billing_month": month}
    con.execute(load_sql("intermediate/job_cluster_origins"))
    origins = con.sql("SELECT * FROM job_cluster_origins").pl()
    enabled = config.attribution.job_showback.enabled and relation_exists(con, "inventory_jobs")
    if enabled:
        jobs = con.sql(load_sql("intermediate/job_node_seconds"), params=params).pl()
        types = {(r[0], r[1]): r[2] for r in con.execute(
            "SELECT workspace_id, lower(compute_name), compute_type FROM inventory_computes").fetchall()}
        split = split_clusters(month, origins, jobs, config, resolver, types)
    else:
        split = JobSplit(parts=pl.DataFrame(schema=PART_SCHEMA), job_costs=pl.DataFrame(schema=JOB_COSTS_SCHEMA),
                         focus=pl.DataFrame(schema=FOCUS_SCHEMA))
    frames = {"job_split_parts": split.parts, "job_costs_frame": split.job_costs, "focus_frame": split.focus}
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        if enabled:
            con.execute(load_sql("marts/job_delete_cluster_rows"))
            con.execute(load_sql("marts/job_insert_parts"), params)
        con.execute(load_sql("marts/job_month_costs"), params)
        con.execute(load_sql("marts/job_month_focus"), params)
    finally:
        for name in frames:
            con.unregister(name)
    return split


# -- checks ---------------------------------------------------------------------------------------

def job_costs_reconciliation(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """Per cluster and currency: job_costs beside the cluster's job_split / cluster_idle allocation."""
    statement = load_sql("checks/job_costs_reconciliation")
    return con.sql(statement, params=sql_parameters(statement, billing_month=month)).pl()


def focus_allocation_violations(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """Origin charges of cost_allocation_focus whose ratios do not sum to 1 or costs to the origin's."""
    return con.sql(load_sql("checks/focus_allocation_groups"), params={"billing_month": month}).pl()
