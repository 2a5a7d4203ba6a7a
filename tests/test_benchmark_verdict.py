"""scripts/benchmark.py --demo: the verdict lines it ends with (the floor, and what the forced
phases leave of the 8 s target), computed from phase results written by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _benchmark():
    path = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"
    spec = importlib.util.spec_from_file_location("benchmark_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(seconds: float, extra: dict | None = None) -> tuple:
    return (seconds, 0.0, 0, 100.0, extra or {})  # run_phases' (seconds, cpu, rows, peak RSS, parts)


def test_the_floor_counts_only_the_imports_inside_the_clock_and_the_forced_phases_add_to_it():
    benchmark = _benchmark()
    imports = {benchmark.BEFORE_CLOCK: 1.5, "Dagster's instance (its SQL storage)": 0.75,
               "azure-ai-ml, azure-identity": 1.5, "the project's modules": 0.25}
    results = {"imports": _result(4.0, imports), "dagster": _result(2.0), "replay": _result(0.75),
               "render": _result(0.5), "demo": _result(12.0)}

    lines = benchmark.demo_verdict(results)

    assert lines[0].startswith("demo 12.00 s MISSED (target <= 8 s")
    assert lines[1].startswith("floor 4.50 s: the imports inside the CLI's clock 2.50 s + Dagster's runs "
                               "of the no-op graph 2.00 s; 3.50 s of the target")
    assert lines[2] == "the work (demo - floor) 7.50 s"
    assert lines[3] == ("floor + replay + render 5.75 s: 2.25 s of the target are left for everything else; "
                        "the rest of the run takes 6.25 s")


def test_a_demo_within_the_target_passes_and_phases_not_run_are_not_reported():
    benchmark = _benchmark()

    assert benchmark.demo_verdict({"demo": _result(7.5)}) == [
        "demo 7.50 s ok (target <= 8 s, timed as the CLI's \"Months: … in N s\")"]
    lines = benchmark.demo_verdict({"imports": _result(1.0, {"azure-ai-ml, azure-identity": 1.0}),
                                    "dagster": _result(2.0), "render": _result(1.0)})
    assert lines == ["floor 3.00 s: the imports inside the CLI's clock 1.00 s + Dagster's runs of the no-op "
                     "graph 2.00 s; 5.00 s of the target are left for the work",
                     "floor + render 4.00 s: 4.00 s of the target are left for everything else"]
