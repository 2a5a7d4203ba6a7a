"""Redaction is complete: every planted secret is gone from every file a capture writes.

The secrets are hand-written into the bodies the loopback server (tests/loopback_azure.py) sends
over real HTTP to the real azure-ai-ml SDK, and into an error message; the capture runs through the
Dagster inventory asset (record into the store → replay → stage). Then every file under the test's
folder (the capture, snapshot.json, the DuckDB file, any log) is grepped for each planted value,
and every text column of the staged inventory tables is checked too. A second test proves the
recorder's guard: a POST that is not a listed read action never leaves the process.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from azure.core.rest import HttpRequest
from dagster import materialize
from loopback_azure import Fault, LoopbackAzure, RetargetTransport
from test_inventory_capture import LoopbackInventory, _fraud, _scopes  # noqa: F401

from assets.inventory import aml_inventory
from dagster_project.inventory.record import REDACTED, RecordingTransport, redact, scrub_text
from dagster_project.inventory.snapshot_paths import snapshot_relpath
from dagster_project.resources import WarehouseResource
from dagster_project.warehouse import INVENTORY_TABLES

ARM = "https://management.azure.com"
BASIC = base64.b64encode(b"svc-user:SECRET-BASIC").decode()  # what a real Basic credential looks like

# Each value must vanish; the surrounding text (what is not a secret) must stay.
PLANTED_STRINGS = {
    "sig=SECRET-SIG-START&se=2030-01-01": f"sig={REDACTED}&se=2030-01-01",
    "https://acct.blob.core.windows.net/c/b?sv=2024&sig=SECRET-SIG-PLAIN": f"https://acct.blob.core.windows.net/c/b?sv=2024&sig={REDACTED}",
    "https%3A%2F%2Facct.blob.core.windows.net%2Fc%3Fsv%3D2024%26sig%3DSECRET-SIG-PCT%26se%3D2030":
        f"https%3A%2F%2Facct.blob.core.windows.net%2Fc%3Fsv%3D2024%26sig%3D{REDACTED}%26se%3D2030",
    "x%253Fsv%253D1%2526sig%253DSECRET-SIG-PCT2": f"x%253Fsv%253D1%2526sig%253D{REDACTED}",
    "<a href='https://h/b?sv=1&amp;sig=SECRET-SIG-AMP&amp;sp=r'>": f"<a href='https://h/b?sv=1&amp;sig={REDACTED}&amp;sp=r'>",
    f"curl -H 'Authorization: Basic {BASIC}' https://h": f"curl -H 'Authorization: Basic {REDACTED}' https://h",
    "Authorization: Bearer SECRET-BEARER": f"Authorization: Bearer {REDACTED}",
    "https://h/p?auth=Bearer%20SECRET-BEARER-PCT": f"https://h/p?auth=Bearer%20{REDACTED}",
    "Server=db;User Id=sa;Pwd=SECRET-PWD-CONN;": f"Server=db;User Id=sa;Pwd={REDACTED};",
}
PLANTED_FIELDS = {
    "password": "SECRET-F-PASSWORD", "pwd": "SECRET-F-PWD", "passwd": "SECRET-F-PASSWD",
    "adminPassword": "SECRET-F-ADMIN", "clientSecret": "SECRET-F-CLIENT", "token": "SECRET-F-TOKEN",
    "refresh_token": "SECRET-F-REFRESH", "key": "SECRET-F-KEY", "storageKey": "SECRET-F-STORAGE",
    "connection string": "SECRET-F-CONN1", "ConnectionString": "SECRET-F-CONN2", "sig": "SECRET-F-SIG",
}
NOT_SECRETS = {"keyVault": "/subscriptions/s/kv", "authorizationSource": "Managed", "basicTier": "Basic tier"}


def _plant_job(document):
    job = document["value"][0]["properties"]
    job["environmentVariables"] = {"DB_PASS": "SECRET-ENV-DB", "GITHUB_PAT": "SECRET-ENV-PAT",
                                   "HARMLESS_LOOKING": "SECRET-ENV-ANY"}
    job["description"] = " | ".join(PLANTED_STRINGS)
    job["properties"].update({name: value for name, value in PLANTED_FIELDS.items()})
    job["properties"]["settings"] = [{"name": "DB_PASSWORD", "value": "SECRET-NV-PAIR"}]
    job["tags"] = {"api-key": "SECRET-TAG", "team": "fraud"}
    job["properties"].update(NOT_SECRETS)
    return document


def test_every_planted_secret_is_gone_from_every_file_written(demo_dir: Path, tenant, tmp_path: Path) -> None:  # noqa: F811
    fraud = tenant.workspace("mlw-fraud-prod")
    jobs = snapshot_relpath("GET", f"{ARM}{fraud.id}/jobs?listViewType=All")
    _, computes = _fraud(tenant)
    faults = {jobs: Fault(edit=_plant_job),
              computes: Fault(status=403, message="denied for https://a.blob.core.windows.net/c?sv=1&sig=SECRET-IN-ERROR")}
    store, out = tmp_path / "store", tmp_path / "out"
    with LoopbackAzure(demo_dir, faults=faults) as server:
        resource = LoopbackInventory(store_path=str(store), scopes=_scopes(demo_dir), port=server.port)
        result = materialize([aml_inventory], partition_key=datetime.now(UTC).date().isoformat(),
                             resources={"inventory": resource, "warehouse": WarehouseResource(out_dir=str(out))})
    assert result.success
    assert any(url.endswith("listViewType=All") and "/jobs" in url for _, url in server.seen)

    secrets = [value for value in (*PLANTED_FIELDS.values(), "SECRET-ENV", "SECRET-NV-PAIR", "SECRET-TAG",
                                   "SECRET-IN-ERROR", "SECRET-SIG", "SECRET-BEARER", "SECRET-PWD", BASIC)]
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "snapshot.json" for path in written) and any(p.suffix == ".duckdb" for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (secret, path)
    # The database's text columns too (its storage may compress strings, so grep is not enough).
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        for table in INVENTORY_TABLES:
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'staging' AND table_name = ? "
                "AND data_type = 'VARCHAR'", [table]).fetchall()]
            for column in columns:
                hits = con.execute(f'SELECT count(*) FROM staging.{table} WHERE "{column}" LIKE \'%SECRET%\'').fetchall()  # noqa: S608
                assert hits[0][0] == 0, (table, column)
        failure = con.execute("SELECT workspace_name, call, reason FROM staging.inventory_failures").fetchall()
    assert failure == [("mlw-fraud-prod", "compute.list()", failure[0][2])] and f"sig={REDACTED}" in failure[0][2]

    # What is kept: the structure, the text around each secret, and the fields that are not secrets.
    capture = next(p for p in store.iterdir() if not p.name.startswith("."))
    job = json.loads((capture / str(jobs)).read_bytes())["value"][0]["properties"]
    assert job["environmentVariables"] == {"DB_PASS": REDACTED, "GITHUB_PAT": REDACTED, "HARMLESS_LOOKING": REDACTED}
    assert job["description"] == " | ".join(PLANTED_STRINGS.values())
    assert all(job["properties"][name] == REDACTED for name in PLANTED_FIELDS)
    assert job["properties"]["settings"] == [{"name": "DB_PASSWORD", "value": REDACTED}]
    assert job["tags"] == {"api-key": REDACTED, "team": "fraud"}
    assert {name: job["properties"][name] for name in NOT_SECRETS} == NOT_SECRETS


@pytest.mark.parametrize(("text", "expected"), list(PLANTED_STRINGS.items()))
def test_each_encoding_of_a_secret_is_scrubbed(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
    assert redact({"a": [text]}) == {"a": [expected]}


@pytest.mark.parametrize("action", ["listKeys", "listSecrets", "listConnectionStrings", "regenerateKey",
                                    "listStorageAccountKeys", "listkeys", "list%4Beys", "start", "stop"])
def test_the_recorder_refuses_every_post_that_is_not_a_listed_read(demo_dir: Path, action: str) -> None:  # noqa: F811
    with LoopbackAzure(demo_dir) as server:
        recorder = RecordingTransport(RetargetTransport(server.port))
        url = (f"{ARM}/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
               f"workspaces/w/{action}?api-version=2024-04-01")
        with pytest.raises(ValueError, match="refusing to send"):
            recorder.send(HttpRequest("POST", url))
        for method in ("PUT", "PATCH", "DELETE"):
            with pytest.raises(ValueError, match="refusing to send"):
                recorder.send(HttpRequest(method, url.replace(action, "computes/c")))
        assert server.seen == []  # nothing reached the service
        # The one listed read action goes through (the loopback answers 404: it has no recording).
        response = recorder.send(HttpRequest("POST", url.replace(action, "computes/c/listNodes")))
        assert response.status_code in (401, 404) and len(server.seen) == 1
