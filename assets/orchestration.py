"""When runs happen without anyone typing a command: month close, daily refresh, new exports."""

import json
from datetime import UTC, date, datetime

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    schedule,
    sensor,
)

from assets.jobs import inventory_job, monthly_job
from dagster_project.costs.watch import delivered_manifests, months_with_new_deliveries
from dagster_project.resources import CostExportsResource, InventoryResource


def previous_month(moment: datetime) -> date:
    first = moment.date().replace(day=1)
    return (first.replace(year=first.year - 1, month=12) if first.month == 1
            else first.replace(month=first.month - 1))


@schedule(cron_schedule="0 6 6 * *", job=monthly_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED)
def month_close_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Month close: on the 6th at 06:00 UTC, once Azure's day 1–5 re-deliveries of the previous
    month are in, run the previous month end to end."""
    month = previous_month(context.scheduled_execution_time)
    return RunRequest(run_key=f"month-close-{month.isoformat()}", partition_key=month.isoformat(),
                      tags={"aml-finops/trigger": "month-close"})


@schedule(cron_schedule="0 7 * * *", job=monthly_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED)
def month_to_date_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Daily month-to-date refresh at 07:00 UTC: re-run the current month with the newest export."""
    month = context.scheduled_execution_time.date().replace(day=1)
    day = context.scheduled_execution_time.date().isoformat()
    return RunRequest(run_key=f"month-to-date-{day}", partition_key=month.isoformat(),
                      tags={"aml-finops/trigger": "month-to-date"})


@schedule(cron_schedule="0 5 * * *", job=inventory_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED)
def inventory_daily_schedule(context: ScheduleEvaluationContext, inventory: InventoryResource):
    """Daily inventory capture at 05:00 UTC, before the cost runs of the day: records the estate live
    into a new dated folder of the snapshot store (the day's partition). Skips, saying why, when
    only a fixed snapshot folder is configured (there is nothing to capture)."""
    if inventory.mode != "store":
        return SkipReason("no snapshot store configured (sources.snapshots in finops.yaml or "
                          "FINOPS_SNAPSHOT_STORE): nothing to capture")
    day = context.scheduled_execution_time.astimezone(UTC).date().isoformat()
    return RunRequest(run_key=f"inventory-{day}", partition_key=day, tags={"aml-finops/trigger": "daily-capture"})


@sensor(job=monthly_job, minimum_interval_seconds=300, default_status=DefaultSensorStatus.STOPPED)
def new_export_sensor(context: SensorEvaluationContext, cost_exports: CostExportsResource):
    """Start the month's run when a new export manifest appears (Azure writes it last, so the
    delivery is complete). The cursor remembers every manifest already seen."""
    if cost_exports.kind == "cost-details":
        return SensorResult(skip_reason=SkipReason("the Cost Details API has no deliveries to watch; "
                                                   "use the schedules"))
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    with cost_exports.open() as source:
        current = delivered_manifests(source)
    new = months_with_new_deliveries(current, seen)
    cursor = json.dumps(sorted(set(current) | seen))
    if not new:
        return SensorResult(skip_reason=SkipReason(f"no new export manifest among {len(current)}"), cursor=cursor)
    requests = [
        RunRequest(run_key=f"exports-{month.isoformat()}-{'|'.join(manifests)}", partition_key=month.isoformat(),
                   tags={"aml-finops/trigger": "new-export"})
        for month, manifests in sorted(new.items())
    ]
    return SensorResult(run_requests=requests, cursor=cursor)
