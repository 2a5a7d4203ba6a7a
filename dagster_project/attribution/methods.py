"""The allocation methods and explicit projects of `cost_allocation`: their one home.

The resolver uses `AllocationMethod` members (never their text); SQL receives the method lists
and the explicit names as bound parameters (`sql_parameters` in `dagster_project/sql.py`:
`$allocation_methods`, `$tag_methods`, `$unallocated`, ...); docs/tables.md lists the methods (a
test compares the two).
"""

from __future__ import annotations

from enum import StrEnum

UNALLOCATED = "(unallocated)"
# Defaults of `attribution.commitments` in finops.yaml.
UNUSED_COMMITMENT = "(unused commitment)"
COMMITMENT_PURCHASES = "(commitment purchases)"
# The explicit lines of the owner and cost-center rollups for amounts with none.
NO_OWNER = "(no owner)"
NO_COST_CENTER = "(no cost center)"
EXPLICIT_NONE = {"owner": NO_OWNER, "cost_center": NO_COST_CENTER}  # rollup column → its explicit line


class AllocationMethod(StrEnum):
    """How the project of an allocated amount was decided (in the order the resolver tries them)."""

    ROW_TAG = "row_tag"
    UNUSED_COMMITMENT = "unused_commitment"
    COMMITMENT_PURCHASE = "commitment_purchase"
    ENDPOINT_TAG = "endpoint_tag"
    COMPUTE_TAG = "compute_tag"
    COMPUTE_MATCH = "compute_match"
    COMPUTE_SPLIT = "compute_split"
    WORKSPACE_TAG = "workspace_tag"
    RESOURCE_GROUP_TAG = "resource_group_tag"
    SUBSCRIPTION_TAG = "subscription_tag"
    RULE = "rule"
    SHARED_SPLIT = "shared_split"
    JOB_SPLIT = "job_split"
    CLUSTER_IDLE = "cluster_idle"
    UNALLOCATED = "unallocated"


M = AllocationMethod
# method → what decided the project.
ALLOCATION_METHODS: dict[str, str] = {
    M.ROW_TAG: "the row's own project tag",
    M.UNUSED_COMMITMENT: "unused reservation / savings plan hours with no project tag of their own",
    M.COMMITMENT_PURCHASE: "a reservation / savings plan purchase with no project tag of its own (billed only)",
    M.ENDPOINT_TAG: "the online endpoint / deployment the row names (azuremlendpoint, azuremldeployment)",
    M.COMPUTE_TAG: "the compute the row names, or whose own tags are all on the row",
    M.COMPUTE_MATCH: "the only compute of the row's type and VM size in the workspace",
    M.COMPUTE_SPLIT: "several computes of that type and size: split by their running hours",
    M.WORKSPACE_TAG: "the workspace's tag (its hub's dependencies: see shared_split)",
    M.RESOURCE_GROUP_TAG: "the resource group's tag",
    M.SUBSCRIPTION_TAG: "the subscription's tag",
    M.RULE: "an explicit rule of finops.yaml",
    M.SHARED_SPLIT: "a workspace dependency shared by the projects that used its workspaces",
    M.JOB_SPLIT: "a compute cluster's cost divided among the jobs that ran on it, by node-hours (the job's project "
                 "tag, else the cluster's)",
    M.CLUSTER_IDLE: "a compute cluster's billed node-hours no job used (to the cluster's project or "
                    "attribution.job_showback.idle_project)",
    M.UNALLOCATED: "nothing said which project",
}

# Methods through which a project was reached by a tag (the tag_coverage check's numerator);
# the first is the row's own tag, the others inherited ones (the finance pack tells them apart).
# A cluster's job and idle parts count: a job's own tag, else the cluster's (its rows' method before the
# split; a cluster whose rows reached no project by tag is counted too — docs/tables.md, job showback).
TAG_METHODS = (M.ROW_TAG, M.ENDPOINT_TAG, M.COMPUTE_TAG, M.COMPUTE_MATCH, M.COMPUTE_SPLIT, M.WORKSPACE_TAG,
               M.RESOURCE_GROUP_TAG, M.SUBSCRIPTION_TAG, M.JOB_SPLIT, M.CLUSTER_IDLE)
OWN_TAG_METHODS = (M.ROW_TAG,)
INHERITED_TAG_METHODS = TAG_METHODS[1:]
RULE_METHODS = (M.RULE, M.SHARED_SPLIT)


def sql_vocabulary() -> dict[str, object]:
    """The names SQL statements may bind as parameters (`$<key>`), as plain text / lists of text."""
    return {
        "allocation_methods": [m.value for m in AllocationMethod],
        "tag_methods": [m.value for m in TAG_METHODS],
        "own_tag_methods": [m.value for m in OWN_TAG_METHODS],
        "inherited_tag_methods": [m.value for m in INHERITED_TAG_METHODS],
        "rule_methods": [m.value for m in RULE_METHODS],
        "job_methods": [M.JOB_SPLIT.value, M.CLUSTER_IDLE.value],
        "job_split": M.JOB_SPLIT.value,
        "cluster_idle": M.CLUSTER_IDLE.value,
        "unallocated": UNALLOCATED,
        "no_owner": NO_OWNER,
        "no_cost_center": NO_COST_CENTER,
    }
