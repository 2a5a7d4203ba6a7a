"""Cost ingestion and whole-run benchmark against the bare DuckDB floor and a pandas peer.

    python scripts/benchmark.py --rows 1000000 [--rows 10000000] [--repeat N] [--data DIR] [--keep DIR]

For each N: generate (or reuse, from `--data`, default /tmp/aml-finops-bench/rows-N) the demo
tenant with N line items over 3 months — full-width FOCUS 1.2 CSV as Cost Management writes it —
then measure, each phase in its own child process (so peak RSS is per phase):

  ingest   `load_month` of every month (discovery included) into a fresh DuckDB file;
  floor    one bare DuckDB query over the newest runs' files: sum(EffectiveCost) as DECIMAL by
           project tag and currency — the least any tool has to do to answer the question;
  floor_per_file
           the same query run once per file (for reference: on this data it is faster than one
           query over all files; the ratios use `floor`, the issue's definition);
  pandas   a plain pandas script doing only that: read_csv(chunksize=1_000_000, usecols=…),
           json.loads of Tags, groupby project (floats, as such scripts do);
  whole    `runner.run_pipeline` (inventory, then per month ingest → attribute → findings →
           publish), the same as `aml-finops run`.

Prints a table (wall seconds, rows/s, peak RSS) and the ratios whole/floor, ingest/floor and
whole/pandas. With `--repeat N` every phase runs N times (interleaved) and the fastest run is
reported, which damps the noise of a shared machine. `--keep DIR` keeps the warehouses written by `ingest` and `whole` under DIR.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FLOOR_SQL = """
SELECT json_extract_string(Tags, '$.project') AS project, BillingCurrency,
       sum(CAST(EffectiveCost AS DECIMAL(38, 10))) AS effective_cost
FROM read_csv($files, header = true, all_varchar = true)
GROUP BY ALL
"""


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _newest_files(exports: Path) -> list[str]:
    from dagster_project.costs.discovery import months_available, runs_for_month

    return [str(b.path) for m in months_available(exports) for r in runs_for_month(exports, m) for b in r.blobs]


# Each phase runs in a child process and returns (seconds, rows, detail).
def phase_ingest(exports: str, out: str) -> tuple[float, int, str]:

    from dagster_project.costs.discovery import months_available, runs_for_month
    from dagster_project.costs.load import load_month
    from dagster_project.warehouse import Warehouse

    warehouse = Warehouse(Path(out) / "ingest")
    shutil.rmtree(warehouse.out_dir, ignore_errors=True)
    start = time.perf_counter()
    rows = rejects = 0
    publishing = 0.0
    with warehouse.connect() as con:
        for month in months_available(Path(exports)):
            result = load_month(con, runs_for_month(Path(exports), month), month)
            rows += result.rows_loaded
            rejects += result.rows_rejected
            # The line items become public with their month: the copy out of staging and the
            # Parquet mirror, in one transaction (the rest of a month's publication is elsewhere).
            published = time.perf_counter()
            warehouse.publish(con, month)
            publishing += time.perf_counter() - published
    return time.perf_counter() - start, rows, f"{rejects} rejects; publishing {publishing:.2f} s of it"


def _data_rows(con, files: list[str]) -> int:
    return con.execute("SELECT count(*) FROM read_csv($files, header = true, all_varchar = true)",
                       {"files": files}).fetchone()[0]


def phase_floor(exports: str, out: str) -> tuple[float, int, str]:
    import duckdb

    files = _newest_files(Path(exports))
    con = duckdb.connect()
    start = time.perf_counter()
    result = con.execute(FLOOR_SQL, {"files": files}).fetchall()
    seconds = time.perf_counter() - start
    rows = _data_rows(con, files)  # not timed
    return seconds, rows, f"{len(result)} project x currency groups"


def phase_floor_per_file(exports: str, out: str) -> tuple[float, int, str]:
    import duckdb

    files = _newest_files(Path(exports))
    con = duckdb.connect()
    start = time.perf_counter()
    for path in files:
        con.execute(FLOOR_SQL, {"files": [path]}).fetchall()
    seconds = time.perf_counter() - start
    rows = _data_rows(con, files)  # not timed
    return seconds, rows, f"{len(files)} files, one query each"


def phase_pandas(exports: str, out: str) -> tuple[float, int, str]:
    import json

    import pandas as pd

    files = _newest_files(Path(exports))
    start = time.perf_counter()
    totals: dict[tuple[str, str], float] = {}
    rows = 0
    for path in files:
        for chunk in pd.read_csv(path, chunksize=1_000_000, usecols=["EffectiveCost", "BillingCurrency", "Tags"],
                                 dtype={"Tags": str, "BillingCurrency": str}):
            rows += len(chunk)
            chunk["project"] = chunk["Tags"].map(lambda t: json.loads(t).get("project") if isinstance(t, str) else None)
            grouped = chunk.groupby(["project", "BillingCurrency"], dropna=False)["EffectiveCost"].sum()
            for key, value in grouped.items():
                totals[key] = totals.get(key, 0.0) + value
    return time.perf_counter() - start, rows, f"pandas {pd.__version__}"


def phase_whole(exports: str, out: str) -> tuple[float, int, str]:
    import duckdb

    from dagster_project.runner import run_pipeline

    inventory = Path(exports).parent / "inventory"
    target = Path(out) / "whole"
    shutil.rmtree(target, ignore_errors=True)  # a repeat starts from an empty warehouse too
    start = time.perf_counter()
    summary = run_pipeline(Path(exports), inventory, target)
    seconds = time.perf_counter() - start
    con = duckdb.connect(str(target / "finops.duckdb"), read_only=True)
    rows = con.execute("SELECT count(*) FROM cost_line_items").fetchone()[0]
    con.close()
    return seconds, rows, f"{len(summary.months)} months, {summary.findings_open} findings"


PHASES = {"ingest": phase_ingest, "floor": phase_floor, "floor_per_file": phase_floor_per_file,
          "pandas": phase_pandas, "whole": phase_whole}


def _child(name: str, exports: str, out: str, queue) -> None:
    try:
        seconds, rows, detail = PHASES[name](exports, out)
        queue.put((seconds, rows, detail, _peak_rss_mib(), None))
    except BaseException as exc:  # report, don't hang the parent
        queue.put((0.0, 0, "", _peak_rss_mib(), f"{type(exc).__name__}: {exc}"))


def run_phase(name: str, exports: Path, out: Path) -> tuple[float, int, str, float, str | None]:
    ctx = mp.get_context("spawn")  # a fresh interpreter: peak RSS belongs to this phase alone
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, str(exports), str(out), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def warm_page_cache(exports: Path) -> None:
    """Read every file once so no phase pays (or is spared) the cold disk read."""
    buf = bytearray(1 << 20)
    for path in sorted(p for p in exports.rglob("*") if p.is_file()):
        with open(path, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass


def ensure_data(rows: int, data_dir: Path) -> Path:
    from dagster_project.demo.generate import generate_demo

    target = data_dir / f"rows-{rows}"
    start = time.perf_counter()
    paths = generate_demo(target, rows=rows, reuse=True, progress=lambda m: print(f"  generate: {m}", flush=True))
    print(f"data: {target} ({time.perf_counter() - start:.0f} s to generate or reuse)", flush=True)
    return paths.exports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", required=True, help="line items (repeatable)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "aml-finops-bench",
                        help="cache of generated demo tenants, reused when unchanged")
    parser.add_argument("--keep", type=Path, help="keep the warehouses written by ingest and whole here")
    parser.add_argument("--phases", default="floor,floor_per_file,ingest,pandas,whole",
                        help="comma-separated subset")
    parser.add_argument("--repeat", type=int, default=1, help="runs per phase; the fastest is reported")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    report = []
    for rows in args.rows:
        exports = ensure_data(rows, args.data)
        out = Path(tempfile.mkdtemp(prefix="aml-finops-bench-out-")) if args.keep is None else args.keep / f"rows-{rows}"
        out.mkdir(parents=True, exist_ok=True)
        warm_page_cache(exports)
        results = {}
        try:
            for attempt in range(1, args.repeat + 1):
                for name in phases:
                    seconds, n, detail, rss, error = run_phase(name, exports, out)
                    if error:
                        print(f"{rows:>11,} {name:<14} FAILED: {error}", flush=True)
                        continue
                    if name not in results or seconds < results[name][0]:
                        results[name] = (seconds, n, rss)
                    print(f"{rows:>11,} {name:<14} {seconds:8.2f} s {n / seconds if seconds else 0:>12,.0f} rows/s "
                          f"{rss:8.0f} MiB  ({n:,} rows; {detail})"
                          + (f" [run {attempt}/{args.repeat}]" if args.repeat > 1 else ""), flush=True)
        finally:
            if args.keep is None:
                shutil.rmtree(out, ignore_errors=True)
        report.append((rows, results))
    print("\n| rows | phase | wall s | rows/s | peak RSS MiB |\n|---:|---|---:|---:|---:|")
    for rows, results in report:
        for name, (seconds, n, rss) in results.items():
            print(f"| {rows:,} | {name} | {seconds:.2f} | {n / seconds if seconds else 0:,.0f} | {rss:,.0f} |")
    print()
    for rows, results in report:
        ratios = []
        floor = results.get("floor", (0,))[0]
        if floor and "whole" in results:
            ratios.append(f"whole/floor {results['whole'][0] / floor:.2f}x (target <= 2.5x)")
        if floor and "ingest" in results:
            ratios.append(f"ingest/floor {results['ingest'][0] / floor:.2f}x (target <= 1.5x)")
        if "pandas" in results and "whole" in results:
            ratios.append(f"whole/pandas {results['whole'][0] / results['pandas'][0]:.2f}x (target < 1)")
        print(f"{rows:,} rows: " + "; ".join(ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
