"""Every printed command parses as the `az` command it claims to be, with hostile names intact.

The accepted arguments below are taken from the Azure CLI reference (learn.microsoft.com/cli/azure):
`az ml compute stop|delete|update`, `az ml online-deployment delete`, `az ml model|environment|data
archive` (ml extension 2.x) and the core `az rest` and `az tag update`. Keep this list in step with
the commands the rules print.
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from dagster_project.attribution.resolve import InventoryIndex, Resolver
from dagster_project.config import parse_config
from dagster_project.findings.rules import FindingInputs, evaluate_findings
from dagster_project.inventory.tables import TABLE_SCHEMAS

WORKSPACE_ARGS = {"--name", "--resource-group", "--workspace-name", "--subscription"}
AZ_ARGUMENTS: dict[tuple[str, ...], set[str]] = {
    ("ml", "compute", "stop"): WORKSPACE_ARGS | {"--no-wait"},
    ("ml", "compute", "delete"): WORKSPACE_ARGS | {"--yes", "--no-wait"},
    ("ml", "compute", "update"): WORKSPACE_ARGS | {"--min-instances", "--max-instances",
                                                   "--idle-time-before-scale-down", "--set", "--add", "--remove"},
    ("ml", "online-deployment", "delete"): WORKSPACE_ARGS | {"--endpoint-name", "--yes", "--no-wait"},
    ("ml", "model", "archive"): WORKSPACE_ARGS | {"--version", "--label", "--registry-name"},
    ("ml", "environment", "archive"): WORKSPACE_ARGS | {"--version", "--label", "--registry-name"},
    ("ml", "data", "archive"): WORKSPACE_ARGS | {"--version", "--label", "--registry-name"},
    ("rest",): {"--method", "--url", "--uri", "--body", "--headers", "--resource"},
    ("tag", "update"): {"--resource-id", "--operation", "--tags"},
}
FLAGS = {"--yes", "--no-wait"}

HOSTILE = "ci-'$(rm -rf ~)\"; x`y` z"
SUB = "00000000-0000-0000-0000-000000000001"
RG = "rg with space"
WS_NAME = "mlw-o'brien"
WS = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS_NAME}"
NOW = datetime(2026, 11, 1, 6, tzinfo=UTC)


def parse_az(command: str) -> tuple[tuple[str, ...], dict[str, str | None]]:
    words = shlex.split(command)
    assert words[0] == "az", command
    for path in sorted(AZ_ARGUMENTS, key=len, reverse=True):
        if tuple(words[1:1 + len(path)]) == path:
            break
    else:
        raise AssertionError(f"unknown az command: {command}")
    args: dict[str, str | None] = {}
    rest = words[1 + len(path):]
    i = 0
    while i < len(rest):
        name = rest[i]
        assert name in AZ_ARGUMENTS[path], f"{name} is not an argument of az {' '.join(path)}"
        if name in FLAGS:
            args[name] = None
            i += 1
        else:
            args[name] = rest[i + 1]
            i += 2
    return path, args


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    full = [{name: row.get(name) for name in schema.names()} for row in rows]
    return pl.DataFrame(full, schema=schema, orient="row")


@pytest.fixture()
def hostile_findings():
    compute_id = f"{WS}/computes/{HOSTILE}"
    workspaces = _frame("inventory_workspaces", [{
        "workspace_id": WS.lower(), "workspace_id_original": WS, "subscription_id": SUB, "resource_group": RG,
        "workspace_name": WS_NAME, "tags": json.dumps({"project": "<script>alert(1)</script>"}), "captured_at": NOW}])
    computes = _frame("inventory_computes", [
        {"compute_id": compute_id.lower(), "compute_id_original": compute_id, "workspace_id": WS.lower(),
         "compute_name": HOSTILE, "compute_type": "ComputeInstance", "vm_size": "Standard_DS3_v2",
         "state": "Running", "last_operation_name": "Start", "last_operation_time": datetime(2026, 10, 1, tzinfo=UTC),
         "idle_shutdown": None, "stop_schedule_enabled": False, "tags": "{}", "created_by": "eve@contoso.com",
         "captured_at": NOW},
        {"compute_id": f"{WS}/computes/old cluster".lower(), "compute_id_original": f"{WS}/computes/old cluster",
         "workspace_id": WS.lower(), "compute_name": "old cluster", "compute_type": "AmlCompute",
         "vm_size": "Standard_D4s_v3", "state": "Steady", "min_nodes": 2, "max_nodes": 4,
         "idle_seconds_before_scaledown": 3600, "tags": "{}", "captured_at": NOW},
    ])
    versions = _frame("inventory_asset_versions", [
        {"asset_id": f"{WS}/models/m o'del/versions/{v}".lower(), "asset_id_original": f"{WS}/models/m o'del/versions/{v}",
         "workspace_id": WS.lower(), "kind": "model", "name": "m o'del", "version": str(v),
         "created_on": datetime(2026, 1, v, tzinfo=UTC), "created_by": "eve", "is_archived": False,
         "path": f"azureml://datastores/x/paths/{v}", "tags": "{}", "captured_at": NOW} for v in range(1, 6)])
    endpoint_id = f"{WS}/onlineEndpoints/ep"
    deployments = _frame("inventory_deployments", [{
        "deployment_id": f"{endpoint_id}/deployments/d 1".lower(), "deployment_id_original": f"{endpoint_id}/deployments/d 1",
        "endpoint_id": endpoint_id.lower(), "workspace_id": WS.lower(), "endpoint_name": "ep", "deployment_name": "d 1",
        "instance_type": "Standard_DS3_v2", "instance_count": 1, "provisioning_state": "Failed", "traffic_pct": 0,
        "mirror_traffic_pct": 0, "tags": "{}", "captured_at": NOW}])
    allocation = pl.DataFrame([{
        "billing_month": date(2026, 10, 1), "billing_currency": "USD", "resource_id": f"{WS}/x".lower(),
        "workspace_id": WS.lower(), "aml_kind": "dependency", "aml_name": "st o'brien", "project": "(unallocated)",
        "effective_cost": Decimal("99.5")}])
    usage = pl.DataFrame([{"workspace_id": WS.lower(), "aml_kind": "compute", "aml_name": HOSTILE,
                           "billing_currency": "USD", "effective_cost": Decimal("300"), "usage_hours": Decimal("720")}])
    config = parse_config({})
    index = InventoryIndex.build(workspaces, computes, _frame("inventory_endpoints", []), deployments)
    inputs = FindingInputs(date(2026, 10, 1), NOW, "USD", workspaces, computes, versions,
                           _frame("inventory_endpoints", []), deployments, _frame("inventory_jobs", []), usage,
                           allocation)
    return evaluate_findings(config, Resolver(config, index), inputs)


def test_every_command_parses_with_known_arguments(hostile_findings):
    rules = set(hostile_findings["rule_id"])
    assert {"ci_no_idle_shutdown", "ci_left_running", "cluster_warm_nodes", "cluster_slow_scaledown",
            "cluster_unused", "deployment_no_traffic", "deployment_failed_billed", "stale_version",
            "untagged_spend"} <= rules
    for command in hostile_findings["command"]:
        parse_az(command)


def test_hostile_names_survive_quoting_as_one_argument(hostile_findings):
    ci = hostile_findings.filter(pl.col("rule_id") == "ci_left_running").row(0, named=True)
    path, args = parse_az(ci["command"])
    assert path == ("ml", "compute", "stop")
    assert args == {"--name": HOSTILE, "--subscription": SUB, "--resource-group": RG, "--workspace-name": WS_NAME}
    deployment = hostile_findings.filter(pl.col("rule_id") == "deployment_failed_billed").row(0, named=True)
    assert parse_az(deployment["command"])[1]["--name"] == "d 1"
    stale = hostile_findings.filter(pl.col("rule_id") == "stale_version")
    assert sorted(parse_az(c)[1]["--version"] for c in stale["command"]) == ["1", "2"]
    assert {parse_az(c)[1]["--name"] for c in stale["command"]} == {"m o'del"}
    rest = hostile_findings.filter(pl.col("rule_id") == "ci_no_idle_shutdown").row(0, named=True)
    _, rest_args = parse_az(rest["command"])
    assert rest_args["--url"].endswith(f"/computes/{HOSTILE}/updateIdleShutdownSetting?api-version=2025-12-01")
    assert json.loads(rest_args["--body"]) == {"idleTimeBeforeShutdown": "PT60M"}


def test_savings_come_from_observed_cost(hostile_findings):
    by_rule = {r["rule_id"]: r for r in hostile_findings.iter_rows(named=True)}
    # 720 billed hours at 300/720 an hour; a 50 h/week schedule over 31 days is 221.43 h.
    expected_excess = (Decimal(720) - Decimal(50) * 31 / 7) * (Decimal(300) / Decimal(720))
    assert by_rule["ci_no_idle_shutdown"]["savings"] == expected_excess.quantize(Decimal("0.01"))
    assert by_rule["ci_left_running"]["savings"] == Decimal("300.00")
    assert by_rule["stale_version"]["savings"] == 0
    assert "hygiene" in json.loads(by_rule["stale_version"]["evidence"])["savings_basis"]
    assert by_rule["ci_left_running"]["severity"] == "medium"
