"""Month-end forecast of a daily spend series, and budget status per project / cost center / owner.

**Method** (docs/reports.md, "Budgets and forecasts"). The month-to-date is the exact sum of the
month's days through `data_through`, the last day the month has any cost at all. The remaining
days are forecast from the last `forecast_days` observed days (this month's, then the end of the
month before): an ordinary least-squares line with a weekend term, `spend = a + b·day + c·weekend`,
so a project whose spend climbs is forecast climbing and a weekday-heavy project is not charged
weekday rates for its weekends. Each forecast day is clipped at zero. With fewer than
`min_forecast_days` observed days (a new project, the first days of the data) the forecast falls
back to the average of each kind of day (weekday / weekend) seen, else the average of all days.
A closed month (no day left) is its actual spend. The forecast is an estimate: it is rounded to
the cent, the month-to-date is exact.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dagster_project.money import round_cents

ZERO = Decimal(0)
# The trend is used only when its slope's t statistic reaches this (docs/reports.md).
TREND_MIN_T = 6.0
AVERAGE_DAYS = 14  # the days the day-type averages are taken over


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


@dataclass(frozen=True)
class Forecast:
    month_to_date: Decimal  # exact
    forecast: Decimal  # rounded to the cent
    data_through: date
    days_left: int
    method: str  # actual | trend | day-type average | average | no data


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination for the small normal equations; None when singular."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]


def _slope_is_clear(points: list[tuple[list[float], float]], coef: list[float], min_t: float) -> bool:
    """Whether the fitted daily slope stands out of the day-to-day noise: its t statistic (slope
    over its standard error) is at least `min_t`. A level shift or a one-off spike has a slope
    but not a clear one; a steady climb has."""
    n, width = len(points), len(coef)
    if n <= width:
        return False
    residual = sum((y - sum(c * x for c, x in zip(coef, xs, strict=True))) ** 2 for xs, y in points)
    variance = residual / (n - width)
    if variance <= 1e-18:
        return abs(coef[1]) > 1e-12
    xtx = [[sum(x[i] * x[j] for x, _ in points) for j in range(width)] for i in range(width)]
    unit = _solve(xtx, [1.0 if i == 1 else 0.0 for i in range(width)])
    if unit is None or unit[1] <= 0:
        return False
    return abs(coef[1]) / math.sqrt(variance * unit[1]) >= min_t


def _least_squares(points: list[tuple[list[float], float]]) -> list[float] | None:
    width = len(points[0][0])
    xtx = [[sum(x[i] * x[j] for x, _ in points) for j in range(width)] for i in range(width)]
    xty = [sum(x[i] * y for x, y in points) for i in range(width)]
    return _solve(xtx, xty)


def month_end_forecast(daily: Mapping[date, Decimal], month: date, data_through: date, *,
                       observed_from: date | None = None, forecast_days: int = 28,
                       min_forecast_days: int = 7, min_t: float = TREND_MIN_T) -> Forecast:
    """Forecast the month's total from `daily` (day → spend; a missing day is 0).

    `data_through` is the last day with data in the month (any scope); `observed_from` the first
    day the warehouse has data for (days before it are unknown, not zero; default: the first day
    of `daily`)."""
    last = month_end(month)
    data_through = min(data_through, last)
    mtd = sum((daily.get(month + timedelta(days=i), ZERO)
               for i in range((data_through - month).days + 1)), ZERO)
    remaining = [data_through + timedelta(days=i) for i in range(1, (last - data_through).days + 1)]
    if not remaining:
        return Forecast(mtd, round_cents(mtd), data_through, 0, "actual")
    if observed_from is None:
        observed_from = min(daily, default=month)
    start = max(data_through - timedelta(days=forecast_days - 1), observed_from)
    window = [start + timedelta(days=i) for i in range((data_through - start).days + 1)]
    values = [(d, float(daily.get(d, ZERO))) for d in window]
    origin = data_through.toordinal()
    predicted: list[float] | None = None
    method = "trend"
    if len(values) >= min_forecast_days:
        weekends = sum(1 for d, _ in values if is_weekend(d))
        with_weekend = 2 <= weekends <= len(values) - 2
        points = [([1.0, float(d.toordinal() - origin)] + ([1.0 if is_weekend(d) else 0.0] if with_weekend else []),
                   y) for d, y in values]
        coef = _least_squares(points)
        if coef is not None and _slope_is_clear(points, coef, min_t):
            predicted = [coef[0] + coef[1] * (d.toordinal() - origin)
                         + (coef[2] if with_weekend and is_weekend(d) else 0.0) for d in remaining]
        elif coef is not None:
            method = "day-type average"
    if predicted is None:
        if not values:
            return Forecast(mtd, round_cents(mtd), data_through, len(remaining), "no data")
        # Without a clear trend the recent level counts: the last two weeks (a level shift early in
        # the window no longer drags the average).
        recent = values[-AVERAGE_DAYS:]
        kinds = {kind: [y for d, y in recent if is_weekend(d) == kind] for kind in (False, True)}
        overall = sum(y for _, y in recent) / len(recent)
        method = "day-type average" if all(kinds.values()) else "average"
        predicted = [(sum(kinds[is_weekend(d)]) / len(kinds[is_weekend(d)])) if kinds[is_weekend(d)] else overall
                     for d in remaining]
    rest = sum(max(0.0, p) for p in predicted)
    # The float estimate enters the money world once, rounded to the cent.
    forecast = round_cents(mtd + Decimal(repr(round(rest, 6))))
    return Forecast(mtd, forecast, data_through, len(remaining), method)


@dataclass(frozen=True)
class BudgetLine:
    scope: str  # project | cost_center | owner
    name: str
    currency: str
    budget: Decimal
    owner: str | None
    forecast: Forecast

    @property
    def status(self) -> str:
        if self.forecast.month_to_date > self.budget:
            return "over_budget"
        if self.forecast.forecast > self.budget:
            return "forecast_over"
        return "on_track"


@dataclass(frozen=True)
class BacktestPoint:
    scope: str
    month: date
    cutoff: int  # the forecast was made with days 1..cutoff of the month known
    actual: Decimal
    forecast: Decimal

    @property
    def error(self) -> Decimal:
        """Absolute error as a fraction of the actual month."""
        return abs(self.forecast - self.actual) / self.actual


def backtest(series: Mapping[str, Mapping[date, Decimal]], months: list[date], cutoffs: tuple[int, ...] = (7, 14, 21),
             min_month_spend: Decimal = Decimal(100), **forecast_settings) -> list[BacktestPoint]:
    """Replay the forecast on history: for each scope and month (with at least `min_month_spend`),
    forecast the month end from its first `cutoff` days (and the days before the month), and set
    it beside what the month actually spent."""
    points = []
    for scope, daily in sorted(series.items()):
        observed_from = min(daily, default=None)
        for month in months:
            last = month_end(month)
            actual = sum((v for d, v in daily.items() if month <= d <= last), ZERO)
            if actual < min_month_spend or observed_from is None:
                continue
            for cutoff in cutoffs:
                through = month + timedelta(days=cutoff - 1)
                known = {d: v for d, v in daily.items() if d <= through}
                f = month_end_forecast(known, month, through, observed_from=observed_from, **forecast_settings)
                points.append(BacktestPoint(scope, month, cutoff, actual, f.forecast))
    return points
