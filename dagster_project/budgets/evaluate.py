"""One month's budget status and its `budget` and `anomaly` findings, from `cost_daily`.

Plain Polars and Decimal over the daily series the attribution published (`cost_daily`, the
month and the trailing days before it); the findings asset stages the results with the cleanup
findings. Budget and anomaly findings are events of their month: their id includes the month
(budget) or the day (anomaly), so a new overrun or a new spike is a new finding, and they take
no part in the cleanup findings' open → resolved lifecycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb
import polars as pl

from dagster_project.budgets.anomalies import Anomaly, DriverSearch, detect, part_floor
from dagster_project.budgets.forecast import BudgetLine, month_end, month_end_forecast
from dagster_project.catalog import polars_schema
from dagster_project.config import FinopsConfig
from dagster_project.findings.commands import q, workspace_args
from dagster_project.findings.model import FINDINGS_SCHEMA, finding_id
from dagster_project.money import round_cents
from dagster_project.sql import load_sql

EVENT_RULES = {
    # rule id: (category, what it means)
    "budget": ("budget", "Month-end forecast above the monthly budget"),
    "anomaly": ("anomaly", "Daily spend anomaly"),
}
AML_KINDS = ("compute", "endpoint")

# The columns of budget_status: their one home is the table catalog (catalog/tables/budgets.toml).
BUDGET_STATUS_SCHEMA = polars_schema("budget_status")


def _days_read(month: date, window_days: int) -> dict[str, date]:
    """The month and the `window_days` (+ a week) before it."""
    return {"first_day": month - timedelta(days=window_days + 7), "last_day": month_end(month), "billing_month": month}


def daily_spend(con: duckdb.DuckDBPyConnection, month: date, window_days: int) -> pl.DataFrame:
    """The month's daily rows and the `window_days` (+ a week) before it, from `cost_daily`."""
    return con.sql(load_sql("intermediate/daily_spend"), params=_days_read(month, window_days)).pl()


# One project's (currency, project) resource-days: project_resource_days rows.
ResourceDays = Callable[[str, str | None], pl.DataFrame]


def project_resource_days(con: duckdb.DuckDBPyConnection, month: date, window_days: int) -> ResourceDays:
    """A reader of one project's resource-days over the days `daily_spend` reads."""
    days = _days_read(month, window_days)

    def read(currency: str, project: str | None) -> pl.DataFrame:
        return con.sql(load_sql("intermediate/project_resource_days"),
                       params={**days, "billing_currency": currency, "project": project,
                               "aml_kinds": list(AML_KINDS)}).pl()
    return read


@dataclass(frozen=True)
class EventInputs:
    billing_month: date
    captured_at: datetime
    daily: pl.DataFrame  # daily_spend rows
    workspace_names: dict[str, str]
    # The resource-days of one project, read only for the projects with an anomaly (their drivers).
    resource_days: ResourceDays
    # Clusters split among their jobs (job_costs): their days are not the projects' days yet.
    job_split_clusters: frozenset[str] = frozenset()


def _series_lists(frame: pl.DataFrame, keys: list[str], *also: pl.Expr) -> pl.DataFrame:
    """One row per series (`keys`): its days and their summed amounts as lists (`charge_day`,
    `effective_cost`), and the aggregations `also` over those daily amounts."""
    per_day = frame.group_by([*keys, "charge_day"]).agg(pl.col("effective_cost").sum())
    return per_day.group_by(keys).agg(pl.col("charge_day"), pl.col("effective_cost"), *also)


def _series(frame: pl.DataFrame, keys: list[str]) -> dict[tuple, dict[date, Decimal]]:
    # Built from one row per series: each key's texts become Python objects once, not once per
    # day (an anomalous project of a large tenant has ~400,000 resource-days).
    grouped = _series_lists(frame, keys)
    columns = [grouped[k].to_list() for k in keys]
    out: dict[tuple, dict[date, Decimal]] = {}
    for index, (days, amounts) in enumerate(zip(grouped["charge_day"], grouped["effective_cost"], strict=True)):
        out[tuple(column[index] for column in columns)] = dict(zip(days.to_list(), amounts.to_list(), strict=True))
    return out


def _part_search(resource_days: pl.DataFrame) -> DriverSearch:
    """The driver search over one project's resources (project_resource_days rows), keyed
    (location, kind, name) with "" for a missing location or name.

    The resource-days stay in Polars; only the parts the search visits become Python series."""
    keys = ["location", "aml_kind", "aml_name"]
    named = resource_days.with_columns(pl.col("location").fill_null(""), pl.col("aml_name").fill_null(""))
    parts = _series_lists(named, keys, pl.col("effective_cost").min().alias("lowest")).with_row_index("part")
    part_keys = list(zip(*(parts[k].to_list() for k in keys), strict=True))
    floors = [part_floor([lowest]) for lowest in parts["lowest"].to_list()]
    days = parts.select("part", "charge_day", "effective_cost").explode("charge_day", "effective_cost")
    day_lists, amount_lists = parts["charge_day"], parts["effective_cost"]

    def spend_on(day: date) -> dict[int, Decimal]:
        on = days.filter(pl.col("charge_day") == day)
        return dict(zip(on["part"].to_list(), on["effective_cost"].to_list(), strict=True))

    def series(index: int) -> dict[date, Decimal]:
        return dict(zip(day_lists[index].to_list(), amount_lists[index].to_list(), strict=True))

    return DriverSearch(part_keys, floors, spend_on, series)


def _main_owner(frame: pl.DataFrame, column: str, name: str, currency: str) -> str | None:
    rows = frame.filter(pl.col(column).str.to_lowercase() == name.lower(), pl.col("billing_currency") == currency,
                        pl.col("owner").is_not_null())
    if rows.height == 0:
        return None
    per = rows.group_by("owner").agg(pl.col("effective_cost").sum()).sort(["effective_cost", "owner"],
                                                                         descending=[True, False])
    return per["owner"][0]


def budget_lines(config: FinopsConfig, inputs: EventInputs) -> list[BudgetLine]:
    """Every configured budget with its month-to-date and month-end forecast."""
    month = inputs.billing_month
    daily = inputs.daily
    in_month = daily.filter(pl.col("billing_month") == month)
    data_through = in_month["charge_day"].max() if in_month.height else month - timedelta(days=1)
    observed_from = daily["charge_day"].min() if daily.height else None
    b = config.budgets
    lines = []
    for scope, column, budgets in (("project", "project", b.projects), ("cost_center", "cost_center", b.cost_centers),
                                   ("owner", "owner", b.owners)):
        for name, budget in sorted(budgets.items()):
            rows = daily.filter(pl.col(column).str.to_lowercase() == name.lower(),
                                pl.col("billing_currency") == budget.currency)
            series = {k[0]: v for k, v in _series(rows.with_columns(pl.lit(1).alias("_one")), ["_one"]).items()}
            per_day = series.get(1, {})
            forecast = month_end_forecast(per_day, month, data_through, observed_from=observed_from,
                                          forecast_days=b.forecast_days, min_forecast_days=b.min_forecast_days)
            owner = budget.owner or (name if scope == "owner" else _main_owner(in_month, column, name, budget.currency))
            lines.append(BudgetLine(scope, name, budget.currency, budget.amount, owner, forecast))
    return lines


def budget_status_frame(lines: list[BudgetLine], month: date) -> pl.DataFrame:
    rows = [{
        "billing_month": month, "scope": line.scope, "name": line.name, "currency": line.currency,
        "budget": line.budget, "month_to_date": line.forecast.month_to_date, "forecast": line.forecast.forecast,
        "forecast_method": line.forecast.method, "data_through": line.forecast.data_through,
        "days_left": line.forecast.days_left,
        "forecast_pct_of_budget": round_cents(line.forecast.forecast * 100 / line.budget),
        "owner": line.owner, "status": line.status,
    } for line in lines]
    return pl.DataFrame(rows, schema=BUDGET_STATUS_SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=BUDGET_STATUS_SCHEMA)


def _money(value: Decimal) -> str:
    return str(round_cents(value))


class _Rows:
    def __init__(self, config: FinopsConfig, inputs: EventInputs):
        self.config = config
        self.inputs = inputs
        self.rows: list[dict] = []

    def _severity(self, amount: Decimal) -> str:
        t = self.config.findings
        return "high" if amount >= t.severity_high else "medium" if amount >= t.severity_medium else "low"

    def add(self, rule_id: str, key: str, version: str, *, severity: str, workspace: str | None, resource_id: str,
            resource_name: str, project: str | None, owner: str | None, evidence: dict, currency: str, action: str,
            command: str) -> None:
        now = self.inputs.captured_at
        self.rows.append({
            "billing_month": self.inputs.billing_month, "finding_id": finding_id(rule_id, key, version),
            "rule_id": rule_id, "category": EVENT_RULES[rule_id][0], "severity": severity, "workspace": workspace,
            "resource_id": resource_id.lower(), "resource_name": resource_name, "project": project, "owner": owner,
            "evidence": json.dumps(evidence, sort_keys=True, default=str), "savings": Decimal("0.00"),
            "currency": currency, "action": action, "command": command, "first_seen": now, "last_seen": now,
            "status": "open", "suppression_reason": None,
        })

    def frame(self) -> pl.DataFrame:
        if not self.rows:
            return pl.DataFrame(schema=FINDINGS_SCHEMA)
        return pl.DataFrame(self.rows, schema=FINDINGS_SCHEMA, orient="row")


def budget_findings(config: FinopsConfig, inputs: EventInputs, lines: list[BudgetLine]) -> pl.DataFrame:
    out = _Rows(config, inputs)
    month = inputs.billing_month
    for line in lines:
        if line.status == "on_track":
            continue
        f = line.forecast
        over = f.forecast - line.budget
        severity = "high" if f.month_to_date > line.budget or f.forecast >= line.budget * Decimal("1.1") else "medium"
        scope_text = {"project": "project", "cost_center": "cost center", "owner": "owner"}[line.scope]
        if f.days_left:
            action = (f"Forecast {_money(f.forecast)} {line.currency} for {month:%Y-%m} is above the budget of "
                      f"{_money(line.budget)} {line.currency} ({_money(over)} over) with {f.days_left} days left; "
                      f"month to date {_money(f.month_to_date)} through {f.data_through.isoformat()}.")
        else:
            action = (f"Spent {_money(f.month_to_date)} {line.currency} in {month:%Y-%m}, above the budget of "
                      f"{_money(line.budget)} {line.currency} ({_money(over)} over); the month is closed.")
        out.add("budget", f"{line.scope}:{line.name.lower()}", f"{line.currency}|{month.isoformat()}",
                severity=severity, workspace=None, resource_id=f"budget/{line.scope}/{line.name}",
                resource_name=f"{scope_text} {line.name}", project=line.name if line.scope == "project" else None,
                owner=line.owner,
                evidence={"scope": line.scope, "name": line.name, "budget": _money(line.budget),
                          "forecast": _money(f.forecast), "month_to_date": _money(f.month_to_date),
                          "over_budget_by": _money(over), "days_left": f.days_left,
                          "data_through": f.data_through.isoformat(), "forecast_method": f.method,
                          "currency": line.currency},
                currency=line.currency, action=action, command="")
    return out.frame()


def aml_resource_id(workspace_id: str, kind: str, name: str) -> str:
    """The ARM id of a compute or deployment, as cleanup findings name it."""
    if kind == "endpoint" and "/" in name:
        endpoint, deployment = name.split("/", 1)
        return f"{workspace_id}/onlineendpoints/{endpoint}/deployments/{deployment}".lower()
    return f"{workspace_id}/computes/{name}".lower()


def _show_command(workspace_id: str, kind: str, name: str) -> str:
    """A read-only look at the resource (never a change): what it runs with now."""
    args = workspace_args(workspace_id)
    if kind == "endpoint" and "/" in name:
        endpoint, deployment = name.split("/", 1)
        return f"az ml online-deployment show --name {q(deployment)} --endpoint-name {q(endpoint)} {args}"
    return f"az ml compute show --name {q(name)} {args}"


def _resource_label(kind: str, name: str) -> str:
    return f"deployment {name}" if kind == "endpoint" else f"compute {name}" if kind == "compute" else name


def anomaly_findings(config: FinopsConfig, inputs: EventInputs) -> pl.DataFrame:
    settings = config.anomalies
    out = _Rows(config, inputs)
    daily = inputs.daily
    if not settings.enabled or daily.height == 0:
        return out.frame()
    month = inputs.billing_month
    observed = set(daily["charge_day"].to_list())
    days = sorted(d for d in observed if month <= d <= month_end(month))
    aml = daily.filter(pl.col("aml_kind").is_in(AML_KINDS) & pl.col("workspace_id").is_not_null())
    owners = {}
    for row in aml.filter(pl.col("billing_month") == month, pl.col("owner").is_not_null()).group_by(
            "workspace_id", "aml_kind", "aml_name").agg(pl.col("owner").first(), pl.col("project").first()).iter_rows(
            named=True):
        owners[(row["workspace_id"], row["aml_kind"], row["aml_name"])] = (row["owner"], row["project"])

    def evidence(a: Anomaly, currency: str, **extra) -> dict:
        return {"day": a.day.isoformat(), "spend": _money(a.amount), "expected": _money(a.expected),
                "excess": _money(a.excess), "mad": _money(a.mad), "threshold": _money(a.threshold),
                "baseline_days": a.baseline_days, "currency": currency, **extra}

    # Per Azure ML compute and deployment.
    for (currency, ws, kind, name), series in sorted(_series(aml, ["billing_currency", "workspace_id", "aml_kind",
                                                                    "aml_name"]).items()):
        owner, project = owners.get((ws, kind, name), (None, None))
        for a in detect(series, days, observed, settings):
            rid = aml_resource_id(ws, kind, name)
            out.add("anomaly", f"{rid}|{currency}", a.day.isoformat(), severity=out._severity(a.excess),
                    workspace=inputs.workspace_names.get(ws), resource_id=rid, resource_name=name, project=project,
                    owner=owner, currency=currency,
                    evidence=evidence(a, currency, scope="resource", driver=_resource_label(kind, name),
                                      driver_excess=_money(a.excess)),
                    action=(f"{_resource_label(kind, name)} spent {_money(a.amount)} {currency} on "
                            f"{a.day.isoformat()}, {_money(a.excess)} above the expected {_money(a.expected)}."),
                    command=_show_command(ws, kind, name))
    # Per project; the driver is the resource whose own change explains most of it. A shared
    # cluster split among its jobs is left out: cost_daily keeps its days with the cluster's own
    # project, so its job bursts would read as that project's anomalies (docs/reports.md).
    compute_id = (pl.col("workspace_id").str.to_lowercase() + "/computes/" + pl.col("aml_name").str.to_lowercase())
    split = (pl.col("aml_kind") == "compute") & compute_id.is_in(list(inputs.job_split_clusters))
    daily = daily.filter(~split.fill_null(False))
    in_month = daily.filter(pl.col("billing_month") == month)
    for (currency, project), series in sorted(_series(daily, ["billing_currency", "project"]).items()):
        anomalies = detect(series, days, observed, settings)
        if not anomalies:
            continue
        # The per-resource series only of a project with an anomaly: a month at 10M line items
        # holds millions of resource-days, and most projects have none.
        search = _part_search(inputs.resource_days(currency, project).filter(~split.fill_null(False)))
        owner = _main_owner(in_month, "project", project, currency)
        for a in anomalies:
            driver = search.driver(a.day, observed, settings)
            where, kind, name = driver.key if driver else ("", "other", "")
            is_aml = kind in AML_KINDS and where
            label = _resource_label(kind, name) if is_aml else (name or where.rsplit("/", 1)[-1] or kind)
            out.add("anomaly", f"project:{project.lower()}|{currency}", a.day.isoformat(),
                    severity=out._severity(a.excess), workspace=inputs.workspace_names.get(where) if is_aml else None,
                    resource_id=f"project/{project}", resource_name=f"project {project}", project=project,
                    owner=owner, currency=currency,
                    evidence=evidence(a, currency, scope="project", driver=label,
                                      driver_resource_id=aml_resource_id(where, kind, name) if is_aml else where,
                                      driver_excess=_money(driver.change) if driver else None),
                    action=(f"Project {project} spent {_money(a.amount)} {currency} on {a.day.isoformat()}, "
                            f"{_money(a.excess)} above the expected {_money(a.expected)}; most of it: {label} "
                            f"(+{_money(driver.change) if driver else '0.00'})."),
                    command=_show_command(where, kind, name) if is_aml else "")
    return out.frame()


@dataclass(frozen=True)
class MonthEvents:
    budget_status: pl.DataFrame
    findings: pl.DataFrame  # budget and anomaly findings (FINDINGS_SCHEMA)


def month_events(con: duckdb.DuckDBPyConnection, month: date, config: FinopsConfig, captured_at: datetime,
                 workspace_names: dict[str, str]) -> MonthEvents:
    window_days = max(config.anomalies.window_days, config.budgets.forecast_days)
    daily = daily_spend(con, month, window_days)
    clusters = frozenset(row[0] for row in con.execute(load_sql("intermediate/job_split_clusters"),
                                                       {"billing_month": month}).fetchall())
    inputs = EventInputs(month, captured_at, daily, workspace_names, project_resource_days(con, month, window_days),
                         clusters)
    lines = budget_lines(config, inputs)
    findings = pl.concat([budget_findings(config, inputs, lines), anomaly_findings(config, inputs)])
    return MonthEvents(budget_status_frame(lines, month), findings)
