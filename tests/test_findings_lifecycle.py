"""Findings across runs in one output folder: stable ids, first/last seen, resolved, suppressed."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime

import duckdb
import pytest

from dagster_project.demo.generate import generate_demo
from dagster_project.runner import run_pipeline

OCTOBER = date(2026, 10, 1)
FIRST_CAPTURE = datetime(2026, 11, 1, 6, tzinfo=UTC)
SECOND_CAPTURE = datetime(2026, 11, 8, 6, tzinfo=UTC)


def _findings(out):
    con = duckdb.connect(str(out / "finops.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT finding_id, rule_id, resource_name, status, first_seen, last_seen, "
                           "suppression_reason FROM findings WHERE billing_month = $m", {"m": OCTOBER}).fetchall()
    finally:
        con.close()
    return {r[0]: dict(zip(("id", "rule", "name", "status", "first_seen", "last_seen", "reason"), r, strict=True)) for r in rows}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lifecycle")
    paths = generate_demo(root / "tenant", months=1)
    out = root / "out"
    run_pipeline(paths.exports, paths.inventory, out, months=[OCTOBER])
    first = _findings(out)

    # A week later: bob enabled the nightly stop schedule of his instance.
    later = root / "inventory-later"
    shutil.copytree(paths.inventory, later)
    info = json.loads((later / "snapshot.json").read_text())
    info["captured_at"] = SECOND_CAPTURE.isoformat().replace("+00:00", "Z")
    (later / "snapshot.json").write_text(json.dumps(info))
    [computes_file] = later.rglob("workspaces/mlw-recs-prod/computes.json")
    body = json.loads(computes_file.read_text())
    for compute in body["value"]:
        if compute["name"] == "ci-bob-gpu":
            for schedule in compute["properties"]["properties"]["schedules"]["computeStartStop"]:
                if schedule["action"] == "Stop":
                    schedule["status"] = "Enabled"
    computes_file.write_text(json.dumps(body))
    config = root / "finops.yaml"
    config.write_text(
        "suppressions:\n"
        "  - rule: stale_version\n    scope: '*/data/transactions/*'\n    reason: kept for the audit\n"
        "    until: 2026-12-31\n"
        "  - rule: duplicate_artifact\n    reason: expired waiver\n    until: 2026-11-05\n"
    )
    run_pipeline(paths.exports, later, out, months=[OCTOBER], config=config)
    second = _findings(out)
    run_pipeline(paths.exports, later, out, months=[OCTOBER], config=config)
    third = _findings(out)
    return first, second, third


def test_a_fixed_resource_turns_resolved_and_keeps_its_history(two_runs):
    first, second, _ = two_runs
    [fixed] = [f for f in second.values() if f["rule"] == "ci_no_idle_shutdown" and f["name"] == "ci-bob-gpu"]
    assert fixed["status"] == "resolved"
    assert fixed["first_seen"] == FIRST_CAPTURE and fixed["last_seen"] == FIRST_CAPTURE
    assert first[fixed["id"]]["status"] == "open"


def test_ids_are_stable_and_first_seen_is_kept(two_runs):
    first, second, _ = two_runs
    assert set(first) <= set(second)
    # A week older, four running instances have now been left running for over 7 days: new
    # findings, first seen now. Everything else keeps its id and its first sighting.
    new = [second[i] for i in set(second) - set(first)]
    assert sorted((f["rule"], f["name"]) for f in new) == [
        ("ci_left_running", "ci-alice-dev"), ("ci_left_running", "ci-dave-vision"),
        ("ci_left_running", "ci-ivan-index"), ("ci_left_running", "ci-temp-experiment")]
    for finding_id, now in second.items():
        if now["status"] == "resolved":
            continue
        assert now["first_seen"] == (FIRST_CAPTURE if finding_id in first else SECOND_CAPTURE), now
        assert now["last_seen"] == SECOND_CAPTURE, now


def test_suppression_hides_with_its_reason_and_expires(two_runs):
    first, second, _ = two_runs
    stale = [f for f in second.values() if f["rule"] == "stale_version"]
    transactions = [f for f in stale if f["name"].startswith("transactions:")]
    assert transactions and all(f["status"] == "suppressed" and f["reason"] == "kept for the audit"
                                for f in transactions)
    assert all(f["status"] == "open" for f in stale if not f["name"].startswith("transactions:"))
    duplicates = [f for f in second.values() if f["rule"] == "duplicate_artifact"]
    assert duplicates and all(f["status"] == "open" and f["reason"] is None for f in duplicates)


def test_rerunning_with_the_same_inputs_changes_nothing(two_runs):
    _, second, third = two_runs
    assert third == second
