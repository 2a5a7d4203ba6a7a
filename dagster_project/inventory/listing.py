"""List the Azure ML inventory with azure-ai-ml: workspaces, then everything inside each one.

This is domain code (no Dagster). The same functions run live (a real credential, azure-core's
default transport) and offline (`ReplayCredential` + `ReplayTransport` over a snapshot folder):
only the transport differs, never the SDK code path.

Per subscription (or resource group) scope:

1. ``workspaces.list`` (subscription or resource-group scope), filtered by name if asked;
2. per workspace, an `MLClient` bound to it lists computes, model / environment / data
   *containers* (``list_view_type=ALL`` so archived ones are included), online endpoints and jobs
   (``list_view_type=ALL``);
3. the N+1 calls: every version per container name (``list_view_type=ALL``: archived versions
   count), deployments per endpoint, and the run-history record per job (start / end times live
   only in run history).

Why REST models as well as entities: see `sdk_calls.py`. The crawl itself (tasks, the thread pool,
the follow-up calls) is `crawler.py`; the data it returns is `listed.py`.

Beside the workspaces, every scope's resource groups (``resource_groups.list()`` for a subscription
scope, ``resource_groups.get(rg)`` for a resource-group or workspace scope) and each subscription
(``GET /subscriptions/<id>``) are read through azure-mgmt-resource's `ResourceManagementClient`,
on the same transport (so they are recorded and replayed like everything else). azure-mgmt-resource
26 no longer ships `SubscriptionClient` (it moved to azure-mgmt-resource-subscriptions, not a
dependency), so the subscription is read with the client's own `send_request` and the stable
``2022-12-01`` API: same pipeline, same authentication and retry policies.

A scope is a subscription id, ``/subscriptions/<id>``, ``/subscriptions/<id>/resourceGroups/<rg>``
or a workspace ARM id (``.../providers/Microsoft.MachineLearningServices/workspaces/<name>``, read
with ``workspaces.get``; the recorder writes such scopes when asked for named workspaces, so the
replay issues exactly the requests that were recorded).

Calls run on a small thread pool (bounded concurrency); a failing call is recorded as a
`ListingFailure` naming the workspace and the call, and every other call still completes.
Throttling: every client involved (the ARM clients of azure-ai-ml and azure-mgmt-resource, the
run-history data-plane client) runs azure-core's `RetryPolicy`, which retries HTTP 429 (and 408,
500, 502-504) and waits for the response's ``Retry-After`` (``tests/test_inventory_record.py``
checks it on each kind of call), so the listing adds no retry loop of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

from dagster_project.azure_ids import parse_scope as azure_scope
from dagster_project.inventory.crawler import SUBSCRIPTION_API_VERSION, Crawl
from dagster_project.inventory.listed import (
    ASSET_KINDS,
    Listed,
    ListingFailure,
    ListingResult,
    ProgressCallback,
    WorkspaceListing,
)
from dagster_project.inventory.sdk_calls import SdkCalls

__all__ = ["ASSET_KINDS", "DEFAULT_MAX_WORKERS", "SUBSCRIPTION_API_VERSION", "Listed", "ListingFailure",
           "ListingResult", "ProgressCallback", "SdkCalls", "WorkspaceListing", "list_inventory",
           "parse_listing_scope", "parse_scope"]

DEFAULT_MAX_WORKERS = 8


def parse_scope(scope: str, resource_group: str | None = None) -> tuple[str, str | None]:
    """`"<sub-id>"`, `"/subscriptions/<id>"` or `"/subscriptions/<id>/resourceGroups/<rg>"` →
    (subscription id, resource group or None). A bare id takes `resource_group` if given."""
    text = scope.strip()
    parsed = azure_scope(text)
    if parsed and parsed.workspace is None:
        return parsed.subscription, parsed.resource_group or resource_group
    if "/" in text or not text:
        raise ValueError(f"not a subscription or resource-group scope: {scope!r}")
    return text, resource_group


def parse_listing_scope(scope: str, resource_group: str | None = None) -> tuple[str, str | None, str | None]:
    """Like `parse_scope`, and also a workspace ARM id → (subscription, resource group, workspace).

    The workspace is None for subscription and resource-group scopes."""
    parsed = azure_scope(scope)
    if parsed and parsed.workspace is not None:
        return parsed.subscription, parsed.resource_group, parsed.workspace
    subscription_id, group = parse_scope(scope, resource_group)
    return subscription_id, group, None


def list_inventory(
    credential: TokenCredential,
    subscriptions: str | Iterable[str],
    *,
    transport: HttpTransport | None = None,
    resource_group: str | None = None,
    workspace_names: Iterable[str] | None = None,
    include_run_history: bool = True,
    max_workers: int = DEFAULT_MAX_WORKERS,
    progress: ProgressCallback | None = None,
    cloud: str = "AzureCloud",
) -> ListingResult:
    """List every workspace in the scopes and everything inside it.

    `subscriptions` holds subscription ids or ARM scopes (`/subscriptions/<id>`,
    `/subscriptions/<id>/resourceGroups/<rg>` or a workspace ARM id); `resource_group` narrows bare
    ids. With `workspace_names`, only those workspaces (case-insensitive) are listed. `transport`
    is passed to every client (azure-ai-ml and azure-mgmt-resource; a `ReplayTransport` for offline
    replay, a `RecordingTransport` to record). Failures never abort the listing: they come back in
    `ListingResult.failures`, each naming the workspace (or scope) and the call.

    `progress` receives one line per scope listed, one per workspace when all its calls are done
    (``[k/n] <name>: <counts>``, with the number of failed calls), every failed call
    (``FAILED <scope>: <call>: <error>``), a call count every 500 calls, and a closing line when
    anything failed. Calls to it never overlap (it may be called from worker threads).
    """
    scopes = [subscriptions] if isinstance(subscriptions, str) else list(subscriptions)
    specs = [parse_listing_scope(scope, resource_group) for scope in scopes]
    crawl = Crawl(credential, transport=transport, cloud=cloud, workspace_names=workspace_names,
                  include_run_history=include_run_history, progress=progress)
    return crawl.run(specs, max_workers)
