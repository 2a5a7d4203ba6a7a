"""The inventory crawler: calls to make, run on a bounded thread pool, each call's follow-ups
(the N+1 calls) queued as it completes.

A `Crawl` holds what one `list_inventory` call gathers; each kind of call is one small method
that returns the `Task` to run and, when it runs, the follow-up tasks it found (a workspace's
lists, each container's versions, each endpoint's deployments, each job's run record). Only the
driver thread (`run_tasks`) submits tasks; a task writes what it listed into its own
`WorkspaceListing` under the crawl's lock. A failing call becomes a `ListingFailure` naming the
workspace (or scope) and the call, and every other call still completes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from azure.ai.ml import MLClient
from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

from dagster_project.inventory.listed import (
    ASSET_KINDS,
    ASSET_PLURALS,
    Listed,
    ListingFailure,
    ListingResult,
    ProgressCallback,
    WorkspaceListing,
)
from dagster_project.inventory.sdk_calls import SdkCalls, describe

# Subscriptions - Get, a stable ARM API whose body carries displayName, state and tags.
SUBSCRIPTION_API_VERSION = "2022-12-01"
# A scope to list: (subscription id, resource group or None, workspace name or None).
ScopeSpec = tuple[str, str | None, str | None]


@dataclass
class Task:
    scope: str
    call: str
    run: Callable[[], list[Task]]


def scope_label(subscription_id: str, group: str | None, workspace_name: str | None = None) -> str:
    label = f"/subscriptions/{subscription_id}" + (f"/resourceGroups/{group}" if group else "")
    if workspace_name:
        label += f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace_name}"
    return label


class Crawl:
    """One listing's state and the tasks that fill it."""

    def __init__(self, credential: TokenCredential, *, transport: HttpTransport | None, cloud: str,
                 workspace_names: Iterable[str] | None, include_run_history: bool,
                 progress: ProgressCallback | None) -> None:
        self.credential = credential
        self.transport = transport
        self.cloud = cloud
        self.wanted = {name.lower() for name in workspace_names} if workspace_names is not None else None
        self.include_run_history = include_run_history
        self.progress = progress
        self.client_kwargs: dict[str, Any] = {"enable_telemetry": False, "show_progress": False, "cloud": cloud}
        if transport is not None:
            self.client_kwargs["transport"] = transport
        self._say_lock = threading.Lock()
        # Only the driver thread touches `listings`; tasks write into their own WorkspaceListing
        # (and the shared lists below) under this lock.
        self.lock = threading.Lock()
        self.listings: list[WorkspaceListing] = []
        self.failures: list[ListingFailure] = []
        self.resource_groups: list[tuple[str, Any]] = []
        self.subscriptions: list[dict[str, Any]] = []
        self.listed_ids: set[str] = set()
        self.by_id: dict[str, WorkspaceListing] = {}
        self.total_workspaces = 0
        self.done_workspaces = 0

    def say(self, message: str) -> None:
        """Calls to `progress` never overlap (it may be called from worker threads)."""
        if self.progress is not None:
            with self._say_lock:
                self.progress(message)

    # -- the first calls: each scope's workspaces, resource groups and subscription ------------------

    def initial_tasks(self, specs: Sequence[ScopeSpec]) -> list[Task]:
        """A workspace listing per scope, each resource group (or subscription's groups) once, and
        each subscription once."""
        whole_subscriptions = {sub.lower() for sub, group, _ in specs if group is None}
        initial = [self.scope_task(*spec) for spec in specs]
        seen_groups: set[tuple[str, str | None]] = set()
        for sub, group, _ in specs:
            key = (sub.lower(), group.lower() if group else None)
            if (group is not None and sub.lower() in whole_subscriptions) or key in seen_groups:
                continue
            seen_groups.add(key)
            initial.append(self.resource_groups_task(sub, group))
        seen_subscriptions: set[str] = set()
        for sub, _, _ in specs:
            if sub.lower() not in seen_subscriptions:
                seen_subscriptions.add(sub.lower())
                initial.append(self.subscription_get_task(sub))
        return initial

    def scope_task(self, subscription_id: str, group: str | None, workspace_name: str | None) -> Task:
        label = scope_label(subscription_id, group, workspace_name)
        if workspace_name:
            call = f"workspaces.get({workspace_name!r})"
        else:
            call = "workspaces.list(scope=" + ("'resource_group')" if group else "'subscription')")

        def run() -> list[Task]:
            client = MLClient(self.credential, subscription_id, group, **self.client_kwargs)
            calls = SdkCalls(client, group or "", None)
            if workspace_name:
                found = [calls.workspace(workspace_name)]
            else:
                found = calls.workspaces(subscription_scope=group is None)
            errors = calls.take_item_errors()
            with self.lock:
                self.failures.extend(ListingFailure(label, call, error) for error in errors)
                follow = [self.workspace_task(subscription_id, item) for item in found if self._first_time(item)]
                self.total_workspaces += len(follow)
            self.say(f"{label}: {len(follow)} workspace(s)")
            return follow

        return Task(label, call, run)

    def _first_time(self, item: Listed) -> bool:
        """A workspace asked for (by name) and not listed yet: overlapping scopes list it once."""
        if self.wanted is not None and item.entity.name.lower() not in self.wanted:
            return False
        workspace_id = str(item.rest.id).lower()
        if workspace_id in self.listed_ids:
            return False
        self.listed_ids.add(workspace_id)
        return True

    def workspace_task(self, subscription_id: str, item: Listed) -> Task:
        listing = WorkspaceListing(item, subscription_id, item.entity.resource_group, item.entity.name)
        self.listings.append(listing)
        self.by_id[listing.id] = listing
        return Task(listing.id, "MLClient(workspace)", lambda: WorkspaceCrawl(self, listing).tasks())

    def resource_management_client(self, subscription_id: str) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        kwargs: dict[str, Any] = {}
        if self.transport is not None:
            kwargs["transport"] = self.transport
        if self.cloud != "AzureCloud":
            from azure.ai.ml._azure_environments import _get_base_url_from_metadata

            base_url = _get_base_url_from_metadata(self.cloud)
            kwargs["base_url"] = base_url
            kwargs["credential_scopes"] = [base_url.rstrip("/") + "/.default"]
        return ResourceManagementClient(self.credential, subscription_id, **kwargs)

    def resource_groups_task(self, subscription_id: str, group: str | None) -> Task:
        call = f"resource_groups.get({group!r})" if group else "resource_groups.list()"

        def run() -> list[Task]:
            client = self.resource_management_client(subscription_id)
            items = [client.resource_groups.get(group)] if group else list(client.resource_groups.list())
            with self.lock:
                self.resource_groups.extend((subscription_id, item) for item in items)
            return []

        return Task(scope_label(subscription_id, group), call, run)

    def subscription_get_task(self, subscription_id: str) -> Task:
        def run() -> list[Task]:
            from azure.core.exceptions import HttpResponseError
            from azure.core.rest import HttpRequest

            client = self.resource_management_client(subscription_id)
            response = client.send_request(HttpRequest(
                "GET", f"/subscriptions/{subscription_id}", params={"api-version": SUBSCRIPTION_API_VERSION}))
            if response.status_code != 200:
                raise HttpResponseError(response=response)
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError(f"expected a JSON object, got {type(body).__name__}")
            with self.lock:
                self.subscriptions.append(body)
            return []

        return Task(scope_label(subscription_id, None), f"subscriptions.get({subscription_id!r})", run)

    # -- the end ---------------------------------------------------------------------------------

    def workspace_done(self, scope: str) -> None:
        """One progress line when the last call of a workspace has finished."""
        listing = self.by_id.get(scope)
        if listing is None:
            return
        self.done_workspaces += 1
        with self.lock:
            failed = sum(1 for failure in self.failures if failure.scope == scope)
        self.say(
            f"[{self.done_workspaces}/{self.total_workspaces}] {listing.name}: {len(listing.computes)} computes, "
            f"{len(listing.asset_versions)} asset versions, {len(listing.endpoints)} endpoints, "
            f"{len(listing.deployments)} deployments, {len(listing.jobs)} jobs, {len(listing.runs)} run records"
            + (f", {failed} FAILED call(s)" if failed else "")
        )

    def result(self, calls_run: int) -> ListingResult:
        """What was listed, in a deterministic order whatever order the threads finished in."""
        for listing in self.listings:
            listing.computes.sort(key=lambda item: str(item.rest.id).lower())
            listing.asset_versions.sort(key=lambda pair: (pair[0], str(pair[1].rest.id).lower()))
            listing.endpoints.sort(key=lambda item: str(item.rest.id).lower())
            listing.deployments.sort(key=lambda pair: (pair[0], str(pair[1].rest.id).lower()))
            listing.jobs.sort(key=lambda item: str(item.rest.id).lower())
        self.listings.sort(key=lambda listing: listing.id.lower())
        self.failures.sort(key=lambda failure: (failure.scope.lower(), failure.call, failure.error))
        self.resource_groups.sort(key=lambda pair: str(pair[1].id).lower())
        self.subscriptions.sort(key=lambda body: str(body.get("subscriptionId") or body.get("id") or "").lower())
        if self.failures:
            self.say(f"{len(self.failures)} call(s) failed; the listing of everything else completed")
        return ListingResult(self.listings, self.failures, self.resource_groups, self.subscriptions, calls_run)

    def run(self, specs: Sequence[ScopeSpec], max_workers: int) -> ListingResult:
        calls_run = run_tasks(self.initial_tasks(specs), max_workers, self.failures, self.lock, self.say,
                              on_scope_done=self.workspace_done)
        return self.result(calls_run)


class WorkspaceCrawl:
    """The calls inside one workspace: its lists, then each list's N+1 follow-ups."""

    def __init__(self, crawl: Crawl, listing: WorkspaceListing) -> None:
        self.crawl = crawl
        self.listing = listing
        self.lock = crawl.lock
        client = MLClient(crawl.credential, listing.subscription_id, listing.resource_group, listing.name,
                          **crawl.client_kwargs)
        self.calls = SdkCalls(client, listing.resource_group, listing.name)

    def tasks(self) -> list[Task]:
        return [
            self.task("compute.list()", self.computes),
            *[self.task(f"{ASSET_PLURALS[kind]}.list(list_view_type=ALL)", lambda k=kind: self.containers(k))
              for kind in ASSET_KINDS],
            self.task("online_endpoints.list()", self.endpoints),
            self.task("jobs.list(list_view_type=ALL)", self.jobs),
        ]

    def task(self, call: str, body: Callable[[], list[Task] | None]) -> Task:
        """A call of this workspace; the items the SDK could not convert are its failures."""
        def run() -> list[Task]:
            follow_ups = body() or []
            errors = self.calls.take_item_errors()
            if errors:
                with self.lock:
                    self.crawl.failures.extend(ListingFailure(self.listing.id, call, error) for error in errors)
            return follow_ups
        return Task(self.listing.id, call, run)

    def computes(self) -> None:
        items = self.calls.computes()
        with self.lock:
            self.listing.computes.extend(items)

    def containers(self, kind: str) -> list[Task]:
        return [
            self.task(f"{ASSET_PLURALS[kind]}.list(name={name!r}, list_view_type=ALL)",
                      lambda n=name: self.versions(kind, n))
            for name in self.calls.container_names(kind)
        ]

    def versions(self, kind: str, name: str) -> None:
        items = self.calls.versions(kind, name)
        with self.lock:
            self.listing.asset_versions.extend((kind, item) for item in items)

    def endpoints(self) -> list[Task]:
        items = self.calls.online_endpoints()
        with self.lock:
            self.listing.endpoints.extend(items)
        return [self.task(f"online_deployments.list({item.rest.name!r})", lambda n=item.rest.name: self.deployments(n))
                for item in items]

    def deployments(self, endpoint_name: str) -> None:
        items = self.calls.online_deployments(endpoint_name)
        with self.lock:
            self.listing.deployments.extend((endpoint_name, item) for item in items)

    def jobs(self) -> list[Task]:
        items = self.calls.jobs()
        with self.lock:
            self.listing.jobs.extend(items)
        if not self.crawl.include_run_history:
            return []
        return [self.task(f"run history get_run({item.rest.name!r})", lambda n=item.rest.name: self.run_history(n))
                for item in items]

    def run_history(self, job_name: str) -> None:
        record = self.calls.run(job_name)
        with self.lock:
            self.listing.runs[job_name] = record


def run_tasks(
    initial: Sequence[Task],
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
    finished: queue.SimpleQueue[Future[list[Task]]] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="aml-inventory") as pool:
        pending: dict[Future[list[Task]], Task] = {}

        def submit(task: Task) -> None:
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
                    failures.append(ListingFailure(task.scope, task.call, describe(exc)))
                say(f"FAILED {task.scope}: {task.call}: {describe(exc)}")
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
