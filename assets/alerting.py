"""The alert sensor: after each month run, tell Teams and a JSON webhook what needs attention."""

import os

import requests
from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster_msteams import Card, MSTeamsResource
from dagster_msteams.adaptive_card import (
    AdaptiveCard,  # what Workflows webhooks take (not exported)
)

from assets.partitions import partition_month
from dagster_project.budgets.alerts import (
    AlertCursor,
    FailedCheck,
    Packs,
    card_texts,
    check_alerts,
    finding_alerts,
    webhook_payload,
)
from dagster_project.resources import FinopsConfigResource, WarehouseResource
from dagster_project.warehouse import month_relation

PARTITION_TAG = "dagster/partition"
RUNS_PER_TICK = 50


class AlertDeliveryError(RuntimeError):
    """A channel could not be reached; the message names the channel and its variable, never the URL."""


def _url(variable: str | None, channel: str) -> str | None:
    if variable is None:
        return None
    url = os.environ.get(variable, "").strip()
    if not url:
        raise AlertDeliveryError(f"alerts: {channel} is configured but the environment variable {variable} is "
                                 "empty or unset")
    return url


def _failed_blocking_checks(instance, run_id: str) -> list[FailedCheck]:
    failed = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR:
            failed.append(FailedCheck(run_id, evaluation.asset_key.to_user_string(), evaluation.check_name,
                                      evaluation.description))
    return failed


def _post_teams(url: str, texts: list[str], timeout: float, variable: str) -> None:
    client = MSTeamsResource(hook_url=url, timeout=timeout).get_client()
    card = Card() if client.is_legacy_webhook() else AdaptiveCard()
    for text in texts:
        card.add_attachment(text_message=text)
    try:
        client.post_message(payload=card.payload)
    except requests.RequestException as exc:
        # requests puts the URL (and its secret) into its messages: name the variable instead.
        raise AlertDeliveryError(f"alerts: Teams delivery to ${variable} failed ({type(exc).__name__})") from None


def _post_webhook(url: str, payload: dict, timeout: float, variable: str) -> None:
    try:
        response = requests.post(url, json=payload, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise AlertDeliveryError(f"alerts: webhook delivery to ${variable} failed ({type(exc).__name__}"
                                 + (f", HTTP {status}" if status else "") + ")") from None


@sensor(minimum_interval_seconds=120, default_status=DefaultSensorStatus.STOPPED)
def alert_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource,
                 finops_config: FinopsConfigResource):
    """After each finished month run: send failed blocking checks, new findings of
    `alerts.min_severity` or above, budget overruns and anomalies to Microsoft Teams
    (dagster-msteams) and the JSON webhook of `finops.yaml` — each with its numbers and where the
    packs are. The URLs come from the environment variables `finops.yaml` names, at each tick. The
    cursor keeps the runs already read and, per channel, the alerts already sent: no channel gets
    the same alert twice."""
    config = finops_config.load()
    settings = config.alerts
    channels = {name: variable for name, variable in (("teams", settings.teams_url_env),
                                                      ("webhook", settings.webhook_url_env)) if variable}
    if not channels:
        return SensorResult(skip_reason=SkipReason("no alert channel in finops.yaml (alerts.teams_url_env, "
                                                   "alerts.webhook_url_env)"))
    cursor = AlertCursor.parse(context.cursor)
    runs = [run for run in context.instance.get_runs(
        filters=RunsFilter(statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE]), limit=RUNS_PER_TICK)
        if PARTITION_TAG in run.tags and run.run_id not in cursor.runs]
    alerts, packs = [], {}
    wh = warehouse.get()
    for run in sorted(runs, key=lambda r: r.run_id):
        month = partition_month(run.tags[PARTITION_TAG])
        packs[f"{month:%Y-%m}"] = Packs.of(month, str(wh.out_dir), settings.reports_url)
        alerts += check_alerts(month, _failed_blocking_checks(context.instance, run.run_id))
        if run.status == DagsterRunStatus.SUCCESS and wh.database_path.is_file():
            with wh.connect(read_only=True) as con:
                findings = month_relation(con, "findings", month).pl()
            alerts += finding_alerts(month, findings, settings.min_severity)
    # One alert once, even when two runs of a month both report it.
    alerts = list({a.key: a for a in alerts}.values())
    sent, failures = {}, []
    for channel, variable in channels.items():
        new = cursor.new_for(channel, alerts)
        if not new:
            continue
        needed = {a.month: packs[a.month] for a in new}
        try:
            url = _url(variable, channel)
            if channel == "teams":
                _post_teams(url, card_texts(new, needed), settings.timeout_seconds, variable)
            else:
                _post_webhook(url, webhook_payload(new, needed), settings.timeout_seconds, variable)
        except AlertDeliveryError as exc:
            failures.append(str(exc))
            continue
        cursor.mark(channel, new)
        sent[channel] = len(new)
    if failures and not sent:
        # Nothing was delivered: fail the tick (the cursor stays, so the next tick tries again).
        raise AlertDeliveryError("; ".join(failures))
    cursor.runs.update(run.run_id for run in runs)
    done = ", ".join(f"{n} alert(s) to {channel}" for channel, n in sent.items())
    if failures:
        # Keep what one channel received (never twice), and say loudly what the other did not.
        context.log.error("; ".join(failures) + " (retried at the next tick)")
        return SensorResult(skip_reason=SkipReason(f"sent {done}; " + "; ".join(failures)), cursor=cursor.dump())
    if not sent:
        return SensorResult(skip_reason=SkipReason(f"nothing new to send from {len(runs)} finished run(s)"),
                            cursor=cursor.dump())
    context.log.info(f"sent {done}")
    return SensorResult(cursor=cursor.dump())
