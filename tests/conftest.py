"""Fixtures shared by several test modules."""

from __future__ import annotations

import shutil

import pytest
from publication_support import SEPTEMBER, newer_run_without_last_row, run_cli

from dagster_project.demo.generate import generate_demo


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The demo published once (the state before), and its exports with a re-delivered September."""
    root = tmp_path_factory.mktemp("publication")
    paths = generate_demo(root / "tenant", seed=42, months=2)  # 2026-09 and 2026-10
    exports = root / "exports"
    shutil.copytree(paths.exports, exports)
    before = root / "before"
    result = run_cli("run", "--exports", str(exports), "--inventory", str(paths.inventory), "--out", str(before))
    assert result.returncode == 0, result.stderr
    removed = newer_run_without_last_row(exports, SEPTEMBER)
    return paths, exports, before, removed
