"""Recording a snapshot, throttling, failures, resource groups, and ages measured from captured_at.

The recorder is tested end to end with no network: its *inner* transport replays the demo
snapshot (or a variant of it that throttles, fails or leaks secrets), so the real azure-ai-ml and
azure-mgmt-resource code runs through `RecordingTransport` exactly as it would live.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl
import pytest
from azure.core.rest import HttpRequest
from azure.core.utils import case_insensitive_dict

from dagster_project.demo.tenant import Tenant
from dagster_project.inventory import replay as replay_module
from dagster_project.inventory.record import (
    REDACTED,
    RecordingTransport,
    is_secret_name,
    record_snapshot,
    redact,
)
from dagster_project.inventory.replay import ReplayCredential, ReplayTransport
from dagster_project.inventory.snapshot_paths import read_snapshot_info, snapshot_relpath
from dagster_project.inventory.tables import Inventory, collect_inventory, load_inventory

ARM = "https://management.azure.com"


def _scopes(snapshot_dir: Path) -> list[str]:
    return read_snapshot_info(snapshot_dir).scopes


def _assert_same_tables(left: Inventory, right: Inventory, *, ignore_captured_at: bool = False) -> None:
    assert left.tables().keys() == right.tables().keys()
    for name, frame in left.tables().items():
        other = right.tables()[name]
        if ignore_captured_at:
            frame, other = frame.drop("captured_at"), other.drop("captured_at")
        assert frame.height > 0 or name == "inventory_failures", name  # a complete capture has no failures
        assert frame.equals(other), name


def _response(request: Any, status: int, body: bytes, headers: dict[str, str]) -> Any:
    """A canned azure-core response of the kind (legacy or rest) the request expects."""
    if replay_module._is_legacy_request(request):
        response = replay_module._ReplayLegacyResponse(request, status, body)
    else:
        response = replay_module._ReplayRestResponse(request, status, body)
    response.headers = case_insensitive_dict({"Content-Type": "application/json", **headers})
    return response


class ThrottlingTransport(ReplayTransport):
    """Answers the first request for every snapshot file with HTTP 429 + `Retry-After`, then the
    recorded body. `sleep` (what azure-core's RetryPolicy calls to wait) is recorded instead of
    slept, so the test proves the header's value is the one waited for, at no cost in time."""

    def __init__(self, snapshot_dir: Path, retry_after: str = "7") -> None:
        super().__init__(snapshot_dir)
        self.retry_after = retry_after
        self.throttled: list[PurePosixPath] = []
        self.sleeps: list[float] = []
        self._seen: set[PurePosixPath] = set()
        self._guard = threading.Lock()

    def send(self, request: Any, **kwargs: Any) -> Any:
        relpath = snapshot_relpath(request.method, request.url)
        with self._guard:
            first = relpath not in self._seen
            self._seen.add(relpath)
            if first:
                self.throttled.append(relpath)
        if first:
            return _response(request, 429, b'{"error": {"code": "TooManyRequests", "message": "slow down"}}',
                             {"Retry-After": self.retry_after})
        return super().send(request, **kwargs)

    def sleep(self, duration: float) -> None:
        with self._guard:
            self.sleeps.append(duration)


class FailingTransport(ReplayTransport):
    """HTTP 500 (with `Retry-After: 0`, so the retries cost nothing) for the files in `failing`."""

    def __init__(self, snapshot_dir: Path, failing: set[PurePosixPath]) -> None:
        super().__init__(snapshot_dir)
        self.failing = failing
        self.failed_requests = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        if snapshot_relpath(request.method, request.url) in self.failing:
            self.failed_requests += 1
            return _response(request, 500, b'{"error": {"code": "InternalServerError", "message": "boom"}}',
                             {"Retry-After": "0"})
        return super().send(request, **kwargs)

    def sleep(self, duration: float) -> None:
        return None


# ---------------------------------------------------------------------------------------------
# Record → replay
# ---------------------------------------------------------------------------------------------

def test_record_then_replay_gives_identical_tables(demo_snapshot_dir: Path, demo_snapshot_inventory: Inventory, tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    before = datetime.now(UTC)
    recorded = record_snapshot(ReplayCredential(), _scopes(demo_snapshot_dir), out, transport=ReplayTransport(demo_snapshot_dir))
    after = datetime.now(UTC)
    assert recorded.failures == []

    info = read_snapshot_info(out)
    assert before <= info.captured_at <= after  # the start of the listing, UTC
    assert info.scopes == _scopes(demo_snapshot_dir)
    assert info.tool_version.startswith("aml-finops/")
    replayed = load_inventory(out)
    assert replayed.failures == []
    assert replayed.captured_at == info.captured_at == recorded.captured_at
    # What the live listing returned is exactly what the replay of its recording returns ...
    _assert_same_tables(recorded, replayed)
    # ... and the same as the source snapshot's tables (only captured_at, the recording time, differs).
    _assert_same_tables(demo_snapshot_inventory, replayed, ignore_captured_at=True)
    # No temporary folder is left beside the snapshot.
    assert [p.name for p in tmp_path.iterdir()] == ["recorded"]


def test_recorder_merges_pages_in_order_without_next_link(demo_snapshot_dir: Path, demo_tenant: Tenant, tmp_path: Path) -> None:
    platform = demo_tenant.workspace("mlw-shared-platform")
    relpath = snapshot_relpath("GET", f"{ARM}{platform.id}/computes")
    whole = json.loads((demo_snapshot_dir / str(relpath)).read_bytes())
    assert len(whole["value"]) == 5  # the platform workspace also has the shared GPU cluster (job showback)
    next_link = f"{ARM}{platform.id}/computes?api-version=2023-08-01-preview&$skipToken=page2"
    pages = [
        json.dumps({"value": whole["value"][:1], "nextLink": next_link}).encode(),
        json.dumps({"value": whole["value"][1:3], "nextLink": next_link.replace("page2", "page3")}).encode(),
        json.dumps({"value": whole["value"][3:]}).encode(),
    ]

    class PagedTransport(ReplayTransport):
        def load_body(self, rel: PurePosixPath, method: str, url: str) -> bytes:
            if rel == relpath:
                return pages[2 if "page3" in url else 1 if "page2" in url else 0]
            return super().load_body(rel, method, url)

    out = tmp_path / "paged"
    inventory = record_snapshot(ReplayCredential(), _scopes(demo_snapshot_dir), out, transport=PagedTransport(demo_snapshot_dir))
    assert inventory.failures == []
    merged = json.loads((out / str(relpath)).read_bytes())
    assert merged == {"value": whole["value"]}  # every page, in order, no nextLink
    assert load_inventory(out).computes.height == len(demo_tenant.compute_instances) + len(demo_tenant.clusters)


def test_recording_only_named_workspaces_replays_just_those(demo_snapshot_dir: Path, demo_snapshot_inventory: Inventory,
                                                            demo_tenant: Tenant, tmp_path: Path) -> None:
    recs = demo_tenant.workspace("mlw-recs-prod")
    out = tmp_path / "one"
    record_snapshot(ReplayCredential(), [demo_tenant.subscriptions[0].id], out, workspace_names=["MLW-RECS-PROD"],
                    transport=ReplayTransport(demo_snapshot_dir))
    info = read_snapshot_info(out)
    assert [scope.lower() for scope in info.scopes] == [recs.id.lower()]
    replayed = load_inventory(out)
    assert replayed.failures == []
    assert replayed.workspaces["workspace_name"].to_list() == ["mlw-recs-prod"]
    expected = demo_snapshot_inventory.asset_versions.filter(pl.col("workspace_id") == recs.id.lower()).drop("captured_at")
    assert replayed.asset_versions.drop("captured_at").equals(expected)
    assert replayed.resource_groups["resource_group"].to_list() == ["rg-recs"]


def test_recorder_refuses_an_existing_folder_and_writes(demo_snapshot_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="already exists"):
        record_snapshot(ReplayCredential(), _scopes(demo_snapshot_dir), tmp_path / "busy", transport=ReplayTransport(demo_snapshot_dir))
    assert (tmp_path / "busy" / "keep.txt").read_text() == "x"

    recorder = RecordingTransport(ReplayTransport(demo_snapshot_dir))
    for method in ("PUT", "DELETE", "PATCH", "POST"):
        with pytest.raises(ValueError, match="only reads"):
            recorder.send(HttpRequest(method, f"{ARM}/subscriptions/s/resourceGroups/r/providers/x/y/start"))
    assert recorder.requests_sent == 0


# ---------------------------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------------------------

def test_no_secret_reaches_the_snapshot(demo_snapshot_dir: Path, demo_tenant: Tenant, tmp_path: Path) -> None:
    fraud = demo_tenant.workspace("mlw-fraud-prod")
    computes = snapshot_relpath("GET", f"{ARM}{fraud.id}/computes")
    workspace_list = snapshot_relpath(
        "GET", f"{ARM}/subscriptions/{fraud.subscription_id}/providers/Microsoft.MachineLearningServices/workspaces")

    class LeakyTransport(ReplayTransport):
        """Every response carries `Authorization: Bearer SECRET`; two bodies carry secrets."""

        def send(self, request: Any, **kwargs: Any) -> Any:
            relpath = snapshot_relpath(request.method, request.url)
            body = self.load_body(relpath, request.method, request.url)
            if relpath == computes:
                document = json.loads(body)
                document["value"][0]["properties"]["properties"].update({
                    "sasUri": "https://x.blob.core.windows.net/c?sv=2024-01-01&sp=r&sig=SECRET1",
                    "setupScripts": {"scripts": {"startupScript": {
                        "scriptSource": "https://x.blob.core.windows.net/s/a.sh?se=2030&Sig=SECRET2"}}},
                    "connectionString": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=SECRET3",
                })
                document["value"][0]["properties"]["description"] = "token: Bearer SECRET4 and eyJhbGciOiJub25l.eyJzdWIiOiJTRUNSRVQ1In0.sig"
                body = json.dumps(document).encode()
            elif relpath == workspace_list:
                document = json.loads(body)
                document["value"][0]["properties"].update({
                    "accessToken": "SECRET6", "adminPassword": "SECRET7",
                    "credentials": {"clientSecret": "SECRET8", "tenantId": "SECRET9", "retries": 3},
                    "primaryKey": "SECRET10", "storage_account_keys": ["SECRET11"],
                })
                body = json.dumps(document).encode()
            return _response(request, 200, body, {"Authorization": "Bearer SECRET12", "x-ms-sas": "sig=SECRET13"})

    class SecretCredential(ReplayCredential):
        TOKEN = "SECRET14"

    out = tmp_path / "leaky"
    inventory = record_snapshot(SecretCredential(), _scopes(demo_snapshot_dir), out, transport=LeakyTransport(demo_snapshot_dir))
    assert inventory.failures == []

    for path in out.rglob("*"):
        if path.is_file():
            assert b"SECRET" not in path.read_bytes(), path
    kept = json.loads((out / str(workspace_list)).read_bytes())["value"][0]["properties"]
    # Redaction keeps the structure (so the SDK still deserializes) and the ids that are not secrets.
    assert kept["credentials"] == {"clientSecret": REDACTED, "tenantId": REDACTED, "retries": 3}
    assert kept["keyVault"] == fraud.key_vault_id and kept["storageAccount"] == fraud.storage_account_id
    compute = json.loads((out / str(computes)).read_bytes())["value"][0]["properties"]
    assert compute["properties"]["sasUri"] == REDACTED
    assert compute["properties"]["setupScripts"]["scripts"]["startupScript"]["scriptSource"].endswith("&Sig=REDACTED")
    assert compute["description"] == f"token: Bearer {REDACTED} and {REDACTED}"
    assert compute["computeType"] == "ComputeInstance"
    # The redacted snapshot replays cleanly.
    assert load_inventory(out).failures == []


def test_redaction_rules() -> None:
    for name in ("password", "clientSecret", "accessToken", "sasToken", "connectionString", "primaryKey",
                 "secondaryKeys", "sshPublicKey", "Authorization", "account_key", "credentials", "apiKey"):
        assert is_secret_name(name), name
    for name in ("keyVault", "storageAccount", "authorizationSource", "computeInstanceAuthorizationType",
                 "keyVaultProperties", "tags", "applicationInsights", "idleTimeBeforeShutdown"):
        assert not is_secret_name(name), name
    document = {"tags": {"api-key": "abc", "owner": "a@b.c"}, "uri": "https://h/p?code=abc&x=1",
                "list": ["Server=x;Password=p4ss;", 3, True, None]}
    assert redact(document) == {"tags": {"api-key": REDACTED, "owner": "a@b.c"}, "uri": f"https://h/p?code={REDACTED}&x=1",
                                "list": [f"Server=x;Password={REDACTED};", 3, True, None]}


def test_a_request_with_a_credential_in_its_url_is_not_recorded(demo_snapshot_dir: Path, tmp_path: Path) -> None:
    recorder = RecordingTransport(ReplayTransport(demo_snapshot_dir))
    recorder._record("GET", "https://x.blob.core.windows.net/c/blob.json?sv=1&sig=SECRET", b'{"a": 1}')
    recorder.write(tmp_path)
    assert list(tmp_path.rglob("*")) == []
    assert [item.reason for item in recorder.not_recorded] == [
        "the request URL carries a credential in its query; not recorded"]
    assert "SECRET" not in recorder.not_recorded[0].url


# ---------------------------------------------------------------------------------------------
# Throttling and failures
# ---------------------------------------------------------------------------------------------

def test_429_with_retry_after_is_honoured_on_every_kind_of_call(demo_snapshot_dir: Path, demo_snapshot_inventory: Inventory) -> None:
    transport = ThrottlingTransport(demo_snapshot_dir, retry_after="7")
    inventory = collect_inventory(ReplayCredential(), _scopes(demo_snapshot_dir), transport,
                                  captured_at=demo_snapshot_inventory.captured_at)
    assert inventory.failures == []
    _assert_same_tables(demo_snapshot_inventory, inventory)
    throttled = {str(path) for path in transport.throttled}
    # ARM (azure-ai-ml), the discovery document, run history (data plane) and azure-mgmt-resource
    # all went through a 429 first.
    assert "discovery.json" in throttled
    assert any(path.startswith("history/v1.0/") for path in throttled)
    assert any(path.endswith("/resourcegroups.json") for path in throttled)
    assert any(path.endswith("/computes.json") for path in throttled)
    # Each throttled call waited exactly what Retry-After asked for, once.
    assert transport.sleeps == [7.0] * len(transport.throttled)


def test_recording_through_throttling_keeps_only_the_successful_bodies(demo_snapshot_dir: Path, demo_snapshot_inventory: Inventory,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "throttled"
    inventory = record_snapshot(ReplayCredential(), _scopes(demo_snapshot_dir), out,
                                transport=ThrottlingTransport(demo_snapshot_dir, retry_after="0"))
    assert inventory.failures == []
    assert not any(b"TooManyRequests" in p.read_bytes() for p in out.rglob("*.json"))
    _assert_same_tables(demo_snapshot_inventory, load_inventory(out), ignore_captured_at=True)


def test_a_failing_workspace_is_named_and_the_others_are_complete(demo_snapshot_dir: Path, demo_snapshot_inventory: Inventory,
                                                                  demo_tenant: Tenant) -> None:
    recs = demo_tenant.workspace("mlw-recs-prod")
    transport = FailingTransport(demo_snapshot_dir, {snapshot_relpath("GET", f"{ARM}{recs.id}/computes")})
    messages: list[str] = []
    inventory = collect_inventory(ReplayCredential(), _scopes(demo_snapshot_dir), transport,
                                  captured_at=demo_snapshot_inventory.captured_at, progress=messages.append)

    (failure,) = inventory.failures
    assert (failure.scope, failure.call) == (recs.id, "compute.list()")
    assert "HttpResponseError" in failure.error and "boom" in failure.error
    assert transport.failed_requests > 1  # 500 was retried before giving up
    # Every other row is there.
    others = pl.col("workspace_id") != recs.id.lower()
    assert inventory.computes.equals(demo_snapshot_inventory.computes.filter(others))
    for name in ("inventory_workspaces", "inventory_asset_versions", "inventory_endpoints", "inventory_deployments",
                 "inventory_jobs", "inventory_resource_groups", "inventory_subscriptions"):
        assert inventory.tables()[name].equals(demo_snapshot_inventory.tables()[name]), name
    # The progress display names the failure and reports the workspace with its counts.
    assert any(m.startswith(f"FAILED {recs.id}: compute.list()") for m in messages)
    (recs_line,) = [m for m in messages if "] mlw-recs-prod:" in m]
    assert "0 computes" in recs_line and "7 asset versions" in recs_line and "1 FAILED call(s)" in recs_line
    assert sum(1 for m in messages if m.startswith("[")) == len(demo_tenant.workspaces)
    assert messages[-1] == "1 call(s) failed; the listing of everything else completed"


# ---------------------------------------------------------------------------------------------
# Resource groups and subscriptions
# ---------------------------------------------------------------------------------------------

def test_resource_groups_and_subscriptions_with_tags(demo_snapshot_inventory: Inventory, demo_tenant: Tenant) -> None:
    groups = {row["resource_group_id"]: row for row in demo_snapshot_inventory.resource_groups.iter_rows(named=True)}
    assert set(groups) == {g.id.lower() for g in demo_tenant.resource_groups}
    for group in demo_tenant.resource_groups:
        row = groups[group.id.lower()]
        assert row["subscription_id"] == group.subscription_id.lower()
        assert (row["resource_group"], row["resource_group_original"]) == (group.name.lower(), group.name)
        assert row["location"] == group.location
        assert json.loads(row["tags"]) == group.tags  # `{}` when ARM omits tags
        assert row["provisioning_state"] == "Succeeded"
        assert row["captured_at"] == demo_tenant.captured_at
    subscriptions = {row["subscription_id"]: row for row in demo_snapshot_inventory.subscriptions.iter_rows(named=True)}
    assert set(subscriptions) == {s.id.lower() for s in demo_tenant.subscriptions}
    for subscription in demo_tenant.subscriptions:
        row = subscriptions[subscription.id.lower()]
        assert (row["display_name"], row["state"]) == (subscription.name, "Enabled")
        assert json.loads(row["tags"]) == subscription.tags
    # Every workspace's resource group is in the table (the join attribution relies on).
    pairs = set(demo_snapshot_inventory.workspaces.select("subscription_id", "resource_group").iter_rows())
    assert pairs <= set(demo_snapshot_inventory.resource_groups.select("subscription_id", "resource_group").iter_rows())


def test_an_older_snapshot_without_resource_group_files_still_loads(demo_snapshot_dir: Path, demo_snapshot_inventory: Inventory,
                                                                    demo_tenant: Tenant, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(demo_snapshot_dir, old)
    for subscription in demo_tenant.subscriptions:
        (old / "subscriptions" / f"{subscription.id}.json").unlink()
        (old / "subscriptions" / subscription.id / "resourcegroups.json").unlink()
    inventory = load_inventory(old)
    assert inventory.resource_groups.is_empty() and inventory.subscriptions.is_empty()
    assert sorted(f.call for f in inventory.failures) == sorted(
        ["resource_groups.list()"] * 2 + [f"subscriptions.get({s.id!r})" for s in demo_tenant.subscriptions])
    assert all("SnapshotRequestNotRecorded" in f.error for f in inventory.failures)
    assert inventory.asset_versions.equals(demo_snapshot_inventory.asset_versions)


# ---------------------------------------------------------------------------------------------
# Ages are measured from captured_at
# ---------------------------------------------------------------------------------------------

def _findings(inventory: Inventory) -> pl.DataFrame:
    from dagster_project.attribution.resolve import InventoryIndex, Resolver
    from dagster_project.config import FinopsConfig
    from dagster_project.findings.rules import FindingInputs, evaluate_findings

    config = FinopsConfig()
    index = InventoryIndex.build(inventory.workspaces, inventory.computes, inventory.endpoints, inventory.deployments)
    usage = pl.DataFrame(schema={"workspace_id": pl.Utf8, "aml_kind": pl.Utf8, "aml_name": pl.Utf8,
                                 "billing_currency": pl.Utf8, "effective_cost": pl.Decimal(38, 10),
                                 "usage_hours": pl.Decimal(38, 10)})
    allocation = pl.DataFrame(schema={"project": pl.Utf8, "billing_currency": pl.Utf8, "resource_id": pl.Utf8,
                                      "aml_kind": pl.Utf8, "aml_name": pl.Utf8, "workspace_id": pl.Utf8,
                                      "effective_cost": pl.Decimal(38, 10)})
    inputs = FindingInputs(
        billing_month=inventory.captured_at.date().replace(day=1) - timedelta(days=1),
        captured_at=inventory.captured_at, currency="USD", workspaces=inventory.workspaces,
        computes=inventory.computes, asset_versions=inventory.asset_versions, endpoints=inventory.endpoints,
        deployments=inventory.deployments, jobs=inventory.jobs, resource_usage=usage, allocation=allocation,
    )
    return evaluate_findings(config, Resolver(config, index), inputs)


def test_ages_count_from_captured_at_not_the_wall_clock(demo_snapshot_dir: Path, demo_tenant: Tenant,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = _findings(load_inventory(demo_snapshot_dir))
    rules = set(baseline["rule_id"])
    assert {"ci_left_running", "ci_stopped_abandoned", "stale_version"} <= rules

    # Replay the same (now "old") snapshot as if it were ten years later.
    import dagster_project.findings.rules.compute_instances
    import dagster_project.findings.rules.context
    import dagster_project.inventory.collect as collect_module

    class LaterDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime(2036, 11, 1, tzinfo=UTC)

    for rules_module in (dagster_project.findings.rules.context, dagster_project.findings.rules.compute_instances):
        monkeypatch.setattr(rules_module, "datetime", LaterDatetime)
    monkeypatch.setattr(collect_module, "datetime", LaterDatetime)
    later = _findings(load_inventory(demo_snapshot_dir))
    assert later.equals(baseline)

    bob = demo_tenant.workspace("mlw-recs-prod")
    (running,) = later.filter((pl.col("rule_id") == "ci_left_running")
                              & (pl.col("resource_id") == f"{bob.id}/computes/ci-bob-gpu".lower())).iter_rows(named=True)
    ci = next(c for c in demo_tenant.compute_instances if c.name == "ci-bob-gpu")
    expected_days = (demo_tenant.captured_at - ci.last_operation.time).days
    assert expected_days == 11  # started at 09:00 twelve days before a 06:00 capture
    assert json.loads(running["evidence"])["days_since"] == expected_days
    assert running["first_seen"] == demo_tenant.captured_at


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _snapshot_args(*argv: str) -> Any:
    import argparse

    from dagster_project.inventory.cli_snapshot import add_snapshot_parser

    parser = argparse.ArgumentParser(prog="aml-finops")
    add_snapshot_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["snapshot", *argv])


def test_cli_snapshot_without_credential_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import azure.identity
    from azure.identity import CredentialUnavailableError

    from dagster_project.inventory.cli_snapshot import cmd_snapshot

    class NoCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token.\nmore lines")

        def close(self) -> None:
            return None

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", NoCredential)
    assert cmd_snapshot(_snapshot_args("--subscription", "s", "--out", str(tmp_path / "x"))) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("aml-finops snapshot: error: no usable Azure credential")
    assert not (tmp_path / "x").exists()


def test_cli_snapshot_records_and_reports(monkeypatch: pytest.MonkeyPatch, demo_snapshot_dir: Path, demo_tenant: Tenant,
                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import azure.identity

    import dagster_project.inventory.record as record_module
    from dagster_project.inventory.cli_snapshot import cmd_snapshot

    class FakeCredential(ReplayCredential):
        def close(self) -> None:
            return None

    real = record_module.record_snapshot
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    monkeypatch.setattr(record_module, "record_snapshot",
                        lambda *a, **k: real(*a, transport=ReplayTransport(demo_snapshot_dir), **k))
    out = tmp_path / "snap"
    args = _snapshot_args("--subscription", demo_tenant.subscriptions[0].id, "--subscription", demo_tenant.subscriptions[1].id,
                          "--workspace", "mlw-fraud-prod", "--workspace", "mlw-forecast", "--out", str(out))
    assert cmd_snapshot(args) == 0
    captured = capsys.readouterr()
    assert "2 workspaces" in captured.out and "captured at" in captured.out
    assert "mlw-fraud-prod:" in captured.err and "mlw-forecast:" in captured.err  # per-workspace progress
    assert sorted(load_inventory(out).workspaces["workspace_name"]) == ["mlw-forecast", "mlw-fraud-prod"]
    # The folder now exists: a second run refuses it in one line.
    assert cmd_snapshot(args) == 1
    assert "already exists" in capsys.readouterr().err
