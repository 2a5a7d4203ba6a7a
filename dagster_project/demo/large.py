"""A large demo tenant for the inventory benchmark: many workspaces, tens of thousands of versions.

`build_large_tenant` clones the demo tenant's six workspaces (with their computes, endpoints and
jobs) into `workspaces` workspaces, each in its own resource group, and gives every workspace
`names_per_kind` model / environment / data names with `versions_per_name` versions each (a
third of them archived, the oldest ones). `build_tenant`'s own output is not changed; this only
feeds `write_snapshot` (the cost exports and the ground truth are not meant for it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from dagster_project.demo.tenant import AssetVersion, ResourceGroup, Tenant, Workspace, build_tenant


def build_large_tenant(
    workspaces: int = 200,
    names_per_kind: int = 8,
    versions_per_name: int = 12,
    seed: int = 42,
) -> Tenant:
    """The demo tenant scaled to `workspaces` workspaces and
    `workspaces * 3 * names_per_kind * versions_per_name` asset versions (deterministic)."""
    base = build_tenant(seed=seed)
    now = base.captured_at
    groups_by_key = {(g.subscription_id, g.name): g for g in base.resource_groups}
    new_workspaces: list[Workspace] = []
    new_groups: list[ResourceGroup] = []
    clones: dict[str, list[Workspace]] = {w.id: [] for w in base.workspaces}
    for index in range(workspaces):
        template = base.workspaces[index % len(base.workspaces)]
        group = groups_by_key[(template.subscription_id, template.resource_group)]
        group_name = f"{group.name}-{index:03d}"
        clone = replace(template, name=f"{template.name}-{index:03d}", resource_group=group_name)
        new_workspaces.append(clone)
        new_groups.append(replace(group, name=group_name, tags={**group.tags, "bench-index": str(index)}))
        clones[template.id].append(clone)

    def cloned(items: list, attribute: str = "workspace") -> list:
        return [replace(item, **{attribute: clone}) for item in items for clone in clones[getattr(item, attribute).id]]

    versions: list[AssetVersion] = []
    for workspace in new_workspaces:
        for kind in ("model", "environment", "data"):
            for n in range(names_per_kind):
                name = f"{workspace.short}-{kind}-{n:02d}"
                for v in range(1, versions_per_name + 1):
                    created = now - timedelta(days=3 * (versions_per_name - v) + n, hours=v)
                    versions.append(AssetVersion(
                        workspace=workspace, kind=kind, name=name, version=str(v), created_on=created,
                        created_by="bench@contoso.com", is_archived=v <= versions_per_name // 3,
                        tags={"stage": "bench"},
                        path=(f"azureml://datastores/workspaceblobstore/paths/{kind}/{name}/{v}/"
                              if kind != "environment" else None),
                        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest" if kind == "environment" else None,
                        conda_file=({"name": name, "channels": ["conda-forge"],
                                     "dependencies": ["python=3.10", {"pip": [f"scikit-learn==1.{v}.0"]}]}
                                    if kind == "environment" else None),
                    ))

    return replace(
        base,
        resource_groups=new_groups,
        workspaces=new_workspaces,
        compute_instances=cloned(base.compute_instances),
        clusters=cloned(base.clusters),
        endpoints=cloned(base.endpoints),
        jobs=cloned(base.jobs),
        asset_versions=versions,
        planted_findings=[],
    )
