"""What every printed command is built from: shell quoting and the workspace arguments of `az ml`.

The tool never runs a command: it prints them. Every name that comes from Azure (a compute, an
endpoint, a version, a resource id) is one `shlex.quote`d word, so a name with spaces, quotes or
`$` stays one literal argument. The arguments are those of the Azure CLI reference
(`tests/test_findings_commands.py` parses each command against that list). Each rule's command
builder stands beside the rule (`findings/rules/*.py`).
"""

from __future__ import annotations

import shlex

from dagster_project.azure_ids import ArmId


def q(value: object) -> str:
    """Quote one shell word; names with spaces, quotes or `$` stay one literal argument."""
    return shlex.quote(str(value))


def workspace_args(resource_id: str) -> str:
    """`--subscription … --resource-group … --workspace-name …` of the workspace holding the resource."""
    arm = ArmId.parse(resource_id)
    return (f"--subscription {q(arm.subscription)} --resource-group {q(arm.resource_group)} "
            f"--workspace-name {q(arm.workspace)}")
