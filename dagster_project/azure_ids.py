"""Azure Resource Manager ids, parsed in one place.

An ARM id is a path of `/<type>/<name>` pairs under a subscription:
`/subscriptions/<sub>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>[/<type>/<name>…]`.
Segment names are case-insensitive (Azure spells `resourceGroups`, Cost Management exports
`resourcegroups`); names keep the spelling they came with. Every reader of an id — the finding
commands, the inventory scopes, the asset references of deployments and jobs, the demo's
`ResourceType` — goes through `ArmId` or `parse_scope`, so no two places split ids differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A subscription, resource-group or Azure ML workspace scope, nothing below it.
_SCOPE = re.compile(
    r"^/?subscriptions/(?P<sub>[^/]+)"
    r"(?:/resourcegroups/(?P<rg>[^/]+)"
    r"(?:/providers/microsoft\.machinelearningservices/workspaces/(?P<ws>[^/]+))?)?/?$",
    re.IGNORECASE,
)
# The collections of Azure ML asset versions in an id, and the asset kind each holds.
ASSET_COLLECTIONS = {"models": "model", "environments": "environment", "data": "data"}


@dataclass(frozen=True)
class Scope:
    """A subscription, resource-group or workspace scope (the lower levels None when absent)."""

    subscription: str
    resource_group: str | None
    workspace: str | None


def parse_scope(scope: str) -> Scope | None:
    """`/subscriptions/<id>[/resourceGroups/<rg>[/providers/Microsoft.MachineLearningServices/
    workspaces/<ws>]]` → its parts; None for anything else (a bare id, a resource below a scope)."""
    match = _SCOPE.match(scope.strip())
    if not match:
        return None
    return Scope(match.group("sub"), match.group("rg"), match.group("ws"))


@dataclass(frozen=True)
class ArmId:
    """The segments of one resource id, looked up by their (case-insensitive) type segment."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, resource_id: str) -> ArmId:
        return cls(tuple(resource_id.strip("/").split("/")))

    def _lower(self) -> list[str]:
        return [p.lower() for p in self.parts]

    def after(self, segment: str) -> str:
        """The name following the first `segment` (e.g. `resourcegroups`), `""` when absent."""
        lower = self._lower()
        segment = segment.lower()
        if segment not in lower:
            return ""
        i = lower.index(segment)
        return self.parts[i + 1] if i + 1 < len(self.parts) else ""

    @property
    def subscription(self) -> str:
        return self.after("subscriptions")

    @property
    def resource_group(self) -> str:
        return self.after("resourcegroups")

    @property
    def workspace(self) -> str:
        return self.after("workspaces")

    @property
    def resource_type(self) -> str:
        """`Microsoft.Compute/virtualMachines` (the namespace after the last `providers` and every
        type segment below it); `""` without a provider."""
        lower = self._lower()
        if "providers" not in lower:
            return ""
        i = len(lower) - 1 - lower[::-1].index("providers")
        return "/".join([self.parts[i + 1], *self.parts[i + 2::2]]) if len(self.parts) > i + 2 else ""

    def asset_version(self) -> tuple[str, str, str] | None:
        """An asset version id (`…/models/<name>/versions/<v>`, ARM or `azureml://registries/…`) →
        (kind or `""` when the collection is not a known one, name, version); None otherwise."""
        lower = self._lower()
        if "versions" not in lower:
            return None
        i = lower.index("versions")
        if i < 2 or i + 1 >= len(self.parts):
            return None
        return ASSET_COLLECTIONS.get(lower[i - 2], ""), self.parts[i - 1], self.parts[i + 1]
