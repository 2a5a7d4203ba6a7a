"""Budgets, anomalies and alert delivery on the demo tenant, against the generator's ground truth
(`expected.json` → `events`), plus the clean series of the same tenant, and the alert sensor
delivering to a local HTTP server on 127.0.0.1 (Teams through dagster-msteams, and the webhook)."""

from __future__ import annotations

import json
import shutil
import threading
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context

from assets.alerting import alert_sensor
from dagster_project.budgets.anomalies import detect
from dagster_project.budgets.forecast import month_end_forecast
from dagster_project.budgets.settings import Anomalies
from dagster_project.demo.generate import generate_demo
from dagster_project.demo.tenant import build_tenant, line_items
from dagster_project.resources import FinopsConfigResource, WarehouseResource
from dagster_project.runner import PipelineFailed, run_pipeline

OCTOBER, SEPTEMBER = date(2026, 10, 1), date(2026, 9, 1)
# The stated error of the month-end forecast on the demo's trending project (docs/reports.md).
FORECAST_ERROR = Decimal("0.05")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("budgets")
    paths = generate_demo(root / "demo-tenant", seed=42, months=2)  # 2026-09 and 2026-10
    out = root / "out"
    instance = DagsterInstance.ephemeral()
    run_pipeline(paths.exports, paths.inventory, out, config=paths.config, instance=instance)
    yield {"paths": paths, "out": out, "expected": json.loads(paths.expected.read_text()), "con": _Reader(out),
           "instance": instance}
    instance.dispose()


class _Reader:
    """Opens the warehouse for each query only: the sensor opens it too, with its own settings."""

    def __init__(self, out: Path):
        self.path = str(out / "finops.duckdb")

    def execute(self, sql: str, params=None):
        with duckdb.connect(self.path, read_only=True) as con:
            return _Rows(con.execute(sql, params or {}).fetchall())


class _Rows(list):
    def fetchall(self):
        return list(self)


def _findings(con, rule: str, month: date = OCTOBER) -> list[dict]:
    rows = con.execute("SELECT resource_id, resource_name, project, owner, severity, evidence, action FROM findings "
                       "WHERE billing_month = $m AND rule_id = $r", {"m": month, "r": rule}).fetchall()
    return [{"resource_id": r[0], "resource_name": r[1], "project": r[2], "owner": r[3], "severity": r[4],
             "evidence": json.loads(r[5]), "action": r[6]} for r in rows]


def test_the_planted_spike_is_found_on_its_days_with_its_excess_to_the_cent(demo):
    truth = demo["expected"]["events"]["anomalies"]
    found = _findings(demo["con"], "anomaly")
    # The shared training cluster of the job-showback demo (issue 16) bills in bursts (2026-10-26:
    # 74.72 USD after days of 3-10), real jumps the detector names, on the cluster and (driven by
    # it) on its owning project, whose days are not yet split by job (a known gap, see
    # docs/reports.md). They are not the planted events; everything else must be exactly the plant.
    shared = "/computes/gpu-shared"
    bursts = [f for f in found if f["resource_id"].endswith(shared)
              or str(f["evidence"].get("driver_resource_id") or "").endswith(shared)]
    assert [f["evidence"]["day"] for f in bursts if f["evidence"]["scope"] == "resource"] == ["2026-10-26"]
    found = [f for f in found if f not in bursts]
    resources = {(f["resource_id"], f["evidence"]["day"]): f for f in found if f["evidence"]["scope"] == "resource"}
    projects = {(f["project"], f["evidence"]["day"]): f for f in found if f["evidence"]["scope"] == "project"}
    want_resources = {(t["resource_id"], t["day"]): t for t in truth if t["scope"] == "resource"}
    want_projects = {(t["project"], t["day"]): t for t in truth if t["scope"] == "project"}
    # Exactly the planted days: nothing else in the month is an anomaly.
    assert set(resources) == set(want_resources) and set(projects) == set(want_projects)
    for key, t in want_resources.items():
        evidence = resources[key]["evidence"]
        assert (evidence["excess"], evidence["currency"]) == (t["excess"], t["currency"])
        assert resources[key]["resource_name"] == "churn-scoring/blue"
        assert t["excess"] in resources[key]["action"] and t["day"] in resources[key]["action"]
    for key, t in want_projects.items():
        evidence = projects[key]["evidence"]
        # The project's own excess carries its other resources' daily noise; its driver is the
        # deployment, whose own change is the planted excess to the cent.
        assert evidence["driver_resource_id"] == t["driver_resource_id"]
        assert evidence["driver_excess"] == t["driver_excess"]
        assert abs(Decimal(evidence["excess"]) - Decimal(t["driver_excess"])) < Decimal(5)
        assert projects[key]["owner"]


def test_no_anomaly_in_the_month_before_the_spike(demo):
    assert _findings(demo["con"], "anomaly", SEPTEMBER) == []


def test_the_budget_finding_fires_for_the_trending_project(demo):
    truth = {b["month"]: b for b in demo["expected"]["events"]["budgets"]}
    october = truth[OCTOBER.isoformat()]
    assert october["over_budget"] and not truth[SEPTEMBER.isoformat()]["over_budget"]
    (finding,) = _findings(demo["con"], "budget")
    evidence = finding["evidence"]
    assert finding["project"] == october["project"] and finding["owner"] == october["owner"]
    # A closed month: the forecast is the month's spend, to the cent, with no day left.
    assert evidence["forecast"] == october["spend"] and evidence["budget"] == "1500.00"
    assert evidence["days_left"] == 0 and finding["severity"] == "high"
    assert _findings(demo["con"], "budget", SEPTEMBER) == []
    status = demo["con"].execute("SELECT name, status FROM budget_status WHERE billing_month = $m ORDER BY name",
                                 {"m": OCTOBER}).fetchall()
    assert status == [("churn-model", "on_track"), ("genai-eval", "over_budget"), ("vision-qa", "on_track")]


def _daily(con, project: str) -> dict[date, Decimal]:
    rows = con.execute("SELECT charge_day, sum(effective_cost) FROM cost_daily WHERE project = $p "
                       "GROUP BY ALL", {"p": project}).fetchall()
    return dict(rows)


def test_mid_month_forecast_is_within_the_stated_error_and_warns_before_the_overrun(demo):
    truth = next(b for b in demo["expected"]["events"]["budgets"] if b["month"] == OCTOBER.isoformat())
    actual, budget = Decimal(truth["spend"]), Decimal(truth["budget"])
    daily = _daily(demo["con"], truth["project"])
    first = min(daily)
    for cutoff in (7, 14, 21):
        through = OCTOBER + timedelta(days=cutoff - 1)
        known = {d: v for d, v in daily.items() if d <= through}
        f = month_end_forecast(known, OCTOBER, through, observed_from=first)
        assert abs(f.forecast - actual) / actual <= FORECAST_ERROR, (cutoff, f, actual)
        if cutoff == 14:
            # Half-way through the month the spend is still under budget, the forecast is not.
            assert f.month_to_date < budget < f.forecast


def test_cost_daily_sums_to_the_allocation_of_each_project(demo):
    # Known gap: cost_daily splits a day like its key, before the job split of the shared
    # clusters (issue 16), so those clusters' days stay with the cluster's project. Compared here
    # without the job-split resources; the per-currency total below still covers every cent.
    rows = demo["con"].execute("""
        SELECT a.billing_month, a.billing_currency, a.project, a.total, d.total FROM
          (SELECT billing_month, billing_currency, project, sum(effective_cost) total FROM cost_allocation
           WHERE resource_id NOT IN (SELECT resource_id FROM cost_allocation
                                     WHERE allocation_method IN ('job_split', 'cluster_idle'))
           GROUP BY ALL) a
        JOIN (SELECT billing_month, billing_currency, project, sum(effective_cost) total FROM cost_daily
              WHERE resource_id NOT IN (SELECT resource_id FROM cost_allocation
                                        WHERE allocation_method IN ('job_split', 'cluster_idle'))
              GROUP BY ALL) d
        USING (billing_month, billing_currency, project)""").fetchall()
    assert rows and all(abs(a - d) < Decimal("1e-8") for *_, a, d in rows)
    per_currency = demo["con"].execute("""
        SELECT (SELECT sum(effective_cost) FROM cost_daily), (SELECT sum(effective_cost) FROM cost_line_items)
    """).fetchall()[0]
    assert per_currency[0] == per_currency[1]  # exact


def test_the_clean_series_of_the_same_tenant_raises_nothing():
    """The tenant without its planted events: no project and no compute or deployment of the
    last month is an anomaly, and the trending project does not exist."""
    tenant = build_tenant(seed=42, months=2, events=False)
    projects: dict[tuple, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    resources: dict[tuple, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for month in tenant.months:
        for item in line_items(tenant, month):
            if item.true_aml_name == "gpu-shared":  # the job-showback cluster bills in job bursts
                continue
            projects[(item.currency, item.true_project)][item.charge_date] += item.effective_cost
            if item.true_aml_kind in ("compute", "endpoint"):
                resources[(item.currency, item.true_aml_name)][item.charge_date] += item.effective_cost
    observed = {d for series in projects.values() for d in series}
    october = {d for d in observed if d >= OCTOBER}
    found = [(key, a.day) for group in (projects, resources) for key, series in group.items()
             for a in detect(series, october, observed, Anomalies())]
    assert found == []
    assert not any(p == "genai-eval" for _, p in projects)


# -- alert delivery ------------------------------------------------------------------------------

class _Receiver(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"1")

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def receiver():
    _Receiver.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.posts
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _tick(demo, config: Path, cursor: str | None) -> SensorResult:
    context = build_sensor_context(instance=demo["instance"], cursor=cursor, resources={
        "warehouse": WarehouseResource(out_dir=str(demo["out"])),
        "finops_config": FinopsConfigResource(path=str(config))})
    return alert_sensor(context)


def _alert_config(demo, tmp_path) -> Path:
    config = tmp_path / "finops.yaml"
    config.write_text(demo["paths"].config.read_text() + "alerts:\n  teams_url_env: T17_TEAMS_URL\n"
                      "  webhook_url_env: T17_WEBHOOK_URL\n  reports_url: https://finops.contoso.com/packs\n")
    return config


def test_alerts_reach_teams_and_the_webhook_once(demo, receiver, tmp_path, monkeypatch):
    base, posts = receiver
    monkeypatch.setenv("T17_TEAMS_URL", f"{base}/teams?sig=secret-token")
    monkeypatch.setenv("T17_WEBHOOK_URL", f"{base}/hook")
    config = _alert_config(demo, tmp_path)
    result = _tick(demo, config, None)
    assert result.skip_reason is None
    by_path = defaultdict(list)
    for path, body in posts:
        by_path[path.split("?")[0]].append(body)
    assert set(by_path) == {"/teams", "/hook"} and all(len(v) == 1 for v in by_path.values())

    hook = by_path["/hook"][0]
    assert hook["format"] == "aml-finops-alerts/1"
    kinds = defaultdict(list)
    for alert in hook["alerts"]:
        kinds[alert["kind"]].append(alert)
        assert alert["packs"]["finance"] == f"https://finops.contoso.com/packs/{alert['month']}/finance/report.html"
    truth = demo["expected"]["events"]
    (budget,) = kinds["budget"]
    october = next(b for b in truth["budgets"] if b["month"] == OCTOBER.isoformat())
    assert budget["facts"]["forecast"] == f"{october['spend']} USD" and budget["facts"]["budget"] == "1500.00 USD"
    assert budget["facts"]["days left"] == "0" and budget["owner"] == october["owner"]
    # The planted days, plus the shared cluster's real 2026-10-26 burst (see the spike test).
    assert sorted(a["facts"]["day"] for a in kinds["anomaly"]) == sorted(
        [t["day"] for t in truth["anomalies"]] + ["2026-10-26"])
    assert {a["facts"]["excess"] for a in kinds["anomaly"] if a["title"].startswith("Anomaly: churn-scoring")} == {
        "42.19 USD"}
    high = demo["con"].execute("SELECT count(DISTINCT finding_id) FROM findings WHERE status = 'open' AND severity = 'high' "
                               "AND rule_id NOT IN ('budget', 'anomaly')").fetchall()[0][0]
    assert len(kinds["finding"]) == high > 0
    assert kinds.keys() <= {"budget", "anomaly", "finding"}

    card = by_path["/teams"][0]  # not a *.webhook.office.com URL: an adaptive card (Workflows)
    content = card["attachments"][0]["content"]
    assert card["type"] == "message" and content["type"] == "AdaptiveCard"
    text = "\n".join(block["text"] for block in content["body"])
    assert f"forecast: {october['spend']} USD" in text and "42.19 USD" in text
    assert "https://finops.contoso.com/packs/2026-10/finance/report.html" in text
    assert "secret-token" not in json.dumps(result.cursor) and "127.0.0.1" not in (result.cursor or "")

    # The next tick has nothing new: no post at all.
    posts.clear()
    again = _tick(demo, config, result.cursor)
    assert posts == [] and again.skip_reason is not None and "nothing new" in again.skip_reason.skip_message


def test_a_failed_blocking_check_is_sent_and_an_unreachable_channel_fails_the_tick(demo, receiver, tmp_path,
                                                                                  monkeypatch):
    base, posts = receiver
    monkeypatch.setenv("T17_TEAMS_URL", f"{base}/teams")
    monkeypatch.setenv("T17_WEBHOOK_URL", f"{base}/hook")
    config = _alert_config(demo, tmp_path)
    seen = _tick(demo, config, None).cursor  # what the month runs so far have sent
    posts.clear()
    # October re-delivered with a file one row short of its manifest: the blocking check fails.
    exports = tmp_path / "exports"
    shutil.copytree(demo["paths"].exports, exports)
    part = sorted(exports.rglob("20261001-*/*/*.csv"))[0]
    lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
    part.write_text("".join(lines[:-1]), encoding="utf-8")
    out = tmp_path / "out"
    shutil.copytree(demo["out"], out)
    with pytest.raises(PipelineFailed, match="manifest_row_counts"):
        run_pipeline(exports, demo["paths"].inventory, out, months=[OCTOBER], config=demo["paths"].config,
                     instance=demo["instance"])
    result = _tick(demo, config, seen)
    (hook,) = [body for path, body in posts if path == "/hook"]
    (alert,) = hook["alerts"]
    assert alert["kind"] == "failed_check" and alert["facts"]["check"] == "manifest_row_counts"
    assert "not published" in alert["text"] and alert["month"] == "2026-10"

    # A channel that cannot be reached fails the tick, names its variable, never its URL.
    monkeypatch.setenv("T17_WEBHOOK_URL", "http://127.0.0.1:9/hook?sig=secret-token")
    monkeypatch.delenv("T17_TEAMS_URL")
    from assets.alerting import AlertDeliveryError

    with pytest.raises(AlertDeliveryError) as info:
        _tick(demo, config, None)
    assert "T17_TEAMS_URL" in str(info.value) and "T17_WEBHOOK_URL" in str(info.value)
    assert "secret-token" not in str(info.value) and "127.0.0.1" not in str(info.value)
    assert result.cursor
