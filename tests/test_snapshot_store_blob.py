"""The snapshot store in a Blob container (Azurite, the Azure Storage emulator, over real HTTP).

A capture recorded live (the loopback ARM server of tests/loopback_azure.py) through the Dagster
inventory asset is uploaded into the container with its snapshot.json last and mirrored into the
local cache; another machine's empty cache syncs it back and replays the demo's tables; an upload
without snapshot.json is not a capture; retention deletes expired captures from the container and
every cache, never the newest. Azurite is installed by scripts/ensure_azurite.sh (skipped with
the reason when it cannot be, failed on CI), as in tests/test_blob_azurite.py.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import materialize
from loopback_azure import LoopbackAzure
from test_blob_azurite import (  # noqa: F401
    ACCOUNT_NAME,
    CREDENTIAL,
    READY_TIMEOUT,
    _answers,
    _unavailable,
    azurite_process,
)
from test_inventory_capture import (
    LoopbackInventory,
    _plant_capture,
    _same_tables,
    _scopes,
)

from assets.inventory import aml_inventory
from dagster_project.inventory.store import (
    BlobSnapshotStore,
    apply_retention,
    capture_name,
    list_captures,
)
from dagster_project.inventory.tables import load_inventory
from dagster_project.resources import WarehouseResource


class AzuriteStoreInventory(LoopbackInventory):
    """Captures from the loopback ARM server, stored in Azurite (shared-key auth: Azurite accepts
    bearer tokens only over HTTPS)."""

    def store_credential(self):
        return CREDENTIAL


@pytest.fixture(scope="module")
def account_url(azurite_process, monkeypatch_module) -> str:  # noqa: F811
    process, port = azurite_process.process, azurite_process.port
    deadline = time.monotonic() + READY_TIMEOUT
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _unavailable(f"azurite-blob did not answer on 127.0.0.1:{port}")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}/{ACCOUNT_NAME}"


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        yield patch


def _container(account_url: str, name: str):
    from azure.storage.blob import ContainerClient

    client = ContainerClient(account_url, name, credential=CREDENTIAL)
    client.create_container()
    return client


def test_a_live_capture_goes_to_the_container_and_syncs_to_any_cache(
        account_url: str, demo_dir: Path, demo_inventory, tmp_path: Path) -> None:  # noqa: F811
    container = _container(account_url, "evidence")
    with LoopbackAzure(demo_dir) as server:
        resource = AzuriteStoreInventory(account_url=account_url, container="evidence", root_path="aml/captures",
                                         cache_dir=str(tmp_path / "cache-a"), scopes=_scopes(demo_dir),
                                         port=server.port)
        result = materialize([aml_inventory], partition_key=datetime.now(UTC).date().isoformat(),
                             resources={"inventory": resource, "warehouse": WarehouseResource(out_dir=str(tmp_path / "out"))})
    assert result.success
    names = [blob.name for blob in container.list_blobs()]
    [capture] = list_captures(tmp_path / "cache-a")
    assert f"aml/captures/{capture.name}/snapshot.json" in names
    assert all(name.startswith(f"aml/captures/{capture.name}/") for name in names)
    # An upload that never finished (no snapshot.json) beside it: not a capture anywhere.
    container.upload_blob("aml/captures/2026-11-30T050000Z/subscriptions/s.json", b"{}")
    elsewhere = BlobSnapshotStore(account_url, "evidence", tmp_path / "cache-b", prefix="aml/captures",
                                  credential=CREDENTIAL)
    [synced] = elsewhere.sync()
    assert synced.name == capture.name and synced.captured_at == capture.captured_at
    _same_tables(demo_inventory, load_inventory(synced.path))
    elsewhere.close()


def test_retention_deletes_expired_captures_from_the_container_and_the_caches(
        account_url: str, demo_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    container = _container(account_url, "retention")
    now = datetime(2026, 12, 1, 5, tzinfo=UTC)
    store = BlobSnapshotStore(account_url, "retention", tmp_path / "cache", credential=CREDENTIAL)
    for age in (500, 45, 3):
        recording = store.new_recording_dir()
        _plant_capture(tmp_path / "src", demo_dir, now - timedelta(days=age))
        planted = next((tmp_path / "src").iterdir())
        shutil.move(planted, recording)
        store.commit(recording)
    other = BlobSnapshotStore(account_url, "retention", tmp_path / "other-cache", credential=CREDENTIAL)
    assert len(other.sync()) == 3
    deleted = apply_retention(store, retention_days=30, now=now)
    assert [c.name for c in deleted] == [capture_name(now - timedelta(days=a)) for a in (500, 45)]
    remaining = {blob.name.split("/")[0] for blob in container.list_blobs()}
    assert remaining == {capture_name(now - timedelta(days=3))}
    assert [c.name for c in other.sync()] == [capture_name(now - timedelta(days=3))]  # gone from that cache too
    # The newest capture survives any retention, however old it is.
    assert apply_retention(store, retention_days=1, now=now + timedelta(days=900)) == []
    assert len(list_captures(store.local_root)) == 1
    store.close()
    other.close()
