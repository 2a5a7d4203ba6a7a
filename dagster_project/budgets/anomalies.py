"""Daily spend anomalies: a robust statistic over the trailing days of the same kind.

For a day `d` of a series (a project, or one Azure ML compute or deployment, in one currency):

* the **baseline** is the spend on the observed days of the same kind as `d` (weekday or weekend)
  among the `window_days` days before it, from the series' first day with spend on: a day the
  series has no cost is 0 (it was observed: the warehouse has data for it); a day before the
  warehouse's first data, or before the series existed, is not part of its history;
* **expected** is the median of the baseline, **MAD** its median absolute deviation, floored at
  `mad_floor_pct` % of the expected (a perfectly steady series needs a real jump, not a cent);
* the day is an **anomaly** when `spend − expected > threshold_mad × MAD` and
  `spend − expected ≥ min_excess`, and only when the baseline has at least `min_history_days`
  days: a series with too little data (a new resource, the first weeks of the data) never fires;
  nor does an intermittent series, one without spend on at least half of its baseline days (a
  batch cluster billed only on the days its jobs run has no level for a day to stand out from).

Every amount is a `Decimal` (the median of an even count is the mean of the middle two, exact).
For a project anomaly, the **driver** is the resource of the project whose own spend rose most
above its own expected (same baseline rule) on that day.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from dagster_project.budgets.forecast import is_weekend
from dagster_project.budgets.settings import Anomalies

ZERO = Decimal(0)


def median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class Baseline:
    expected: Decimal
    mad: Decimal  # floored
    days: int  # baseline days
    days_with_spend: int


def first_spend(series: Mapping[date, Decimal]) -> date | None:
    return min((d for d, v in series.items() if v != 0), default=None)


@lru_cache(maxsize=4096)
def _window_days_of_kind(day: date, window_days: int) -> tuple[date, ...]:
    """The days of `day`'s kind (weekday or weekend) among the `window_days` days before it, the
    latest first. The same for every series of a run: computed once per day, not per series."""
    kind = is_weekend(day)
    return tuple(d for d in (day - timedelta(days=i) for i in range(1, window_days + 1)) if is_weekend(d) == kind)


def baseline(series: Mapping[date, Decimal], day: date, observed: set[date], settings: Anomalies,
             since: date | None = None) -> Baseline | None:
    """The baseline of `day` from `since` (the series' first spend) on; None when no day of its
    kind was observed before it."""
    since = first_spend(series) if since is None else since
    if since is None:
        return None
    values = [series.get(d, ZERO) for d in _window_days_of_kind(day, settings.window_days)
              if d in observed and d >= since]
    if not values:
        return None
    expected = median(values)
    mad = median([abs(v - expected) for v in values])
    mad = max(mad, abs(expected) * settings.mad_floor_pct / 100)
    return Baseline(expected, mad, len(values), sum(1 for v in values if v != 0))


@dataclass(frozen=True)
class Anomaly:
    day: date
    amount: Decimal
    expected: Decimal
    mad: Decimal
    threshold: Decimal  # the spend above which the day fires: expected + threshold_mad × MAD
    baseline_days: int

    @property
    def excess(self) -> Decimal:
        return self.amount - self.expected


def check_day(series: Mapping[date, Decimal], day: date, observed: set[date], settings: Anomalies,
              since: date | None = None) -> Anomaly | None:
    """The anomaly of `day`, or None (too little history, or within the threshold)."""
    base = baseline(series, day, observed, settings, since)
    if base is None or base.days < settings.min_history_days:
        return None
    # An intermittent series (a batch cluster that bills only on the days its jobs run: most of its
    # baseline days without spend) has no level to stand out from; every job day would fire.
    if base.days_with_spend * 2 <= base.days:
        return None
    amount = series.get(day, ZERO)
    excess = amount - base.expected
    if excess > settings.threshold_mad * base.mad and excess >= settings.min_excess:
        return Anomaly(day, amount, base.expected, base.mad, base.expected + settings.threshold_mad * base.mad,
                       base.days)
    return None


def detect(series: Mapping[date, Decimal], days: Iterable[date], observed: set[date],
           settings: Anomalies) -> list[Anomaly]:
    """Every anomalous day among `days` (the days being evaluated, e.g. one billing month)."""
    since = first_spend(series)
    found = (check_day(series, day, observed, settings, since) for day in sorted(days) if day in observed)
    return [a for a in found if a is not None]


@dataclass(frozen=True)
class Driver:
    key: tuple
    change: Decimal  # its spend that day minus its own expected


class DriverSearch:
    """The driver of a project's anomalies among its parts (resources), one day at a time.

    A project of a large tenant has thousands of resources and a month can hold dozens of project
    anomalies, so the parts are visited from the highest possible change down and the search stops
    once no part left can beat the best: a part's expected is a median of its own amounts and of 0
    (its observed days without spend), so it is never below the part's lowest amount or 0, and its
    change never above its spend that day minus that floor. The answer is the one a visit of every
    part gives, ties included (the smallest key).

    The parts come as columns: their keys, their floors, a day's spend per part (`spend_on`), and a
    part's whole series (`series`), read only for the parts the search visits. A large project's
    resource-days as Python dicts took hundreds of MB (`of_parts` builds the columns from dicts)."""

    def __init__(self, keys: Sequence[tuple], floors: Sequence[Decimal],
                 spend_on: Callable[[date], Mapping[int, Decimal]], series: Callable[[int], Mapping[date, Decimal]]):
        if len(keys) != len(floors):
            raise ValueError(f"{len(keys)} parts but {len(floors)} floors")
        self._keys, self._floors, self._spend_on, self._series = list(keys), list(floors), spend_on, series

    @classmethod
    def of_parts(cls, parts: Mapping[tuple, Mapping[date, Decimal]]) -> DriverSearch:
        """The search over parts given as key → {day: amount}."""
        keys, series = list(parts), list(parts.values())
        return cls(keys, [part_floor(s.values()) for s in series],
                   lambda day: {i: s[day] for i, s in enumerate(series) if day in s}, series.__getitem__)

    def driver(self, day: date, observed: set[date], settings: Anomalies) -> Driver | None:
        best: Driver | None = None
        spend = self._spend_on(day)
        # A heap, not a sort: the search usually stops after a few of thousands of parts.
        bounded = [(floor - spend.get(index, ZERO), key, index)
                   for index, (key, floor) in enumerate(zip(self._keys, self._floors, strict=True))]
        heapq.heapify(bounded)
        while bounded:
            negative_bound, key, index = heapq.heappop(bounded)
            if best is not None and -negative_bound < best.change:
                break
            series = self._series(index)
            base = baseline(series, day, observed, settings)
            expected = base.expected if base is not None else ZERO
            change = series.get(day, ZERO) - expected
            if best is None or change > best.change or (change == best.change and key < best.key):
                best = Driver(key, change)
        return best


def part_floor(amounts: Iterable[Decimal]) -> Decimal:
    """The least a part's expected can be: its lowest amount, or 0 (see DriverSearch)."""
    return min(ZERO, min(amounts, default=ZERO))


def driver_of(parts: Mapping[tuple, Mapping[date, Decimal]], day: date, observed: set[date],
              settings: Anomalies) -> Driver | None:
    """The part (resource) whose spend on `day` rose most above its own expected."""
    return DriverSearch.of_parts(parts).driver(day, observed, settings)
