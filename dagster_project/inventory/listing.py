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

Calls run on a small thread pool (bounded concurrency); a failing call is recorded as a
`ListingFailure` naming the workspace and the call, and every other call still completes.
azure-core's ARM retry policy honours HTTP 429 ``Retry-After`` on live runs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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

    `subscriptions` holds subscription ids or ARM scopes (`/subscriptions/<id>` or
    `/subscriptions/<id>/resourceGroups/<rg>`); `resource_group` narrows bare ids. With
    `workspace_names`, only those workspaces (case-insensitive) are listed. `transport` is passed
    to every azure-ai-ml client (a `ReplayTransport` for offline replay). Failures never abort the
    listing: they come back in `ListingResult.failures`, each naming the workspace and the call.
    """
    scopes = [subscriptions] if isinstance(subscriptions, str) else list(subscriptions)
    wanted = {name.lower() for name in workspace_names} if workspace_names is not None else None
    client_kwargs: dict[str, Any] = {"enable_telemetry": False, "show_progress": False, "cloud": cloud}
    if transport is not None:
        client_kwargs["transport"] = transport
    say = progress or (lambda message: None)

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

    def subscription_task(scope_text: str) -> _Task:
        subscription_id, group = parse_scope(scope_text, resource_group)
        label = f"/subscriptions/{subscription_id}" + (f"/resourceGroups/{group}" if group else "")
        call = "workspaces.list(scope=" + ("'resource_group')" if group else "'subscription')")

        def run() -> list[_Task]:
            client = MLClient(credential, subscription_id, group, **client_kwargs)
            calls = _SdkCalls(client, group or "", None)
            found = calls.workspaces(subscription_scope=group is None)
            errors = calls.take_item_errors()
            follow: list[_Task] = []
            with lock:
                failures.extend(ListingFailure(label, call, error) for error in errors)
                for item in found:
                    entity = item.entity
                    if wanted is not None and entity.name.lower() not in wanted:
                        continue
                    listing = WorkspaceListing(item, subscription_id, entity.resource_group, entity.name)
                    listings.append(listing)
                    follow.append(_Task(listing.id, "MLClient(workspace)", lambda ws=listing: workspace_tasks(ws)))
            say(f"{label}: {len(follow)} workspace(s)")
            return follow

        return _Task(label, call, run)

    _run_tasks([subscription_task(scope) for scope in scopes], max_workers, failures, lock, say)

    for listing in listings:
        # Deterministic order whatever order the threads finished in.
        listing.computes.sort(key=lambda item: str(item.rest.id).lower())
        listing.asset_versions.sort(key=lambda pair: (pair[0], str(pair[1].rest.id).lower()))
        listing.endpoints.sort(key=lambda item: str(item.rest.id).lower())
        listing.deployments.sort(key=lambda pair: (pair[0], str(pair[1].rest.id).lower()))
        listing.jobs.sort(key=lambda item: str(item.rest.id).lower())
    listings.sort(key=lambda listing: listing.id.lower())
    failures.sort(key=lambda failure: (failure.scope.lower(), failure.call, failure.error))
    return ListingResult(listings, failures)


def _run_tasks(
    initial: Sequence[_Task],
    max_workers: int,
    failures: list[ListingFailure],
    lock: threading.Lock,
    say: ProgressCallback,
) -> None:
    """Run tasks on a bounded pool; a task's follow-ups are submitted as it completes.

    Workers never wait on other futures (only this driver does), so the pool cannot deadlock
    however deep the N+1 fan-out goes.
    """
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="aml-inventory") as pool:
        pending: dict[Future[list[_Task]], _Task] = {pool.submit(task.run): task for task in initial}
        completed = 0
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                completed += 1
                try:
                    follow_ups = future.result()
                except Exception as exc:  # noqa: BLE001 - recorded, the other calls go on
                    with lock:
                        failures.append(ListingFailure(task.scope, task.call, _describe(exc)))
                    say(f"FAILED {task.scope}: {task.call}: {_describe(exc)}")
                    continue
                for follow_up in follow_ups:
                    pending[pool.submit(follow_up.run)] = follow_up
                if completed % 200 == 0:
                    say(f"{completed} calls done, {len(pending)} pending")
