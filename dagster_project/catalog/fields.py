"""Columns that several tables share with the same meaning, defined once (in the spirit of PUDL's
`metadata/fields.py`); a table names one with `{ field = "<name>" }`, optionally with its own
description."""

from __future__ import annotations

from dagster_project.catalog.model import Column
from dagster_project.catalog.types import TEXT, UTC_TIME

FIELDS: dict[str, Column] = {c.name: c for c in (
    Column("workspace_id", TEXT, "the workspace's ARM id, lowercased"),
    Column("tags", TEXT, "JSON text: the resource's tags, keys and values exactly as written"),
    Column("created_on", UTC_TIME, "creation time"),
    Column("captured_at", UTC_TIME, "the snapshot's capture time"),
    Column("provisioning_state", TEXT, "as returned"),
)}
