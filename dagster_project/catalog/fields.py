"""Columns that several tables share with the same meaning, defined once (in the spirit of PUDL's
`metadata/fields.py`); a table reuses one as is or with its own description (`Column.described`)."""

from __future__ import annotations

from dagster_project.catalog.model import Column
from dagster_project.catalog.types import TEXT, UTC_TIME

WORKSPACE_ID = Column("workspace_id", TEXT, "the workspace's ARM id, lowercased")
TAGS = Column("tags", TEXT, "JSON text: the resource's tags, keys and values exactly as written")
CREATED_ON = Column("created_on", UTC_TIME, "creation time")
CAPTURED_AT = Column("captured_at", UTC_TIME, "the snapshot's capture time")
PROVISIONING_STATE = Column("provisioning_state", TEXT, "as returned")
