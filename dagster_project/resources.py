"""Dagster resources: configured once, injected into assets, opened only when an asset runs.

Nothing here reads the environment or opens a connection at import time. Tests swap in a
temporary warehouse folder and a replayed inventory by configuring these same classes.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from dagster_project.config import FinopsConfig, load_config
from dagster_project.warehouse import Warehouse


class WarehouseResource(ConfigurableResource):
    """Where outputs are published: `<out_dir>/finops.duckdb` and `<out_dir>/parquet/`."""

    out_dir: str = "reports"
    memory_limit: str = "1GB"

    def get(self) -> Warehouse:
        return Warehouse(Path(self.out_dir), memory_limit=self.memory_limit)


class CostExportsResource(ConfigurableResource):
    """Cost Management exports in Azure's folder layout, from a local folder (or an azcopy of one)."""

    root: str = "reports/demo-tenant/exports"

    def path(self) -> Path:
        path = Path(self.root)
        if not path.is_dir():
            raise FileNotFoundError(f"cost exports folder not found: {path}")
        return path


class InventoryResource(ConfigurableResource):
    """The Azure ML inventory: a recorded snapshot folder, replayed through azure-ai-ml."""

    snapshot_dir: str = "reports/demo-tenant/inventory"

    def load(self):
        from dagster_project.inventory.tables import load_inventory

        path = Path(self.snapshot_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"inventory snapshot folder not found: {path}")
        return load_inventory(path)


class FinopsConfigResource(ConfigurableResource):
    """`finops.yaml`; no path means every default."""

    path: str | None = None

    def load(self) -> FinopsConfig:
        return load_config(Path(self.path) if self.path else None)
