"""Inventory failures as a table: nothing the capture could not read is dropped silently.

Every `ListingFailure` of a capture (a missing file on replay, an HTTP error live, a body that is
not JSON or has an unexpected shape, a resource that could not be normalized) becomes one row of
`inventory_failures`, naming the subscription, the workspace and the call. A workspace with a row
here is *unknown* in this capture, not gone: its findings must not resolve (issue 14b reads the
table to carry them forward). docs/inventory.md documents the columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import polars as pl

from dagster_project.catalog import polars_schema
from dagster_project.inventory.listing import ListingFailure

FAILURES_TABLE = "inventory_failures"
# The columns live in the table catalog (dagster_project/catalog/tables/inventory.toml).
FAILURES_SCHEMA = polars_schema(FAILURES_TABLE)

_SUBSCRIPTION = re.compile(r"/subscriptions/([^/\s?'\"]+)", re.IGNORECASE)
_WORKSPACE = re.compile(
    r"(/subscriptions/[^/\s?'\"]+/resourcegroups/[^/\s?'\"]+/providers/microsoft\.machinelearningservices/"
    r"workspaces/([^/\s?'\")]+))", re.IGNORECASE)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def failure_row(failure: ListingFailure, captured_at: datetime) -> dict:
    """One row: the subscription and workspace are read from the scope, else from the call (a
    recorder failure names the URL it could not keep)."""
    text = f"{failure.scope} {failure.call}"
    workspace = _WORKSPACE.search(failure.scope) or _WORKSPACE.search(failure.call)
    subscription = _SUBSCRIPTION.search(text)
    return {
        "captured_at": captured_at,
        "subscription_id": subscription.group(1).lower() if subscription else None,
        "workspace_id": workspace.group(1).lower() if workspace else None,
        "workspace_name": workspace.group(2) if workspace else None,
        "scope": _one_line(failure.scope),
        "call": _one_line(failure.call),
        "reason": _one_line(failure.error),
    }


def failures_frame(failures: Iterable[ListingFailure], captured_at: datetime) -> pl.DataFrame:
    """The `inventory_failures` table of one capture, in the order the failures were reported."""
    rows = [failure_row(failure, captured_at) for failure in failures]
    return pl.from_dicts(rows, schema=FAILURES_SCHEMA) if rows else pl.DataFrame(schema=FAILURES_SCHEMA)


def describe(frame: pl.DataFrame, limit: int = 5) -> str:
    """One line naming the failed workspaces and calls (for checks, logs and the CLI)."""
    if frame.height == 0:
        return "every call of the capture succeeded"
    parts = []
    for row in frame.head(limit).iter_rows(named=True):
        where = row["workspace_name"] or row["scope"]
        parts.append(f"{where}: {row['call']}: {row['reason']}")
    more = f"; and {frame.height - limit} more (table inventory_failures)" if frame.height > limit else ""
    workspaces = frame["workspace_id"].drop_nulls().n_unique()
    head = f"{frame.height} inventory call(s) failed" + (f" in {workspaces} workspace(s)" if workspaces else "")
    return f"{head}: " + "; ".join(parts) + more
