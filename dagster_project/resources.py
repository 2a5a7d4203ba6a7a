"""Dagster resources: configured once, injected into assets, opened only when an asset runs.

Nothing here reads the environment or opens a connection at import time. Tests swap in a
temporary warehouse folder and a replayed inventory by configuring these same classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource

from dagster_project.config import FinopsConfig, load_config
from dagster_project.costs.discovery import ExportSource, LocalFolderSource
from dagster_project.warehouse import DUCKDB_MEMORY_LIMIT, Warehouse


class WarehouseResource(ConfigurableResource):
    """Where outputs are published: `<out_dir>/finops.duckdb` and `<out_dir>/parquet/`."""

    out_dir: str = "reports"
    memory_limit: str = DUCKDB_MEMORY_LIMIT

    def get(self) -> Warehouse:
        return Warehouse(Path(self.out_dir), memory_limit=self.memory_limit)


class CostExportsResource(ConfigurableResource):
    """Where Cost Management exports are read: a local folder in Azure's layout (or an azcopy copy
    of one), a Blob Storage / ADLS Gen2 container, or the Cost Details API for one scope. Remote
    sources authenticate with `DefaultAzureCredential` and read only."""

    kind: str = "local"  # local | blob | cost-details
    root: str = "reports/demo-tenant/exports"  # local
    account_url: str | None = None  # blob
    container: str | None = None  # blob
    root_path: str = ""  # blob
    scope: str | None = None  # cost-details

    def path(self) -> Path:
        """The local export root (kind `local` only)."""
        path = Path(self.root)
        if not path.is_dir():
            raise FileNotFoundError(f"cost exports folder not found: {path}")
        return path

    @contextmanager
    def open(self, month: date | None = None) -> Iterator[ExportSource]:
        """The export source, closed (download cache removed) on exit. `month` is required by the
        Cost Details API, which produces one month per request."""
        from dagster_project.costs.sources import export_source_from_settings

        if self.kind == "local":
            yield LocalFolderSource(self.path())
            return
        settings: dict = ({"account_url": self.account_url, "container": self.container, "root_path": self.root_path}
                          if self.kind == "blob" else {"scope": self.scope, "month": month})
        if self.kind == "cost-details" and month is None:
            raise ValueError("the Cost Details API source needs a billing month")
        source = export_source_from_settings(self.kind, **settings)
        try:
            yield source
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()


class InventoryResource(ConfigurableResource):
    """The Azure ML inventory: a snapshot store of dated captures, recorded live each day through
    azure-ai-ml (`DefaultAzureCredential`, read only) and replayed into the inventory tables; or a
    given snapshot folder replayed as is (`snapshot_dir`: the demo, an audit's evidence).

    The store is a local folder (`store_path`) or a Blob container (`account_url`, `container`,
    `root_path`) mirrored into `cache_dir`; `retention_days` of captures are kept (never deleting
    the newest). `scopes` (and optionally `workspaces`) say what a capture lists.

    `snapshot_dir` with a local `store_path` (the CLI's `--inventory STORE`, `given_inventory`):
    the capture is replayed (never recorded, no retention) and each billing month is judged
    against its own capture of the store."""

    snapshot_dir: str | None = None
    store_path: str | None = None
    account_url: str | None = None
    container: str | None = None
    root_path: str = ""
    cache_dir: str | None = None
    retention_days: int = 400
    scopes: list[str] = []
    workspaces: list[str] | None = None
    include_run_history: bool = True
    cloud: str = "AzureCloud"

    @property
    def mode(self) -> str:
        """`replay` (a given folder), `store` (dated captures), or `unconfigured`."""
        if self.snapshot_dir:
            return "replay"
        if self.store_path or self.account_url:
            return "store"
        return "unconfigured"

    def credential(self):
        """The Azure credential of live captures and of a Blob store (tests override this)."""
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def transport(self):
        """The azure-core transport of live captures: None is azure-core's default (tests override
        this to talk to a local server)."""
        return None

    def store_credential(self):
        """The credential of a Blob store: the capture's own by default (tests override this)."""
        return self.credential()

    def open_store(self, out_dir: Path):
        from dagster_project.inventory.store import open_store

        return open_store(path=self.store_path, account_url=self.account_url, container=self.container,
                          root_path=self.root_path, cache_dir=self.cache_dir, out_dir=out_dir,
                          credential=None if self.store_path else self.store_credential())

    def load(self):
        """Replay `snapshot_dir` (replay mode)."""
        from dagster_project.inventory.tables import load_inventory

        if not self.snapshot_dir:
            raise ValueError("no inventory snapshot folder configured")
        path = Path(self.snapshot_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"inventory snapshot folder not found: {path}")
        return load_inventory(path)


class FinopsConfigResource(ConfigurableResource):
    """`finops.yaml`; no path means every default."""

    path: str | None = None

    def load(self) -> FinopsConfig:
        return load_config(Path(self.path) if self.path else None)


def given_inventory(folder: Path | str) -> InventoryResource:
    """The inventory of the CLI's `--inventory DIR` (or a synced store): one snapshot folder is
    replayed as is; a store of dated captures replays its newest capture (the inventory partition)
    and judges each billing month against its own capture of the store
    (`inventory.history.select_capture`). The CLI never records into, or deletes from, a store."""
    from dagster_project.inventory.snapshot_paths import SNAPSHOT_INFO_FILE
    from dagster_project.inventory.store import list_captures

    folder = Path(folder)
    captures = [] if (folder / SNAPSHOT_INFO_FILE).is_file() else list_captures(folder)
    if not captures:  # a snapshot folder, or a folder the replay names as not one
        return InventoryResource(snapshot_dir=str(folder))
    return InventoryResource(snapshot_dir=str(captures[-1].path), store_path=str(folder))
