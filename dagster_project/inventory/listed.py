"""What the inventory listing returns: the items azure-ai-ml listed, per workspace, and the calls
that failed. Plain data, shared by the crawler (`crawler.py`), the SDK calls (`sdk_calls.py`) and
the table builders (`tables.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dagster_project.azure_ids import ASSET_COLLECTIONS

ProgressCallback = Callable[[str], None]
ASSET_KINDS = tuple(ASSET_COLLECTIONS.values())  # model, environment, data
# The collection name of each asset kind (`models`), as the calls are labelled.
ASSET_PLURALS = {kind: collection for collection, kind in ASSET_COLLECTIONS.items()}


@dataclass(frozen=True)
class Listed:
    """One resource as azure-ai-ml returned it: the deserialized REST model and the SDK entity.

    `entity` is None only where the SDK itself declines to build one (a job type it cannot parse);
    the REST model is always there.
    """

    rest: Any
    entity: Any


@dataclass(frozen=True)
class ListingFailure:
    """A call that failed. `scope` is the workspace ARM id (or the subscription scope)."""

    scope: str
    call: str
    error: str

    def __str__(self) -> str:
        return f"{self.scope}: {self.call}: {self.error}"


@dataclass
class WorkspaceListing:
    """Everything listed inside one workspace."""

    workspace: Listed
    subscription_id: str
    resource_group: str
    name: str
    computes: list[Listed] = field(default_factory=list)
    # (kind, Listed) with kind in ASSET_KINDS.
    asset_versions: list[tuple[str, Listed]] = field(default_factory=list)
    endpoints: list[Listed] = field(default_factory=list)
    # (endpoint name, Listed)
    deployments: list[tuple[str, Listed]] = field(default_factory=list)
    jobs: list[Listed] = field(default_factory=list)
    # job name → run-history `Run` (azure.ai.ml._restclient.runhistory.models.Run)
    runs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.workspace.rest.id)


@dataclass
class ListingResult:
    workspaces: list[WorkspaceListing]
    failures: list[ListingFailure]
    # (subscription id, azure.mgmt.resource.resources.models.ResourceGroup)
    resource_groups: list[tuple[str, Any]] = field(default_factory=list)
    # The Subscriptions - Get bodies (dicts: subscriptionId, displayName, state, tags, ...)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    # How many calls (tasks) ran, failed ones included.
    calls: int = 0
