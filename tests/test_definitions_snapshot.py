"""The Dagster code location against a recorded snapshot: every asset with its dependencies,
group and partitions, every asset check with its blocking flag, the jobs with their assets, the
schedules with their cron and the sensors (as dagster-open-platform's `test_defs.py` does).

A change to the graph shows as a readable diff of `tests/snapshots/definitions.json`. When the
change is intended, re-record the snapshot and commit it with the change:

    AML_FINOPS_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_definitions_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dagster import Definitions, MonthlyPartitionsDefinition

from dagster_project.definitions import build_definitions, deployment_resources

# The code location as Dagster loads it with nothing configured (the demo default).
defs = build_definitions(deployment_resources({}))

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _partitions(partitions_def) -> dict | None:
    if partitions_def is None:
        return None
    described = {"type": type(partitions_def).__name__}
    if isinstance(partitions_def, MonthlyPartitionsDefinition):
        described.update(start=partitions_def.start.strftime("%Y-%m-%d"), cron=partitions_def.cron_schedule,
                         timezone=partitions_def.timezone, end_offset=partitions_def.end_offset)
    return described


def describe(definitions: Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "group": node.group_name,
            "partitions": _partitions(node.partitions_def),
            "materializable": node.is_materializable,
        }
    checks = {
        f"{check.asset_key.to_user_string()}:{check.name}": {"blocking": graph.get_check_spec(check).blocking}
        for check in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name))
    }
    jobs = {}
    for job in sorted(definitions.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):  # Dagster's implicit asset job
            continue
        selected = job.asset_layer.selected_asset_keys
        jobs[job.name] = {"assets": sorted(k.to_user_string() for k in selected),
                          "partitions": _partitions(job.partitions_def)}
    schedules = {
        s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone,
                 "default_status": s.default_status.value}
        for s in sorted(definitions.schedules or [], key=lambda s: s.name)
    }
    sensors = {
        s.name: {"jobs": sorted(j.name for j in s.jobs) if s.has_jobs else [],
                 "minimum_interval_seconds": s.minimum_interval_seconds, "default_status": s.default_status.value}
        for s in sorted(definitions.sensors or [], key=lambda s: s.name)
    }
    return {"assets": assets, "asset_checks": checks, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def test_definitions_match_the_snapshot():
    current = describe(defs)
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("AML_FINOPS_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.is_file(), f"no snapshot at {SNAPSHOT}: record it (see this module's docstring)"
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert current == recorded, (
        "the Definitions changed; if intended, re-record tests/snapshots/definitions.json "
        "(AML_FINOPS_UPDATE_SNAPSHOT=1 pytest tests/test_definitions_snapshot.py) and commit it")


def test_the_snapshot_notices_a_changed_graph():
    """The comparison is not vacuous: the code location without its publication asset, or without
    a schedule, does not match the recorded snapshot."""
    from dagster_project.definitions import ALL_ASSETS, default_resources

    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    fewer_assets = Definitions(assets=[a for a in ALL_ASSETS if "published_month" not in
                                       {k.to_user_string() for k in a.keys}], resources=default_resources())
    assert describe(fewer_assets)["assets"] != recorded["assets"]
    no_schedules = Definitions(assets=ALL_ASSETS, resources=default_resources())
    assert describe(no_schedules)["schedules"] != recorded["schedules"]
