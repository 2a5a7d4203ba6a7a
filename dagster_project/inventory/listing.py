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

Why REST models as well as entities: azure-ai-ml's entities drop fields the FinOps rules need
(cluster node counts and allocation state, a version's ``isArchived``, the compute creator, the
service's own enum spellings). So each list call here issues exactly the request the public
operation issues (same generated operation, same arguments; see `_SdkCalls`), but keeps the REST
model the SDK deserialized next to the entity the SDK built from it (`Listed`). Converting items
one by one also means one malformed item is reported as a failure instead of failing the whole
page, which is what the public methods would do.

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

import queue
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from azure.ai.ml import MLClient
from azure.ai.ml.constants import ListViewType
from azure.ai.ml.entities import (
    Compute,
    Data,
    Environment,
    Model,
    OnlineDeployment,
    OnlineEndpoint,
    Workspace,
)
from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

ProgressCallback = Callable[[str], None]
ASSET_KINDS = ("model", "environment", "data")
DEFAULT_MAX_WORKERS = 8

_SCOPE = re.compile(r"^/?subscriptions/(?P<sub>[^/]+)(?:/resourcegroups/(?P<rg>[^/]+))?/?$", re.IGNORECASE)
_WORKSPACE_SCOPE = re.compile(
    r"^/?subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.machinelearningservices/workspaces/(?P<ws>[^/]+)/?$",
    re.IGNORECASE,
)
# Subscriptions - Get, a stable ARM API whose body carries displayName, state and tags.
SUBSCRIPTION_API_VERSION = "2022-12-01"


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


def parse_scope(scope: str, resource_group: str | None = None) -> tuple[str, str | None]:
    """`"<sub-id>"`, `"/subscriptions/<id>"` or `"/subscriptions/<id>/resourceGroups/<rg>"` →
    (subscription id, resource group or None). A bare id takes `resource_group` if given."""
    text = scope.strip()
    match = _SCOPE.match(text)
    if match:
        return match.group("sub"), match.group("rg") or resource_group
    if "/" in text or not text:
        raise ValueError(f"not a subscription or resource-group scope: {scope!r}")
    return text, resource_group


def parse_listing_scope(scope: str, resource_group: str | None = None) -> tuple[str, str | None, str | None]:
    """Like `parse_scope`, and also a workspace ARM id → (subscription, resource group, workspace).

    The workspace is None for subscription and resource-group scopes."""
    match = _WORKSPACE_SCOPE.match(scope.strip())
    if match:
        return match.group("sub"), match.group("rg"), match.group("ws")
    subscription_id, group = parse_scope(scope, resource_group)
    return subscription_id, group, None


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class _SdkCalls:
    """The azure-ai-ml calls the listing makes, each mirroring one public `MLClient` method.

    Each method sends the request the public method sends (same generated operation, same
    arguments), with a `cls` that keeps the REST model beside the entity built by the SDK's own
    `_from_rest_object`. Written against azure-ai-ml 1.35.2; the replay tests fail loudly if an
    internal name moves.
    """

    def __init__(self, client: MLClient, resource_group: str, workspace_name: str | None) -> None:
        self.client = client
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        # Items that failed to convert, per thread: a task runs (and pages) entirely on one
        # thread, so each task collects exactly its own errors.
        self._local = threading.local()

    def _errors(self) -> list[str]:
        if not hasattr(self._local, "errors"):
            self._local.errors = []
        return self._local.errors

    def _pairing(
        self, to_entity: Callable[[Any], Any], keep_without_entity: bool = False
    ) -> Callable[[list[Any]], list[Listed]]:
        """A `cls` for generated list operations: (REST model, entity) per item.

        An item whose entity the SDK cannot build is reported; it is dropped, unless
        `keep_without_entity` (the table needs only the REST model) keeps it with entity None.
        """

        def pair(objects: list[Any]) -> list[Listed]:
            out = []
            for obj in objects:
                try:
                    out.append(Listed(obj, to_entity(obj)))
                except Exception as exc:  # noqa: BLE001 - one bad item must not hide the page
                    label = getattr(obj, "id", None) or getattr(obj, "name", None) or "?"
                    if keep_without_entity:
                        out.append(Listed(obj, None))
                        self._errors().append(f"item {label} kept from its REST model; "
                                              f"azure-ai-ml could not build the entity: {_describe(exc)}")
                    else:
                        self._errors().append(f"item {label} skipped: {_describe(exc)}")
            return out

        return pair

    def workspaces(self, subscription_scope: bool) -> list[Listed]:
        """`workspaces.list(scope="subscription" | "resource_group")`."""
        operation = self.client.workspaces._operation
        cls = self._pairing(Workspace._from_rest_object)
        if subscription_scope:
            return list(operation.list_by_subscription(cls=cls, kind=None))
        return list(operation.list_by_resource_group(self.resource_group, cls=cls, kind=None))

    def workspace(self, name: str) -> Listed:
        """`workspaces.get(name)`."""
        operation = self.client.workspaces._operation
        return operation.get(self.resource_group, name,
                             cls=lambda _response, obj, _headers: Listed(obj, Workspace._from_rest_object(obj)))

    def computes(self) -> list[Listed]:
        """`compute.list()`."""
        operation = self.client.compute._operation
        return list(operation.list(self.resource_group, self.workspace_name, cls=self._pairing(Compute._from_rest_object)))

    def container_names(self, kind: str) -> list[str]:
        """`models|environments|data.list(list_view_type=ALL)`: the public method, names only."""
        operations = {"model": self.client.models, "environment": self.client.environments, "data": self.client.data}
        return [entity.name for entity in operations[kind].list(list_view_type=ListViewType.ALL)]

    def versions(self, kind: str, name: str) -> list[Listed]:
        """`models|environments|data.list(name=name, list_view_type=ALL)`."""
        if kind == "model":
            ops = self.client.models
            return list(ops._model_versions_operation.list(
                name=name, workspace_name=self.workspace_name, cls=self._pairing(Model._from_rest_object),
                list_view_type=ListViewType.ALL, **ops._scope_kwargs,
            ))
        if kind == "environment":
            ops = self.client.environments
            return list(ops._version_operations.list(
                name=name, workspace_name=self.workspace_name, cls=self._pairing(Environment._from_rest_object),
                list_view_type=ListViewType.ALL, **ops._scope_kwargs, **ops._kwargs,
            ))
        ops = self.client.data
        return list(ops._operation.list(
            name=name, workspace_name=self.workspace_name, cls=self._pairing(Data._from_rest_object),
            list_view_type=ListViewType.ALL, **ops._scope_kwargs,
        ))

    def online_endpoints(self) -> list[Listed]:
        """`online_endpoints.list()`."""
        ops = self.client.online_endpoints
        return list(ops._online_operation.list(
            resource_group_name=self.resource_group, workspace_name=self.workspace_name,
            cls=self._pairing(OnlineEndpoint._from_rest_object), **ops._init_kwargs,
        ))

    def online_deployments(self, endpoint_name: str) -> list[Listed]:
        """`online_deployments.list(endpoint_name)`."""
        ops = self.client.online_deployments
        return list(ops._online_deployment.list(
            endpoint_name=endpoint_name, resource_group_name=self.resource_group,
            workspace_name=self.workspace_name, cls=self._pairing(OnlineDeployment._from_rest_object),
            **ops._init_kwargs,
        ))

    def jobs(self) -> list[Listed]:
        """`jobs.list(list_view_type=ALL)`; entities via the SDK's own `_handle_rest_errors`
        (which resolves compute / environment ARM ids to names and returns None for job types it
        cannot parse)."""
        ops = self.client.jobs
        return list(ops.service_client_01_2024_preview_arm.jobs.list(
            self.resource_group, self.workspace_name,
            cls=self._pairing(ops._handle_rest_errors, keep_without_entity=True),
            list_view_type=ListViewType.ALL, params={}, **ops._kwargs,
        ))

    def run(self, job_name: str) -> Any:
        """The job's run-history record (``GET .../history/v1.0/.../runs/<name>`` on the workspace's
        data-plane host, found through the workspace discovery document, as `jobs.get` does)."""
        return self.client.jobs._runs_operations.get_run(job_name)

    def take_item_errors(self) -> list[str]:
        """The conversion errors of the calls this thread made since the last take."""
        errors = list(self._errors())
        self._errors().clear()
        return errors


@dataclass
class _Task:
    scope: str
    call: str
    run: Callable[[], list[_Task]]


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
    wanted = {name.lower() for name in workspace_names} if workspace_names is not None else None
    client_kwargs: dict[str, Any] = {"enable_telemetry": False, "show_progress": False, "cloud": cloud}
    if transport is not None:
        client_kwargs["transport"] = transport
    say_lock = threading.Lock()

    def say(message: str) -> None:
        if progress is not None:
            with say_lock:
                progress(message)

    listings: list[WorkspaceListing] = []
    failures: list[ListingFailure] = []
    # Only the driver thread (this one) touches `listings`; tasks return follow-up tasks and
    # write into their own WorkspaceListing under this lock.
    lock = threading.Lock()

    def workspace_tasks(listing: WorkspaceListing) -> list[_Task]:
        client = MLClient(credential, listing.subscription_id, listing.resource_group, listing.name, **client_kwargs)
        calls = _SdkCalls(client, listing.resource_group, listing.name)
        scope = listing.id

        def task(call: str, body: Callable[[], list[_Task] | None]) -> _Task:
            def run() -> list[_Task]:
                follow_ups = body() or []
                errors = calls.take_item_errors()
                if errors:
                    with lock:
                        failures.extend(ListingFailure(scope, call, error) for error in errors)
                return follow_ups
            return _Task(scope, call, run)

        def computes() -> None:
            items = calls.computes()
            with lock:
                listing.computes.extend(items)

        def versions(kind: str, name: str) -> None:
            items = calls.versions(kind, name)
            with lock:
                listing.asset_versions.extend((kind, item) for item in items)

        def containers(kind: str) -> list[_Task]:
            plural = {"model": "models", "environment": "environments", "data": "data"}[kind]
            return [
                task(f"{plural}.list(name={name!r}, list_view_type=ALL)", lambda n=name: versions(kind, n))
                for name in calls.container_names(kind)
            ]

        def deployments(endpoint_name: str) -> None:
            items = calls.online_deployments(endpoint_name)
            with lock:
                listing.deployments.extend((endpoint_name, item) for item in items)

        def endpoints() -> list[_Task]:
            items = calls.online_endpoints()
            with lock:
                listing.endpoints.extend(items)
            return [
                task(f"online_deployments.list({item.rest.name!r})", lambda n=item.rest.name: deployments(n))
                for item in items
            ]

        def run_history(job_name: str) -> None:
            record = calls.run(job_name)
            with lock:
                listing.runs[job_name] = record

        def jobs() -> list[_Task]:
            items = calls.jobs()
            with lock:
                listing.jobs.extend(items)
            if not include_run_history:
                return []
            return [task(f"run history get_run({item.rest.name!r})", lambda n=item.rest.name: run_history(n))
                    for item in items]

        plural_of = {"model": "models", "environment": "environments", "data": "data"}
        return [
            task("compute.list()", computes),
            *[task(f"{plural_of[kind]}.list(list_view_type=ALL)", lambda k=kind: containers(k)) for kind in ASSET_KINDS],
            task("online_endpoints.list()", endpoints),
            task("jobs.list(list_view_type=ALL)", jobs),
        ]

    def scope_task(subscription_id: str, group: str | None, workspace_name: str | None) -> _Task:
        label = f"/subscriptions/{subscription_id}" + (f"/resourceGroups/{group}" if group else "")
        if workspace_name:
            label += f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace_name}"
            call = f"workspaces.get({workspace_name!r})"
        else:
            call = "workspaces.list(scope=" + ("'resource_group')" if group else "'subscription')")

        def run() -> list[_Task]:
            client = MLClient(credential, subscription_id, group, **client_kwargs)
            calls = _SdkCalls(client, group or "", None)
            if workspace_name:
                found = [calls.workspace(workspace_name)]
            else:
                found = calls.workspaces(subscription_scope=group is None)
            errors = calls.take_item_errors()
            follow: list[_Task] = []
            with lock:
                failures.extend(ListingFailure(label, call, error) for error in errors)
                for item in found:
                    entity = item.entity
                    if wanted is not None and entity.name.lower() not in wanted:
                        continue
                    if str(item.rest.id).lower() in listed_ids:
                        continue  # overlapping scopes: list each workspace once
                    listed_ids.add(str(item.rest.id).lower())
                    listing = WorkspaceListing(item, subscription_id, entity.resource_group, entity.name)
                    listings.append(listing)
                    by_id[listing.id] = listing
                    follow.append(_Task(listing.id, "MLClient(workspace)", lambda ws=listing: workspace_tasks(ws)))
                total_workspaces[0] += len(follow)
            say(f"{label}: {len(follow)} workspace(s)")
            return follow

        return _Task(label, call, run)

    def resource_management_client(subscription_id: str) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        kwargs: dict[str, Any] = {}
        if transport is not None:
            kwargs["transport"] = transport
        if cloud != "AzureCloud":
            from azure.ai.ml._azure_environments import _get_base_url_from_metadata

            base_url = _get_base_url_from_metadata(cloud)
            kwargs["base_url"] = base_url
            kwargs["credential_scopes"] = [base_url.rstrip("/") + "/.default"]
        return ResourceManagementClient(credential, subscription_id, **kwargs)

    def resource_groups_task(subscription_id: str, group: str | None) -> _Task:
        label = f"/subscriptions/{subscription_id}" + (f"/resourceGroups/{group}" if group else "")
        call = f"resource_groups.get({group!r})" if group else "resource_groups.list()"

        def run() -> list[_Task]:
            client = resource_management_client(subscription_id)
            items = [client.resource_groups.get(group)] if group else list(client.resource_groups.list())
            with lock:
                resource_groups.extend((subscription_id, item) for item in items)
            return []

        return _Task(label, call, run)

    def subscription_get_task(subscription_id: str) -> _Task:
        def run() -> list[_Task]:
            from azure.core.exceptions import HttpResponseError
            from azure.core.rest import HttpRequest

            client = resource_management_client(subscription_id)
            response = client.send_request(HttpRequest(
                "GET", f"/subscriptions/{subscription_id}", params={"api-version": SUBSCRIPTION_API_VERSION}))
            if response.status_code != 200:
                raise HttpResponseError(response=response)
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError(f"expected a JSON object, got {type(body).__name__}")
            with lock:
                subscriptions_found.append(body)
            return []

        return _Task(f"/subscriptions/{subscription_id}", f"subscriptions.get({subscription_id!r})", run)

    resource_groups: list[tuple[str, Any]] = []
    subscriptions_found: list[dict[str, Any]] = []
    listed_ids: set[str] = set()
    by_id: dict[str, WorkspaceListing] = {}
    total_workspaces = [0]
    done_workspaces = [0]

    def workspace_done(scope: str) -> None:
        listing = by_id.get(scope)
        if listing is None:
            return
        done_workspaces[0] += 1
        with lock:
            failed = sum(1 for failure in failures if failure.scope == scope)
        say(
            f"[{done_workspaces[0]}/{total_workspaces[0]}] {listing.name}: {len(listing.computes)} computes, "
            f"{len(listing.asset_versions)} asset versions, {len(listing.endpoints)} endpoints, "
            f"{len(listing.deployments)} deployments, {len(listing.jobs)} jobs, {len(listing.runs)} run records"
            + (f", {failed} FAILED call(s)" if failed else "")
        )

    specs = [parse_listing_scope(scope, resource_group) for scope in scopes]
    whole_subscriptions = {sub.lower() for sub, group, _ in specs if group is None}
    initial: list[_Task] = [scope_task(*spec) for spec in specs]
    seen_groups: set[tuple[str, str | None]] = set()
    seen_subscriptions: set[str] = set()
    for sub, group, _ in specs:
        key = (sub.lower(), group.lower() if group else None)
        if (group is not None and sub.lower() in whole_subscriptions) or key in seen_groups:
            continue
        seen_groups.add(key)
        initial.append(resource_groups_task(sub, group))
    for sub, _, _ in specs:
        if sub.lower() not in seen_subscriptions:
            seen_subscriptions.add(sub.lower())
            initial.append(subscription_get_task(sub))

    calls_run = _run_tasks(initial, max_workers, failures, lock, say, on_scope_done=workspace_done)

    for listing in listings:
        # Deterministic order whatever order the threads finished in.
        listing.computes.sort(key=lambda item: str(item.rest.id).lower())
        listing.asset_versions.sort(key=lambda pair: (pair[0], str(pair[1].rest.id).lower()))
        listing.endpoints.sort(key=lambda item: str(item.rest.id).lower())
        listing.deployments.sort(key=lambda pair: (pair[0], str(pair[1].rest.id).lower()))
        listing.jobs.sort(key=lambda item: str(item.rest.id).lower())
    listings.sort(key=lambda listing: listing.id.lower())
    failures.sort(key=lambda failure: (failure.scope.lower(), failure.call, failure.error))
    resource_groups.sort(key=lambda pair: str(pair[1].id).lower())
    subscriptions_found.sort(key=lambda body: str(body.get("subscriptionId") or body.get("id") or "").lower())
    if failures:
        say(f"{len(failures)} call(s) failed; the listing of everything else completed")
    return ListingResult(listings, failures, resource_groups, subscriptions_found, calls_run)


def _run_tasks(
    initial: Sequence[_Task],
    max_workers: int,
    failures: list[ListingFailure],
    lock: threading.Lock,
    say: ProgressCallback,
    on_scope_done: Callable[[str], None] | None = None,
) -> int:
    """Run tasks on a bounded pool; a task's follow-ups are submitted as it completes.

    Workers never wait on other futures (only this driver does), so the pool cannot deadlock
    however deep the N+1 fan-out goes. When the last outstanding task of a scope (a workspace:
    its own task and every follow-up) finishes, `on_scope_done(scope)` is called on this thread.
    Returns how many tasks ran.
    """
    outstanding: dict[str, int] = {}
    completed = 0
    # Finished futures arrive on a queue (one `put` per completion), so the driver's cost per
    # completion does not grow with the number pending. `concurrent.futures.wait` on the whole
    # pending set is O(pending) per call: with thousands of N+1 version calls queued, that made
    # a 200-workspace replay quadratic.
    finished: queue.SimpleQueue[Future[list[_Task]]] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="aml-inventory") as pool:
        pending: dict[Future[list[_Task]], _Task] = {}

        def submit(task: _Task) -> None:
            future = pool.submit(task.run)
            pending[future] = task
            outstanding[task.scope] = outstanding.get(task.scope, 0) + 1
            future.add_done_callback(finished.put)

        for task in initial:
            submit(task)
        while pending:
            future = finished.get()
            task = pending.pop(future)
            completed += 1
            try:
                follow_ups = future.result()
            except Exception as exc:  # noqa: BLE001 - recorded, the other calls go on
                with lock:
                    failures.append(ListingFailure(task.scope, task.call, _describe(exc)))
                say(f"FAILED {task.scope}: {task.call}: {_describe(exc)}")
                follow_ups = []
            for follow_up in follow_ups:
                submit(follow_up)
            outstanding[task.scope] -= 1
            if outstanding[task.scope] == 0:
                del outstanding[task.scope]
                if on_scope_done is not None:
                    on_scope_done(task.scope)
            if completed % 500 == 0:
                say(f"{completed} calls done, {len(pending)} pending")
    return completed
