"""The allocation methods and explicit projects of `cost_allocation`: their one home.

The resolver uses these names, the `one_method_per_row` check receives `ALLOCATION_METHODS` as a
bound parameter, and docs/tables.md lists them (a test compares the two).
"""

from __future__ import annotations

UNALLOCATED = "(unallocated)"
# Defaults of `attribution.commitments` in finops.yaml.
UNUSED_COMMITMENT = "(unused commitment)"
COMMITMENT_PURCHASES = "(commitment purchases)"

# method → what decided the project (in the order the resolver tries them).
ALLOCATION_METHODS: dict[str, str] = {
    "row_tag": "the row's own project tag",
    "unused_commitment": "unused reservation / savings plan hours with no project tag of their own",
    "commitment_purchase": "a reservation / savings plan purchase with no project tag of its own (billed only)",
    "endpoint_tag": "the online endpoint / deployment the row names (azuremlendpoint, azuremldeployment)",
    "compute_tag": "the compute the row names, or whose own tags are all on the row",
    "compute_match": "the only compute of the row's type and VM size in the workspace",
    "compute_split": "several computes of that type and size: split by their running hours",
    "workspace_tag": "the workspace's tag (its hub's dependencies: see shared_split)",
    "resource_group_tag": "the resource group's tag",
    "subscription_tag": "the subscription's tag",
    "rule": "an explicit rule of finops.yaml",
    "shared_split": "a workspace dependency shared by the projects that used its workspaces",
    "unallocated": "nothing said which project",
}

# Methods through which a project was reached by a tag (the tag_coverage check's numerator).
TAG_METHODS = ("row_tag", "endpoint_tag", "compute_tag", "compute_match", "compute_split", "workspace_tag",
               "resource_group_tag", "subscription_tag")
