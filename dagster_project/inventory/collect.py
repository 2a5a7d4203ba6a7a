"""Entry points: list the inventory live (`collect_inventory`) or replay a snapshot (`load_inventory`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

from dagster_project.inventory.listing import (
    DEFAULT_MAX_WORKERS,
    ListingFailure,
    ProgressCallback,
    list_inventory,
)
from dagster_project.inventory.model import Inventory
from dagster_project.inventory.replay import ReplayCredential, ReplayTransport
from dagster_project.inventory.rows import build_inventory
from dagster_project.inventory.snapshot_paths import read_snapshot_info


def collect_inventory(
    credential: TokenCredential,
    subscriptions: str | Iterable[str],
    transport: HttpTransport | None = None,
    *,
    resource_group: str | None = None,
    workspace_names: Iterable[str] | None = None,
    captured_at: datetime | None = None,
    include_run_history: bool = True,
    max_workers: int = DEFAULT_MAX_WORKERS,
    progress: ProgressCallback | None = None,
) -> Inventory:
    """List the inventory live (or through `transport`) and normalize it.

    `captured_at` defaults to the moment listing starts (UTC): ages are measured from it.
    """
    started = captured_at or datetime.now(UTC)
    result = list_inventory(
        credential,
        subscriptions,
        transport=transport,
        resource_group=resource_group,
        workspace_names=workspace_names,
        include_run_history=include_run_history,
        max_workers=max_workers,
        progress=progress,
    )
    return build_inventory(result.workspaces, started, result.failures, result.resource_groups, result.subscriptions)


# Replay is CPU-bound (SDK deserialization under the GIL; file reads are the only I/O): more
# threads only add contention. docs/performance.md has the measurements.
REPLAY_MAX_WORKERS = 2


def load_inventory(
    snapshot_dir: Path,
    *,
    max_workers: int = REPLAY_MAX_WORKERS,
    progress: ProgressCallback | None = None,
) -> Inventory:
    """Replay a snapshot folder through azure-ai-ml and normalize it (no network).

    The scopes to list and `captured_at` come from `snapshot.json`; every response comes from the
    recorded files. Calls whose file is missing are reported in `Inventory.failures`.
    """
    info = read_snapshot_info(Path(snapshot_dir))
    if not info.scopes:
        raise ValueError(f"{Path(snapshot_dir) / 'snapshot.json'}: scopes is empty; nothing to replay")
    inventory = collect_inventory(
        ReplayCredential(),
        info.scopes,
        ReplayTransport(Path(snapshot_dir)),
        captured_at=info.captured_at,
        max_workers=max_workers,
        progress=progress,
    )
    # What the recording itself could not read comes first (its reason is the live one: the HTTP
    # status, "not JSON"); the replay's "no recording" for the same call adds nothing.
    recorded = [ListingFailure(item["scope"], item["call"], item["error"]) for item in info.failures]
    seen = {(f.scope.lower(), f.call) for f in recorded}
    inventory.failures = recorded + [f for f in inventory.failures if (f.scope.lower(), f.call) not in seen]
    return inventory
