"""Benchmark the inventory replay on a large demo snapshot.

    .venv/bin/python scripts/bench_inventory.py [--workspaces 200] [--names 8] [--versions 12]
                                                [--workers 2] [--out DIR] [--profile]

Writes the scaled demo tenant (`dagster_project.demo.large`) as a snapshot (into a temporary
folder unless --out), then times `load_inventory` on it: the whole replay through azure-ai-ml
(every request served by `ReplayTransport`, every body deserialized by the SDK) and the
normalization into the eight tables. Prints wall time, requests per second and peak RSS
(`resource.getrusage`, the process high-water mark, so it includes writing the snapshot).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dagster_project.demo.large import build_large_tenant  # noqa: E402
from dagster_project.demo.snapshot import write_snapshot  # noqa: E402
from dagster_project.inventory import collect, replay  # noqa: E402
from dagster_project.inventory.tables import REPLAY_MAX_WORKERS, load_inventory  # noqa: E402


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=200)
    parser.add_argument("--names", type=int, default=8, help="names per asset kind per workspace")
    parser.add_argument("--versions", type=int, default=12, help="versions per name")
    parser.add_argument("--workers", type=int, default=REPLAY_MAX_WORKERS)
    parser.add_argument("--out", default=None, help="keep the snapshot in this folder")
    parser.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    args = parser.parse_args()

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="aml-finops-bench-"))
    started = time.perf_counter()
    tenant = build_large_tenant(args.workspaces, args.names, args.versions)
    write_snapshot(tenant, out)
    files = sum(1 for _ in out.rglob("*.json"))
    print(f"snapshot: {len(tenant.workspaces)} workspaces, {len(tenant.asset_versions):,} asset versions, "
          f"{len(tenant.jobs):,} jobs, {files:,} files, written in {time.perf_counter() - started:.1f} s")
    rss_before = _peak_rss_mib()

    # Count every request the replay serves (ReplayTransport.requests_served, summed over the
    # transports load_inventory creates).
    transports: list[replay.ReplayTransport] = []

    class CountedReplay(replay.ReplayTransport):
        def __init__(self, *a: object, **k: object) -> None:
            super().__init__(*a, **k)
            transports.append(self)

    collect.ReplayTransport = CountedReplay  # type: ignore[misc]
    profiler = cProfile.Profile() if args.profile else None
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    inventory = load_inventory(out, max_workers=args.workers)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - began
    collect.ReplayTransport = replay.ReplayTransport  # type: ignore[misc]
    requests = sum(t.requests_served for t in transports)

    counts = {name: frame.height for name, frame in inventory.tables().items()}
    print("tables: " + ", ".join(f"{name.removeprefix('inventory_')} {rows:,}" for name, rows in counts.items()))
    print(f"failures: {len(inventory.failures)}")
    print(f"replay wall time: {wall:.2f} s")
    print(f"requests: {requests:,} ({requests / wall:,.0f} requests/s)")
    print(f"asset versions/s: {counts['inventory_asset_versions'] / wall:,.0f}")
    print(f"peak RSS: {_peak_rss_mib():,.0f} MiB (after writing the snapshot: {rss_before:,.0f} MiB)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    if not args.out:
        shutil.rmtree(out, ignore_errors=True)
    return 1 if inventory.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
