"""Fixtures shared by several test modules.

The demo's tenant, its inventory snapshot and its generated folder are built once per test
session (per worker under `pytest -n`), read-only: a test that changes files copies them first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from publication_support import SEPTEMBER, newer_run_without_last_row, run_cli

from dagster_project.demo.generate import DemoTenantPaths, generate_demo
from dagster_project.demo.snapshot import write_snapshot
from dagster_project.demo.tenant import Tenant, build_tenant
from dagster_project.inventory.tables import Inventory, load_inventory

# The longest test files, run first: under `pytest -n 2 --dist loadfile` a file goes to one worker
# whole, in collection order, so the longest one collected last was the run's tail (the kill
# test alone takes ~2.5 minutes).
LONGEST_FIRST = ("test_publication_kill.py", "test_export_delivery.py", "test_cli_inventory_captures.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its order


@pytest.fixture(scope="session")
def demo_tenant() -> Tenant:
    """The demo tenant model (seed 42, three months ending at the demo's last month)."""
    return build_tenant(seed=42)


@pytest.fixture(scope="session")
def demo_snapshot_dir(demo_tenant: Tenant, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo tenant's inventory snapshot (the replay layout of docs/inventory.md)."""
    out = tmp_path_factory.mktemp("demo-snapshot")
    write_snapshot(demo_tenant, out)
    return out


@pytest.fixture(scope="session")
def demo_snapshot_inventory(demo_snapshot_dir: Path) -> Inventory:
    """The snapshot replayed through azure-ai-ml into the inventory tables."""
    return load_inventory(demo_snapshot_dir)


@pytest.fixture(scope="session")
def demo_two_months(tmp_path_factory: pytest.TempPathFactory) -> DemoTenantPaths:
    """`generate_demo` of 2026-09 and 2026-10 (exports, inventory snapshot, expected answers)."""
    return generate_demo(tmp_path_factory.mktemp("demo") / "tenant", seed=42, months=2)


@pytest.fixture(scope="module")
def published(demo_two_months: DemoTenantPaths, tmp_path_factory: pytest.TempPathFactory):
    """The demo published once (the state before), and its exports with a re-delivered September."""
    root = tmp_path_factory.mktemp("publication")
    paths = demo_two_months
    exports = root / "exports"
    shutil.copytree(paths.exports, exports)
    before = root / "before"
    result = run_cli("run", "--exports", str(exports), "--inventory", str(paths.inventory), "--out", str(before))
    assert result.returncode == 0, result.stderr
    removed = newer_run_without_last_row(exports, SEPTEMBER)
    return paths, exports, before, removed


# The names the inventory capture tests (issue 14) use for the same session fixtures.
@pytest.fixture(scope="session")
def tenant(demo_tenant: Tenant) -> Tenant:
    return demo_tenant


@pytest.fixture(scope="session")
def demo_dir(demo_snapshot_dir: Path) -> Path:
    return demo_snapshot_dir


@pytest.fixture(scope="session")
def demo_inventory(demo_snapshot_inventory: Inventory) -> Inventory:
    return demo_snapshot_inventory
