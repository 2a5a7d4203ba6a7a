"""The snapshot store: one dated folder per inventory capture, in a local folder or a Blob container.

Layout (public, docs/inventory.md "Snapshot store"): ``<store>/<YYYY-MM-DDTHHMMSSZ>/`` per capture,
named by its UTC capture time, each an ordinary ``aml-finops-snapshot/1`` folder whose
``snapshot.json`` carries the authoritative ``captured_at``. A capture being written lives in a
hidden sibling (name starting with ``.``) until it is complete; a Blob capture is complete once its
``snapshot.json`` is uploaded (it is uploaded last). A Blob store is mirrored into a local cache
folder of the same layout, so every reader (replay, month selection, drift) works on local paths.

Domain code: no Dagster. `capture_inventory` records live (azure-ai-ml, the given credential) into
the store; `apply_retention` deletes captures older than the retention, never the newest one.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from dagster_project.inventory.snapshot_paths import SNAPSHOT_INFO_FILE, read_snapshot_info

CAPTURE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{6}Z$")
DEFAULT_RETENTION_DAYS = 400


class SnapshotStoreError(RuntimeError):
    """The store cannot be used (missing folder, unreadable container); the message names it."""


def capture_name(captured_at: datetime) -> str:
    """The folder name of a capture: its UTC time to the second, `2026-11-24T060000Z`."""
    if captured_at.tzinfo is None:
        raise ValueError("captured_at must be timezone-aware")
    return captured_at.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")


@dataclass(frozen=True)
class Capture:
    """One complete capture: its folder name, `captured_at` from its snapshot.json, its local path."""

    name: str
    captured_at: datetime
    path: Path

    @property
    def day(self) -> date:
        return self.captured_at.astimezone(UTC).date()


def list_captures(root: Path) -> list[Capture]:
    """The complete captures under a local store (or a Blob store's cache), oldest first.

    Hidden folders (captures being written), names not matching the pattern and folders without a
    `snapshot.json` are not captures. A `snapshot.json` that cannot be read raises `ValueError`
    naming the file: a damaged capture is never skipped silently."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        if not entry.is_dir() or not CAPTURE_NAME.match(entry.name) or not (entry / SNAPSHOT_INFO_FILE).is_file():
            continue
        found.append(Capture(entry.name, read_snapshot_info(entry).captured_at, entry))
    return sorted(found, key=lambda c: (c.captured_at, c.name))


def captures_of_day(root: Path, day: date) -> list[Capture]:
    """The captures taken on a UTC day, oldest first."""
    return [capture for capture in list_captures(root) if capture.day == day]


def expired_captures(captures: list[Capture], retention_days: int, now: datetime) -> list[Capture]:
    """Captures older than `retention_days` before `now`; the newest capture is never among them."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    if not captures:
        return []
    newest = max(captures, key=lambda c: (c.captured_at, c.name))
    limit = now - timedelta(days=retention_days)
    return [c for c in captures if c.captured_at < limit and c is not newest]


def _within(root: Path, name: str) -> Path:
    if not CAPTURE_NAME.match(name):
        raise ValueError(f"{name!r} is not a capture folder name")
    return root / name


def place_capture(recorded: Path, root: Path) -> Capture:
    """Move a complete recorded snapshot folder into the store under its capture name."""
    info = read_snapshot_info(recorded)
    name = capture_name(info.captured_at)
    target = _within(root, name)
    if target.exists():
        raise FileExistsError(f"{target}: a capture of that second already exists")
    os.replace(recorded, target)
    return Capture(name, info.captured_at, target)


class LocalSnapshotStore:
    """A store in a local (or mounted) folder."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    @property
    def local_root(self) -> Path:
        return self.root

    def sync(self) -> list[Capture]:
        return list_captures(self.root)

    def new_recording_dir(self) -> Path:
        """A fresh hidden folder (not yet created) for a recording; `commit` moves it in."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f".capture-{uuid.uuid4().hex[:12]}"

    def commit(self, recorded: Path) -> Capture:
        return place_capture(recorded, self.root)

    def delete(self, capture: Capture) -> None:
        shutil.rmtree(_within(self.root, capture.name))

    def close(self) -> None:
        return None


class BlobSnapshotStore:
    """A store in a Blob container under `prefix`, mirrored into `cache_dir` (same layout).

    `credential` is ``DefaultAzureCredential()`` in live runs (or a key for Azurite in tests);
    `client_kwargs` go to `ContainerClient` (a transport, for instance)."""

    kind = "blob"

    def __init__(self, account_url: str, container: str, cache_dir: Path, prefix: str = "",
                 credential: Any = None, **client_kwargs: Any) -> None:
        from azure.storage.blob import ContainerClient

        self.account_url = account_url.rstrip("/")
        self.container = container
        self.prefix = prefix.strip().strip("/")
        self.cache_dir = Path(cache_dir)
        self._client = ContainerClient(self.account_url, container, credential=credential, **client_kwargs)

    def describe(self) -> str:
        return f"{self.account_url}/{self.container}" + (f"/{self.prefix}" if self.prefix else "")

    @property
    def local_root(self) -> Path:
        return self.cache_dir

    def _blob(self, *parts: str) -> str:
        return "/".join([p for p in (self.prefix, *parts) if p])

    def _remote(self) -> dict[str, list[str]]:
        """Capture name → its relative file names, for complete captures in the container."""
        start = f"{self.prefix}/" if self.prefix else ""
        files: dict[str, list[str]] = {}
        for blob in self._client.list_blobs(name_starts_with=start or None):
            rel = blob.name[len(start):]
            name, _, inner = rel.partition("/")
            if CAPTURE_NAME.match(name) and inner and not inner.endswith("/"):
                files.setdefault(name, []).append(inner)
        return {name: inner for name, inner in files.items() if SNAPSHOT_INFO_FILE in inner}

    def sync(self) -> list[Capture]:
        """Download complete captures missing from the cache; drop cached ones gone remotely."""
        remote = self._remote()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        local = {capture.name for capture in list_captures(self.cache_dir)}
        for name in sorted(set(remote) - local):
            temp = self.cache_dir / f".sync-{name}-{uuid.uuid4().hex[:8]}"
            try:
                for inner in remote[name]:
                    relative = PurePosixPath(inner)
                    if relative.is_absolute() or ".." in relative.parts:
                        raise SnapshotStoreError(f"{self.describe()}: blob {self._blob(name, inner)!r} "
                                                 "cannot name a file in a snapshot")
                    target = temp.joinpath(*relative.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with open(target, "wb") as fh:
                        self._client.download_blob(self._blob(name, inner)).readinto(fh)
                final = _within(self.cache_dir, name)
                if final.exists():  # an incomplete earlier sync
                    shutil.rmtree(final)
                os.replace(temp, final)
            finally:
                shutil.rmtree(temp, ignore_errors=True)
        for name in sorted(local - set(remote)):
            shutil.rmtree(_within(self.cache_dir, name))
        return list_captures(self.cache_dir)

    def new_recording_dir(self) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.cache_dir / f".capture-{uuid.uuid4().hex[:12]}"

    def commit(self, recorded: Path) -> Capture:
        """Upload the recording (snapshot.json last, so readers never see half), then cache it."""
        info = read_snapshot_info(recorded)
        name = capture_name(info.captured_at)
        files = sorted(p for p in Path(recorded).rglob("*") if p.is_file())
        ordered = [p for p in files if p.name != SNAPSHOT_INFO_FILE or p.parent != Path(recorded)]
        ordered.append(Path(recorded) / SNAPSHOT_INFO_FILE)
        for path in ordered:
            inner = path.relative_to(recorded).as_posix()
            with open(path, "rb") as fh:
                self._client.upload_blob(self._blob(name, inner), fh, overwrite=True)
        return place_capture(recorded, self.cache_dir)

    def delete(self, capture: Capture) -> None:
        """Delete the capture's snapshot.json first (it stops being a capture), then the rest."""
        names = [blob.name for blob in self._client.list_blobs(name_starts_with=self._blob(capture.name) + "/")]
        info = self._blob(capture.name, SNAPSHOT_INFO_FILE)
        for blob in sorted(names, key=lambda n: n != info):
            self._client.delete_blob(blob)
        shutil.rmtree(_within(self.cache_dir, capture.name), ignore_errors=True)

    def close(self) -> None:
        self._client.close()


SnapshotStore = LocalSnapshotStore | BlobSnapshotStore


def apply_retention(store: SnapshotStore, retention_days: int, now: datetime | None = None) -> list[Capture]:
    """Delete the captures older than `retention_days` (never the newest); returns those deleted."""
    captures = list_captures(store.local_root)
    expired = expired_captures(captures, retention_days, now or datetime.now(UTC))
    for capture in expired:
        store.delete(capture)
    return expired


def capture_inventory(store: SnapshotStore, credential: Any, scopes: Iterable[str], *,
                      workspace_names: Iterable[str] | None = None, transport: Any = None,
                      include_run_history: bool = True, cloud: str = "AzureCloud",
                      progress: Any = None) -> tuple[Capture, Any]:
    """Record the scopes live into a new capture of `store`; returns it and the recorded `Inventory`.

    The recording is written (redacted) to a hidden folder, then committed under its capture name.
    Failures of the listing are kept in the capture's snapshot.json (`failures`), so the replay of
    the capture reports them too; the capture is stored even with failures (it is the evidence of
    what could be read)."""
    from dagster_project.inventory.record import record_snapshot

    recording = store.new_recording_dir()
    try:
        inventory = record_snapshot(credential, list(scopes), recording, workspace_names=workspace_names,
                                    progress=progress, transport=transport,
                                    include_run_history=include_run_history, cloud=cloud)
        capture = store.commit(recording)
    finally:
        shutil.rmtree(recording, ignore_errors=True)
    return capture, inventory


def capture_for_day(store: SnapshotStore, day: date, today: date, record: Any,
                    retention_days: int = DEFAULT_RETENTION_DAYS, now: datetime | None = None
                    ) -> tuple[Capture, bool, list[Capture]]:
    """The capture of a day partition: today's is recorded (`record(store)` → Capture) and the
    retention applied; a past day's is its newest stored capture (a past estate cannot be listed
    after the fact). Returns (capture, recorded now, captures deleted by retention)."""
    store.sync()
    if day > today:
        raise SnapshotStoreError(f"capture day {day} is in the future (today is {today} UTC)")
    if day == today:
        capture = record(store)
        return capture, True, apply_retention(store, retention_days, now)
    stored = captures_of_day(store.local_root, day)
    if not stored:
        known = list_captures(store.local_root)
        span = f"captures from {known[0].name} to {known[-1].name}" if known else "no capture at all"
        raise SnapshotStoreError(f"no capture of {day} in the snapshot store {store.describe()} ({span}); "
                                 "a past day cannot be recorded after the fact")
    return stored[-1], False, []


def open_store(*, path: str | None = None, account_url: str | None = None, container: str | None = None,
               root_path: str = "", cache_dir: str | None = None, out_dir: Path | str = "reports",
               credential: Any = None) -> SnapshotStore:
    """The store a configuration names: a folder (`path`), else a Blob container mirrored into
    `cache_dir` (default `<out_dir>/.snapshot-cache`). `credential` is needed for Blob only."""
    if path:
        return LocalSnapshotStore(Path(path))
    if not (account_url and container):
        raise SnapshotStoreError("no snapshot store configured: set sources.snapshots in finops.yaml or "
                                 "FINOPS_SNAPSHOT_STORE (a folder or https://<account>.blob.core.windows.net/<container>)")
    cache = Path(cache_dir) if cache_dir else Path(out_dir) / ".snapshot-cache"
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return BlobSnapshotStore(account_url, container, cache, prefix=root_path, credential=credential)


def newest_capture(store: SnapshotStore) -> Capture:
    """The newest complete capture of a store (synced first), or `SnapshotStoreError` naming the store."""
    captures = store.sync()
    if not captures:
        raise SnapshotStoreError(f"no capture in the snapshot store {store.describe()}")
    return captures[-1]
