"""Measure the month-end forecast's error on a warehouse's history (docs/reports.md).

    python scripts/forecast_error.py --out DIR [--month YYYY-MM ...] [--cutoffs 7,14,21]

For every project (per currency) with at least 100 of spend in a month, the forecast is replayed
as if it had been made on day 7, 14 and 21 of that month (the days before the month count as its
history), and set beside what the month actually spent. Prints, per cutoff day, the median and
the largest absolute error in % of the month, and every project's error for the latest month.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from datetime import date
from pathlib import Path

from dagster_project.budgets.forecast import backtest
from dagster_project.warehouse import Warehouse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the output folder of a run (holds finops.duckdb)")
    parser.add_argument("--month", action="append", help="month(s) to replay (default: every month but the first)")
    parser.add_argument("--cutoffs", default="7,14,21")
    args = parser.parse_args()
    with Warehouse(Path(args.out)).connect(read_only=True) as con:
        rows = con.execute("SELECT billing_currency || ' ' || project, charge_day, sum(effective_cost) "
                           "FROM cost_daily GROUP BY ALL").fetchall()
        months = [r[0] for r in con.execute("SELECT DISTINCT billing_month FROM cost_daily ORDER BY 1").fetchall()]
    series: dict[str, dict[date, object]] = defaultdict(dict)
    for scope, day, amount in rows:
        series[scope][day] = amount
    wanted = [date.fromisoformat(f"{m}-01") for m in args.month] if args.month else months[1:]
    cutoffs = tuple(int(c) for c in args.cutoffs.split(","))
    points = backtest(series, wanted, cutoffs)
    print(f"forecast error on {len(series)} project series, months {', '.join(f'{m:%Y-%m}' for m in wanted)}")
    print("cutoff day | forecasts | median error | largest error")
    for cutoff in cutoffs:
        errors = [float(p.error) * 100 for p in points if p.cutoff == cutoff]
        if errors:
            print(f"{cutoff:>10} | {len(errors):>9} | {statistics.median(errors):>11.2f}% | {max(errors):>12.2f}%")
    latest = max(wanted)
    print(f"per project, {latest:%Y-%m} (actual; forecast on day {', '.join(map(str, cutoffs))}):")
    for scope in sorted({p.scope for p in points if p.month == latest}):
        mine = [p for p in points if p.month == latest and p.scope == scope]
        forecasts = ", ".join(f"{p.forecast} ({float(p.error) * 100:.1f}%)" for p in mine)
        print(f"  {scope}: {mine[0].actual.quantize(mine[0].forecast)}; {forecasts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
