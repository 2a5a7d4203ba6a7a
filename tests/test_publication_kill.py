"""A run killed with SIGKILL at a random moment leaves every published month as it was before the
run or as it is after it, never a mix (one month, one transaction). Its own file, so that the
test runner can run it beside the others."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time

from publication_support import CLI, run_cli, state

from dagster_project.warehouse import Warehouse


def test_killed_runs_leave_the_month_before_or_after_never_a_mix(published, tmp_path):
    """SIGKILL at seeded random moments of a September re-run, three times: after each kill the
    published output (once the next writer has opened the warehouse) equals the state before or
    the state after; a re-run then always reaches the state after."""
    paths, exports, before, _removed = published
    reference = tmp_path / "reference"
    shutil.copytree(before, reference)
    started = time.monotonic()
    args = ["run", "--exports", str(exports), "--inventory", str(paths.inventory), "--month", "2026-09"]
    result = run_cli(*args, "--out", str(reference))
    assert result.returncode == 0, result.stderr
    duration = time.monotonic() - started
    state_before, state_after = state(before), state(reference)
    assert state_before != state_after
    rng = random.Random(11)
    seen = {"before": 0, "after": 0}
    for attempt in range(3):
        out = tmp_path / f"killed-{attempt}"
        shutil.copytree(before, out)
        process = subprocess.Popen([*CLI, *args, "--out", str(out)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        # Late moments are where the publication happens: weigh them more.
        time.sleep(duration * (0.35 + 0.65 * rng.random() ** 0.5))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with Warehouse(out).connect():  # the next writer completes or discards the interrupted month
            pass
        now = state(out)
        assert now in (state_before, state_after), f"kill {attempt}: a mix of before and after"
        seen["before" if now == state_before else "after"] += 1
        result = run_cli(*args, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert state(out) == state_after
    print(f"kills ended in: {seen}")
    assert sum(seen.values()) == 3
