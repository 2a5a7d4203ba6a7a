"""The azure-ai-ml calls the inventory listing makes, each mirroring one public `MLClient` method.

Why REST models as well as entities: azure-ai-ml's entities drop fields the FinOps rules need
(cluster node counts and allocation state, a version's ``isArchived``, the compute creator, the
service's own enum spellings). So each list call here issues exactly the request the public
operation issues (same generated operation, same arguments), but keeps the REST model the SDK
deserialized next to the entity the SDK built from it (`Listed`). Converting items one by one
also means one malformed item is reported as a failure instead of failing the whole page, which
is what the public methods would do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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

from dagster_project.inventory.listed import Listed


def describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class SdkCalls:
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
                                              f"azure-ai-ml could not build the entity: {describe(exc)}")
                    else:
                        self._errors().append(f"item {label} skipped: {describe(exc)}")
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
