"""Value normalization of the azure-ai-ml listing: enum spellings, UTC times, ids, JSON text, references."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from azure.ai.ml._restclient.arm_ml_service import models as rest_models

_ENUM_REPR = re.compile(r"^(?P<cls>[A-Za-z_][A-Za-z0-9_]*)\.(?P<member>[A-Z0-9_]+)$")
_FRACTION = re.compile(r"\.(\d+)")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_ASSET_VERSION_ARM_ID = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.machinelearningservices/"
    r"workspaces/[^/]+/(?:models|environments|data)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)


def enum_text(value: Any) -> str | None:
    """The service's spelling of an enum value.

    `ComputeInstanceState.RUNNING` (the enum, or its str() rendering) → `Running`; plain strings
    pass through. A rendering whose class is not an azure-ai-ml REST enum is converted from
    UPPER_SNAKE to PascalCase (`LOW_PRIORITY` → `LowPriority`), the service's convention.
    """
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    text = str(value)
    match = _ENUM_REPR.match(text)
    if not match:
        return text
    enum_class = getattr(rest_models, match.group("cls"), None)
    member = getattr(enum_class, match.group("member"), None) if enum_class is not None else None
    if isinstance(member, Enum):
        return str(member.value)
    return "".join(part.capitalize() for part in match.group("member").split("_"))


def utc_time(value: Any) -> datetime | None:
    """A UTC-aware datetime from a datetime or any ISO-8601 spelling the service uses."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
        # .NET writes 7 fractional digits; Python accepts at most 6.
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text, count=1)
        text = _COMPACT_OFFSET.sub(r"\1:\2", text)
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


def _json_text(value: Any) -> str:
    """JSON text of a mapping as returned (key order kept); None → `{}`."""
    return json.dumps(dict(value) if value else {}, ensure_ascii=False)


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    import isodate

    return int(isodate.parse_duration(str(value)).total_seconds())


def asset_reference(value: Any) -> str | None:
    """A workspace asset version's ARM id → `azureml:<name>:<version>`; anything else unchanged.

    The service stores deployment and job references as ARM ids; the CLI, the studio and the
    findings all speak `azureml:<name>:<version>`. Registry references (`azureml://registries/...`)
    and `azureml:` references pass through.
    """
    if not value:
        return None
    text = str(value)
    match = _ASSET_VERSION_ARM_ID.match(text)
    if match:
        return f"azureml:{match.group('name')}:{match.group('version')}"
    return text


def _system_data(rest: Any) -> tuple[datetime | None, str | None]:
    system_data = getattr(rest, "system_data", None)
    if system_data is None:
        return None, None
    return utc_time(system_data.created_at), system_data.created_by


# The service writes a workspace's kind in varying case (`Default`, `hub`, `Project`,
# `featurestore`); the table uses one spelling. A workspace without a kind is a Default one.
WORKSPACE_KINDS = {"default": "Default", "hub": "Hub", "project": "Project", "featurestore": "FeatureStore"}


def workspace_kind(value: Any) -> str:
    """`hub` → `Hub`; an unknown kind is kept as returned, a missing one is `Default`."""
    text = enum_text(value)
    if not text:
        return "Default"
    return WORKSPACE_KINDS.get(text.strip().lower().replace("_", ""), text)
