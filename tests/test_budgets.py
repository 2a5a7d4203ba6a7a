"""Anomaly detection and month-end forecasts on hand-built series (not from the demo generator),
hypothesis variants (fixed seed, bounded), and the budget / anomaly / alert settings."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from dagster_project.budgets.anomalies import baseline, check_day, detect, driver_of, median
from dagster_project.budgets.evaluate import EventInputs, anomaly_findings
from dagster_project.budgets.forecast import month_end_forecast
from dagster_project.budgets.settings import Anomalies
from dagster_project.catalog import polars_schema
from dagster_project.config import ConfigError, parse_config

START = date(2026, 3, 2)  # a Monday
DEFAULT = Anomalies()
LOOSE = Anomalies(min_excess=Decimal(0))


def days(n: int, start: date = START) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def series_of(values: list[Decimal], start: date = START) -> dict[date, Decimal]:
    return dict(zip(days(len(values), start), values, strict=True))


def weekly(weekday: Decimal, weekend: Decimal, n: int) -> dict[date, Decimal]:
    return {d: (weekend if d.weekday() >= 5 else weekday) for d in days(n)}


# -- anomalies: hand-built series ---------------------------------------------------------------

def test_median_of_decimals_is_exact():
    assert median([Decimal("1.10"), Decimal("3.30")]) == Decimal("2.20")
    assert median([Decimal(5), Decimal(1), Decimal(3)]) == 3


def test_too_short_history_never_fires_however_large_the_spike():
    # Four weekdays of history (min_history_days is 5), then a day a thousand times larger.
    spend = series_of([Decimal(10)] * 4 + [Decimal(10_000)])
    observed = set(spend)
    assert detect(spend, observed, observed, DEFAULT) == []
    # One more weekday of history and the same spike fires.
    spend = series_of([Decimal(10)] * 7 + [Decimal(10_000)])  # Mon..Fri, Sat, Sun, then Tuesday
    spend = {d: v for d, v in spend.items()}
    observed = set(spend)
    (found,) = detect(spend, observed, observed, DEFAULT)
    assert found.day == START + timedelta(days=7) and found.excess == Decimal(9_990)


def test_days_before_the_series_existed_are_not_history():
    # The warehouse has 60 days, the resource only the last 4 of them: too little history.
    observed = set(days(60))
    spend = {d: Decimal(50) for d in days(4, START + timedelta(days=55))}
    spend[START + timedelta(days=59)] = Decimal(5_000)
    assert detect(spend, observed, observed, DEFAULT) == []


def test_a_constant_series_never_fires():
    spend = {d: Decimal("14.064") for d in days(90)}
    observed = set(spend)
    assert detect(spend, observed, observed, LOOSE) == []


def test_weekday_weekend_pattern_does_not_fire():
    # Weekdays 120, weekends 15: every Monday is 8x the Sunday before it, and nothing fires.
    spend = weekly(Decimal(120), Decimal(15), 84)
    observed = set(spend)
    assert detect(spend, observed, observed, LOOSE) == []
    # The same weekday amount on a Saturday is an anomaly.
    saturday = next(d for d in days(84) if d.weekday() == 5 and d > START + timedelta(days=40))
    spend[saturday] = Decimal(120)
    (found,) = detect(spend, observed, observed, LOOSE)
    assert found.day == saturday and found.expected == 15 and found.excess == 105


def _noisy_history(n: int = 28) -> dict[date, Decimal]:
    """Weekdays alternating 100 and 102: median 101, MAD 1 (above the 5 % floor? no: floored)."""
    return {d: Decimal(100 + 2 * (i % 2)) for i, d in enumerate(x for x in days(n) if x.weekday() < 5)}


def test_a_spike_of_k_mads_fires_exactly_above_the_threshold():
    history = {d: Decimal(100) + Decimal(10 * (i % 2)) for i, d in enumerate(days(35))}
    observed = set(history) | {START + timedelta(days=35)}
    day = START + timedelta(days=35)  # a Monday
    settings_ = Anomalies(min_excess=Decimal(0), mad_floor_pct=Decimal(0))
    base = baseline(history, day, observed, settings_)
    assert base.mad > 0
    threshold = base.expected + settings_.threshold_mad * base.mad
    assert check_day({**history, day: threshold}, day, observed, settings_) is None  # at it: no
    fired = check_day({**history, day: threshold + Decimal("0.01")}, day, observed, settings_)
    assert fired is not None and fired.threshold == threshold  # a cent above: yes


def test_min_excess_keeps_small_unusual_days_quiet():
    spend = {d: Decimal(1) for d in days(35)}
    observed = set(spend) | {START + timedelta(days=35)}
    day = START + timedelta(days=35)
    assert check_day({**spend, day: Decimal(20)}, day, observed, DEFAULT) is None  # 19 above, < 25
    assert check_day({**spend, day: Decimal(27)}, day, observed, DEFAULT) is not None


def test_the_driver_is_the_part_whose_own_change_explains_most():
    n = 35
    day = START + timedelta(days=n)
    observed = set(days(n + 1))
    steady = {d: Decimal(40) for d in days(n + 1)}
    spiking = {**{d: Decimal(10) for d in days(n)}, day: Decimal(90)}
    falling = {**{d: Decimal(30) for d in days(n)}, day: Decimal(5)}
    parts = {("ws", "endpoint", "a/blue"): spiking, ("ws", "compute", "c1"): steady, ("vm", "other", ""): falling}
    driver = driver_of(parts, day, observed, DEFAULT)
    assert driver.key == ("ws", "endpoint", "a/blue") and driver.change == 80


# -- anomalies: hypothesis variants (fixed seed, bounded) ---------------------------------------

cents = st.integers(min_value=100, max_value=100_000).map(lambda c: Decimal(c) / 100)


@seed(17)
@settings(max_examples=60, deadline=None)
@given(level=cents, n=st.integers(min_value=1, max_value=60))
def test_hypothesis_constant_series_never_fire(level, n):
    spend = {d: level for d in days(n)}
    observed = set(spend)
    assert detect(spend, observed, observed, LOOSE) == []


@seed(17)
@settings(max_examples=60, deadline=None)
@given(weekday=cents, weekend=cents, weeks=st.integers(min_value=1, max_value=10),
       jitter=st.lists(st.integers(min_value=-2, max_value=2), min_size=70, max_size=70))
def test_hypothesis_weekday_weekend_pattern_with_jitter_never_fires(weekday, weekend, weeks, jitter):
    # Any two levels, each day within ±2 % of its level: a weekly pattern is not an anomaly.
    spend = {d: (weekend if d.weekday() >= 5 else weekday) * (100 + jitter[i]) / 100
             for i, d in enumerate(days(weeks * 7))}
    observed = set(spend)
    assert detect(spend, observed, observed, DEFAULT) == []


@seed(17)
@settings(max_examples=60, deadline=None)
@given(history=st.integers(min_value=0, max_value=4), spike=st.integers(min_value=1, max_value=10**7))
def test_hypothesis_too_short_history_never_fires(history, spike):
    # Fewer than min_history_days (5) days of the spike's kind before it: never fires.
    weekdays = [d for d in days(14) if d.weekday() < 5][:history]
    spend = {d: Decimal(10) for d in weekdays}
    day = START + timedelta(days=21)  # a Monday after them
    spend[day] = Decimal(spike)
    assert check_day(spend, day, set(spend), DEFAULT) is None


@seed(17)
@settings(max_examples=80, deadline=None)
@given(spread=st.integers(min_value=1, max_value=50), k=st.integers(min_value=-200, max_value=200))
def test_hypothesis_planted_spike_fires_iff_above_k_mads(spread, k):
    # Weekdays alternating 100 ± spread (MAD = spread), a spike of (threshold_mad + k/100)·MAD.
    s = Anomalies(min_excess=Decimal(0), mad_floor_pct=Decimal(0))
    history = {d: Decimal(100 + (spread if i % 2 else -spread)) for i, d in enumerate(days(28))}
    day = START + timedelta(days=28)
    observed = set(history) | {day}
    base = baseline(history, day, observed, s)
    size = (s.threshold_mad + Decimal(k) / 100) * base.mad
    fired = check_day({**history, day: base.expected + size}, day, observed, s)
    assert (fired is not None) == (size > s.threshold_mad * base.mad)


# -- forecasts ------------------------------------------------------------------------------------

OCTOBER = date(2026, 10, 1)


def _month(values) -> dict[date, Decimal]:
    return {OCTOBER + timedelta(days=i): Decimal(v) for i, v in enumerate(values)}


def test_a_closed_month_is_its_actual_spend():
    daily = _month([10] * 31)
    f = month_end_forecast(daily, OCTOBER, date(2026, 10, 31))
    assert (f.month_to_date, f.forecast, f.days_left, f.method) == (310, Decimal("310.00"), 0, "actual")


def test_a_linear_trend_with_a_weekend_level_is_forecast_exactly():
    # Weekdays 20 + 2·day, weekends half: the trend-with-weekend fit recovers it.
    def spend(d: date) -> Decimal:
        base = Decimal(20 + 2 * (d - OCTOBER).days)
        return base / 2 if d.weekday() >= 5 else base
    all_days = [OCTOBER + timedelta(days=i) for i in range(31)]
    actual = sum(spend(d) for d in all_days)
    daily = {d: spend(d) for d in all_days[:15]}
    f = month_end_forecast(daily, OCTOBER, date(2026, 10, 15))
    assert f.method == "trend" and f.days_left == 16
    assert f.month_to_date == sum(daily.values())
    # Not exact (half a weekend day is not additive to a line), but within 3 % of the actual month.
    assert abs(f.forecast - actual) / actual < Decimal("0.03"), (f.forecast, actual)


def test_a_flat_weekday_heavy_series_is_not_charged_weekday_rates_for_weekends():
    all_days = [OCTOBER + timedelta(days=i) for i in range(31)]
    daily = {d: Decimal(0) if d.weekday() >= 5 else Decimal(100) for d in all_days}
    actual = sum(daily.values())
    f = month_end_forecast({d: v for d, v in daily.items() if d.day <= 14}, OCTOBER, date(2026, 10, 14))
    assert abs(f.forecast - actual) <= 1, (f.forecast, actual)


def test_few_days_fall_back_to_day_type_averages():
    f = month_end_forecast(_month([10, 10, 10]), OCTOBER, date(2026, 10, 3))  # Thu, Fri, Sat
    assert f.method == "day-type average"
    assert f.forecast > f.month_to_date
    empty = month_end_forecast({}, OCTOBER, date(2026, 10, 10), observed_from=date(2026, 10, 11))
    assert empty.method == "no data" and empty.forecast == 0


@seed(17)
@settings(max_examples=50, deadline=None)
@given(level=cents, cutoff=st.integers(min_value=1, max_value=30))
def test_hypothesis_a_steady_series_forecasts_its_own_month(level, cutoff):
    daily = {OCTOBER + timedelta(days=i): level for i in range(31)}
    through = OCTOBER + timedelta(days=cutoff - 1)
    f = month_end_forecast({d: v for d, v in daily.items() if d <= through}, OCTOBER, through)
    assert abs(f.forecast - level * 31) <= Decimal("0.02")


# -- settings -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    ({"budgets": {"projects": {"x": {"amount": 0, "currency": "USD"}}}}, "budgets.projects.x.amount"),
    ({"budgets": {"projects": {"x": {"amount": 10, "currency": "usdollar"}}}}, "budgets.projects.x.currency"),
    ({"budgets": {"cost_centers": {"CC-1": {"amount": 10}}}}, "budgets.cost_centers.CC-1.currency: Field required"),
    ({"budgets": {"owners": {"a@x": {"amount": 1, "currency": "EUR", "limit": 3}}}}, "budgets.owners.a@x.limit: unknown key"),
    ({"budgets": {"projects": {"A": {"amount": 1, "currency": "EUR"}, "a": {"amount": 2, "currency": "EUR"}}}},
     "budgets.projects: 'a' has two budgets"),
    ({"anomalies": {"threshold_mad": 0}}, "anomalies.threshold_mad"),
    ({"anomalies": {"min_history_days": 9}}, "cannot be reached by weekend days"),
    ({"alerts": {"teams_url_env": "https://contoso.webhook.office.com/x"}}, "alerts.teams_url_env: name the "
                                                                              "environment variable"),
    ({"alerts": {"webhook_url_env": "MY HOOK"}}, "alerts.webhook_url_env: 'MY HOOK' is not an environment"),
    ({"alerts": {"min_severity": "critical"}}, "alerts.min_severity"),
])
def test_bad_budget_anomaly_and_alert_settings_name_the_key(data, message):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert message in str(info.value) and str(info.value).startswith("finops.yaml: ")


def test_budget_settings_are_read():
    config = parse_config({"budgets": {"projects": {" genai-eval ": {"amount": "1500.50", "currency": "usd",
                                                                    "owner": "hana@contoso.com"}}},
                           "anomalies": {"threshold_mad": 4, "min_excess": 5},
                           "alerts": {"teams_url_env": "TEAMS_URL", "webhook_url_env": "HOOK_URL"}})
    budget = config.budgets.projects["genai-eval"]
    assert (budget.amount, budget.currency, budget.owner) == (Decimal("1500.50"), "USD", "hana@contoso.com")
    assert config.anomalies.threshold_mad == 4 and config.alerts.teams_url_env == "TEAMS_URL"
    assert parse_config({}).anomalies.enabled and parse_config({}).budgets.projects == {}


@seed(23)
@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(min_value=-2000, max_value=2000), min_size=1, max_size=40),
                min_size=1, max_size=12),
       st.integers(min_value=0, max_value=39))
def test_hypothesis_the_pruned_driver_search_is_the_visit_of_every_part(amounts, offset):
    # Credits (negative amounts), gaps, ties and parts that start late: the search that stops
    # early must name the driver a visit of every part names, with the same change.
    day = START + timedelta(days=offset)
    observed = set(days(41))
    parts = {(f"ws{i % 3}", "compute", f"c{i}"): {START + timedelta(days=40 - len(values) + j): Decimal(v) / 4
                                                   for j, v in enumerate(values) if v % 7}
             for i, values in enumerate(amounts)}
    every = []
    for key, series in parts.items():
        base = baseline(series, day, observed, LOOSE)
        every.append((series.get(day, Decimal(0)) - (base.expected if base else Decimal(0)), key))
    change = max(c for c, _ in every)
    driver = driver_of(parts, day, observed, LOOSE)
    assert driver.change == change and driver.key == min(k for c, k in every if c == change)


@seed(29)
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=40),
                          st.integers(min_value=-3000, max_value=3000)), min_size=1, max_size=120),
       )
def test_hypothesis_the_search_over_resource_day_rows_names_the_driver_of_their_series(rows):
    # Rows as project_resource_days reads them: several rows for one resource and day (summed),
    # credits, missing locations and names (keyed ""), resources of one location. The search built
    # from the rows must name what the search over hand-summed series names.
    from dagster_project.budgets.anomalies import DriverSearch
    from dagster_project.budgets.evaluate import _part_search

    resources = [(None, "other", None), ("/subscriptions/s/disks/d1", "other", None), ("ws", "compute", "c1"),
                 ("ws", "compute", "c2"), ("ws", "endpoint", None), ("", "other", "")]
    frame = pl.DataFrame(
        [{"location": resources[r][0], "aml_kind": resources[r][1], "aml_name": resources[r][2],
          "charge_day": START + timedelta(days=d), "effective_cost": Decimal(v) / 8} for r, d, v in rows],
        schema={"location": pl.String, "aml_kind": pl.String, "aml_name": pl.String, "charge_day": pl.Date,
                "effective_cost": pl.Decimal(38, 10)})
    parts: dict[tuple, dict[date, Decimal]] = {}
    for r, d, v in rows:
        where, kind, name = resources[r]
        series = parts.setdefault((where or "", kind, name or ""), {})
        day = START + timedelta(days=d)
        series[day] = series.get(day, Decimal(0)) + Decimal(v) / 8
    observed = set(days(41))
    by_series, by_rows = DriverSearch.of_parts(parts), _part_search(frame)
    for day in sorted(observed):
        expected, found = by_series.driver(day, observed, LOOSE), by_rows.driver(day, observed, LOOSE)
        assert (found.key, found.change) == (expected.key, expected.change), day


# -- anomaly findings over a hand-built daily frame ----------------------------------------------

def _daily_rows(project: str, resource: str, spike_day: date, spike: Decimal) -> list[dict]:
    rows = []
    for d in (date(2026, 9, 1) + timedelta(days=i) for i in range(61)):
        for name, level in ((resource, Decimal(10)), (f"{resource}-steady", Decimal(40))):
            amount = spike if (d == spike_day and name == resource) else level
            rows.append({"billing_month": d.replace(day=1), "charge_day": d, "billing_currency": "USD",
                         "project": project, "owner": f"{project}@example.com", "cost_center": None,
                         "resource_id": f"/subscriptions/s/resourcegroups/rg/providers/x/{name}",
                         "workspace_id": None, "aml_kind": None, "aml_name": None, "effective_cost": amount})
    return rows


def test_each_project_with_an_anomaly_names_its_own_driver():
    # Two projects spike in the same month, each on its own resource: the second project's driver
    # must be found as surely as the first's (the driver search runs once per anomalous project).
    rows = (_daily_rows("alpha", "vm-alpha", date(2026, 10, 14), Decimal(500))
            + _daily_rows("beta", "vm-beta", date(2026, 10, 21), Decimal(700)))
    schema = {c: polars_schema("cost_daily")[c] for c in rows[0]}
    resource_days = pl.DataFrame(rows, schema=schema).rename({"resource_id": "location"})  # none is Azure ML
    daily = resource_days.drop("location")

    def project_days(currency: str, project: str | None) -> pl.DataFrame:
        return resource_days.filter(pl.col("billing_currency") == currency, pl.col("project").eq_missing(project))

    inputs = EventInputs(date(2026, 10, 1), datetime(2026, 11, 2), daily, {}, project_days)
    found = anomaly_findings(parse_config({}), inputs).filter(pl.col("rule_id") == "anomaly")
    by_project = {row["project"]: row for row in found.iter_rows(named=True)}
    assert sorted(by_project) == ["alpha", "beta"]
    assert "most of it: vm-alpha (+490.00)" in by_project["alpha"]["action"]
    assert "most of it: vm-beta (+690.00)" in by_project["beta"]["action"]
