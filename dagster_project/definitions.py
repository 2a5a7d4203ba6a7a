"""The Dagster code location: assets, checks, resources, jobs, schedules and sensors.

`dagster dev -w workspace.yaml` (or `make dev`) shows this graph; `aml-finops run` and
`aml-finops demo` run the same assets in-process.

Configuration, read when the code location loads (never at import; docs/deployment.md):

* `finops.yaml` at `$FINOPS_CONFIG` (default `./finops.yaml`; a missing default file means every
  default, a missing `$FINOPS_CONFIG` file is an error): its `sources:` (exports, inventory folder,
  snapshot store) are honoured exactly as by the CLI;
* Dagster `EnvVar`s, which win over the file: `FINOPS_OUT_DIR` (output folder, default
  `reports`), `FINOPS_EXPORTS` (an export root folder or
  `https://<account>.blob.core.windows.net/<container>[/<root>]`), `FINOPS_SNAPSHOT_STORE` (a
  snapshot store folder or Blob URL), `FINOPS_INVENTORY` (a snapshot folder to replay);
* nothing configured at all: the demo tenant that `make demo` writes under `reports/demo-tenant`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from dagster import Definitions, EnvVar, definitions

from assets.alerting import alert_sensor
from assets.attribution import cost_allocation, project_spend_monthly
from assets.costs import cost_exports
from assets.findings import findings
from assets.inventory import aml_inventory
from assets.jobs import inventory_job, monthly_job
from assets.orchestration import (
    inventory_daily_schedule,
    month_close_schedule,
    month_to_date_schedule,
    new_export_sensor,
)
from assets.publication import published_month
from assets.reports import monthly_reports
from dagster_project.config import ConfigError, FinopsConfig, load_config
from dagster_project.resources import (
    CostExportsResource,
    FinopsConfigResource,
    InventoryResource,
    WarehouseResource,
)

ALL_ASSETS = [cost_exports, aml_inventory, cost_allocation, project_spend_monthly, findings, monthly_reports,
              published_month]

ENV_CONFIG = "FINOPS_CONFIG"
ENV_OUT_DIR = "FINOPS_OUT_DIR"
ENV_EXPORTS = "FINOPS_EXPORTS"
ENV_SNAPSHOT_STORE = "FINOPS_SNAPSHOT_STORE"
ENV_INVENTORY = "FINOPS_INVENTORY"
DEMO_EXPORTS = "reports/demo-tenant/exports"
DEMO_INVENTORY = "reports/demo-tenant/inventory"


def default_resources(out_dir: str = "reports", exports: str | CostExportsResource = DEMO_EXPORTS,
                      inventory: str | InventoryResource = DEMO_INVENTORY, config: str | None = None) -> dict:
    """Resources for a run; the defaults point at the demo tenant that `make demo` generates."""
    return {
        "warehouse": WarehouseResource(out_dir=out_dir),
        "cost_exports": exports if isinstance(exports, CostExportsResource) else CostExportsResource(root=exports),
        "inventory": inventory if isinstance(inventory, InventoryResource) else InventoryResource(snapshot_dir=inventory),
        "finops_config": FinopsConfigResource(path=config),
    }


def _blob_url(url: str, variable: str) -> tuple[str, str, str]:
    """`https://<account>.blob.core.windows.net/<container>[/<root>]` → (account URL, container, root)."""
    parts = urlparse(url)
    container, _, root = parts.path.strip("/").partition("/")
    if not container or parts.query:
        raise ConfigError(f"{variable}: {parts.scheme}://{parts.netloc}{parts.path}: expected "
                          "https://<account>.blob.core.windows.net/<container>[/<folder>] (no SAS: the "
                          "credential is DefaultAzureCredential)")
    return f"{parts.scheme}://{parts.netloc}", container, root


def inventory_resource(config: FinopsConfig, environ: Mapping[str, str]) -> InventoryResource | None:
    """The inventory from `FINOPS_INVENTORY` / `FINOPS_SNAPSHOT_STORE`, else `sources:`; None if neither."""
    snapshots = config.sources.snapshots
    capture = {} if snapshots is None else {
        "retention_days": snapshots.retention_days, "scopes": list(snapshots.scopes),
        "workspaces": snapshots.workspaces, "include_run_history": snapshots.include_run_history,
        "cloud": snapshots.cloud, "cache_dir": snapshots.cache_dir}
    if environ.get(ENV_INVENTORY):
        return InventoryResource(snapshot_dir=EnvVar(ENV_INVENTORY))
    store = environ.get(ENV_SNAPSHOT_STORE)
    if store and store.startswith(("https://", "http://")):
        account_url, container, root = _blob_url(store, ENV_SNAPSHOT_STORE)
        return InventoryResource(account_url=account_url, container=container, root_path=root, **capture)
    if store:
        return InventoryResource(store_path=EnvVar(ENV_SNAPSHOT_STORE), **capture)
    if config.sources.inventory:
        return InventoryResource(snapshot_dir=config.sources.inventory)
    if snapshots is not None:
        return (InventoryResource(store_path=snapshots.path, **capture) if snapshots.kind == "local" else
                InventoryResource(account_url=snapshots.account_url, container=snapshots.container,
                                  root_path=snapshots.root_path, **capture))
    return None


def exports_resource(config: FinopsConfig, environ: Mapping[str, str]) -> CostExportsResource | None:
    """The exports from `FINOPS_EXPORTS`, else `sources.exports`; None if neither."""
    from dagster_project.runner import exports_resource as from_settings

    exports = environ.get(ENV_EXPORTS)
    if exports and exports.startswith(("https://", "http://")):
        account_url, container, root = _blob_url(exports, ENV_EXPORTS)
        return CostExportsResource(kind="blob", account_url=account_url, container=container, root_path=root)
    if exports:
        return CostExportsResource(root=EnvVar(ENV_EXPORTS))
    if config.sources.exports is not None:
        return from_settings(config.sources.exports)
    return None


def deployment_resources(environ: Mapping[str, str]) -> dict:
    """The resources of a deployment, from `finops.yaml` and the environment (module docstring).

    The demo is the default of the exports and the inventory only when neither is configured;
    when one is, the other must be too (its asset fails, saying what to set)."""
    config_path = Path(environ.get(ENV_CONFIG) or "finops.yaml")
    if environ.get(ENV_CONFIG) and not config_path.is_file():
        raise ConfigError(f"{config_path}: configuration file not found (named by ${ENV_CONFIG})")
    config = load_config(config_path) if config_path.is_file() else FinopsConfig()
    exports = exports_resource(config, environ)
    inventory = inventory_resource(config, environ)
    if exports is None and inventory is None:
        exports, inventory = CostExportsResource(root=DEMO_EXPORTS), InventoryResource(snapshot_dir=DEMO_INVENTORY)
    return {
        "warehouse": WarehouseResource(out_dir=EnvVar(ENV_OUT_DIR)) if environ.get(ENV_OUT_DIR)
        else WarehouseResource(out_dir="reports"),
        # A missing export source fails the month's first asset with the path it looked for.
        "cost_exports": exports or CostExportsResource(root=""),
        "inventory": inventory or InventoryResource(),
        "finops_config": FinopsConfigResource(path=str(config_path) if config_path.is_file() else None),
    }


def build_definitions(resources: dict) -> Definitions:
    """The code location's Definitions with the given resources (tests pass their own)."""
    return Definitions(
        assets=ALL_ASSETS,
        jobs=[inventory_job, monthly_job],
        schedules=[month_close_schedule, month_to_date_schedule, inventory_daily_schedule],
        sensors=[new_export_sensor, alert_sensor],
        resources=resources,
    )


@definitions
def defs() -> Definitions:
    """Loaded by Dagster when the code location starts: configured from finops.yaml and the environment."""
    return build_definitions(deployment_resources(os.environ))
