"""Planted budget and anomaly events of the demo tenant, and their ground truth (issue 17).

Two events, both in the tenant's last month, kept here so the rest of the tenant stays as it was:

* **a spike**: the online deployment `churn-scoring/blue` (2 × Standard_DS3_v2) is scaled to 8
  instances for two weekdays (the 20th and 21st), then back — the excess on each day is exactly
  the 6 extra instances × 24 h × its hourly rate;
* **a trend**: a GPU VM of the project `genai-eval` (tagged on its rows, outside Azure ML) whose
  daily hours climb through the last two months, weekends at half, so that the last month ends
  above the project's budget of 1,500 USD while the month before stays under it.

`build_tenant(..., events=False)` leaves both out: the clean series of the same tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

SPIKE_ENDPOINT, SPIKE_DEPLOYMENT, SPIKE_INSTANCES, SPIKE_DAYS = "churn-scoring", "blue", 8, (20, 21)
TREND_PROJECT, TREND_OWNER, TREND_BUDGET, TREND_CURRENCY = "genai-eval", "hana@contoso.com", Decimal("1500"), "USD"
TREND_VM, TREND_RG, TREND_RATE = "vm-genai-eval-01", "rg-genai", Decimal("3.673")
# Hours of the trend VM on day n (0 = the first day of the month before the last): 8 h, 0.25 h
# more each day; weekends half of that.
TREND_START_HOURS, TREND_SLOPE_HOURS = Decimal("8"), Decimal("0.25")


def spike_days(tenant) -> list[date]:
    if not getattr(tenant, "events", True):
        return []
    last = tenant.months[-1]
    return [last.replace(day=d) for d in SPIKE_DAYS]


def instances_on(tenant, endpoint: str, deployment: str, day: date, count: int) -> int:
    """The instance count a deployment bills on `day` (the planted scale-up, else its own)."""
    if endpoint == SPIKE_ENDPOINT and deployment == SPIKE_DEPLOYMENT and day in spike_days(tenant):
        return SPIKE_INSTANCES
    return count


def _trend_months(tenant) -> list[date]:
    return tenant.months[-2:] if getattr(tenant, "events", True) else []


def trend_hours(tenant, day: date) -> Decimal:
    months = _trend_months(tenant)
    if not months or day < months[0]:
        return Decimal(0)
    hours = TREND_START_HOURS + TREND_SLOPE_HOURS * (day - months[0]).days
    return hours / 2 if day.weekday() >= 5 else hours


def trend_line_items(tenant, month: date, item, days: list[date]) -> Iterator:
    """The trend VM's rows of `month`; `item` builds a row (tenant._item), `days` the billed days."""
    if month not in _trend_months(tenant):
        return
    sub = tenant.subscriptions[0]
    rid = (f"/subscriptions/{sub.id}/resourceGroups/{TREND_RG}/providers/Microsoft.Compute/virtualMachines/"
           f"{TREND_VM}")
    tags = {"project": TREND_PROJECT, "owner": TREND_OWNER}
    for day in days:
        yield item(tenant, day, None, rid, TREND_VM, "Microsoft.Compute/virtualMachines", "Virtual Machines",
                   "Compute", "Virtual Machines NCads A100 v4 Series - NC24ads A100 v4", "NC24ads A100 v4",
                   trend_hours(tenant, day),
                   "1 Hour", TREND_RATE, tags, TREND_PROJECT, "other", "", rg=TREND_RG, sub=sub)


def _cents(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def events_truth(tenant, summary) -> dict:
    """What the pipeline must find: the spike's days and excess, the budget's month total."""
    if not getattr(tenant, "events", True):
        return {"anomalies": [], "budgets": []}
    endpoint = next(e for e in tenant.endpoints if e.name == SPIKE_ENDPOINT)
    deployment = next(d for d in endpoint.deployments if d.name == SPIKE_DEPLOYMENT)
    excess = Decimal(24 * (SPIKE_INSTANCES - deployment.instance_count)) * deployment.hourly_rate
    currency = tenant.subscription(endpoint.workspace.subscription_id).currency
    rid = f"{endpoint.workspace.id}/onlineendpoints/{endpoint.name}/deployments/{deployment.name}".lower()
    project = endpoint.tags.get("project") or endpoint.workspace.project
    anomalies = []
    for day in spike_days(tenant):
        anomalies.append({"scope": "resource", "resource_id": rid, "day": day.isoformat(), "excess": _cents(excess),
                          "currency": currency})
        anomalies.append({"scope": "project", "project": project, "day": day.isoformat(), "driver_resource_id": rid,
                          "driver_excess": _cents(excess), "currency": currency})
    budgets = []
    for month in _trend_months(tenant):
        spend = summary.months[month].currencies[TREND_CURRENCY].projects.get(TREND_PROJECT, (Decimal(0),))[0]
        budgets.append({"project": TREND_PROJECT, "month": month.isoformat(), "budget": str(TREND_BUDGET),
                        "currency": TREND_CURRENCY, "spend": _cents(spend), "over_budget": spend > TREND_BUDGET,
                        "owner": TREND_OWNER})
    return {"anomalies": anomalies, "budgets": budgets}


def demo_config_text(tenant) -> str:
    """The demo tenant's finops.yaml: the budgets the generator decided (defaults otherwise)."""
    return ("# The demo tenant's configuration, written by the generator (aml-finops demo uses it).\n"
            "budgets:\n  projects:\n"
            f"    {TREND_PROJECT}: {{amount: {TREND_BUDGET}, currency: {TREND_CURRENCY}}}\n"
            "    churn-model: {amount: 1200, currency: USD}\n"
            "    vision-qa: {amount: 900, currency: EUR}\n")
