"""The findings table: the cleanup list of each month, with savings and the command."""

from __future__ import annotations

from dagster_project.catalog.model import Column, Table
from dagster_project.catalog.types import AMOUNT, DATE, JSON, TEXT, UTC_TIME

FINDINGS_COLUMNS = (
    Column('billing_month', DATE, 'partition: the month whose cost the savings are based on', required=True),
    Column('finding_id', TEXT, 'stable: hash of rule + lowercase resource id (+ version)', required=True),
    Column('rule_id', TEXT, '`ci_no_idle_shutdown`, `ci_left_running`, `ci_stopped_abandoned`, `cluster_warm_nodes`, `cluster_slow_scaledown`, `cluster_unused`, `deployment_no_traffic`, `deployment_failed_billed`, `stale_version`, `duplicate_artifact`, `untagged_spend`', required=True),
    Column('category', TEXT, '`idle_compute`, `idle_endpoint`, `asset_hygiene`, `governance`', required=True),
    Column('severity', TEXT, '`high` / `medium` / `low`, from the savings (thresholds in `finops.yaml`)', required=True),
    Column('workspace', TEXT, 'workspace name'),
    Column('resource_id', TEXT, 'lowercase ARM id of the compute, deployment, asset version or resource', required=True),
    Column('resource_name', TEXT, 'e.g. `ci-bob-gpu`, `churn-scoring/green`, `fraud-xgb:2`'),
    Column('project', TEXT, 'the project that should act'),
    Column('owner', TEXT, "the resource's one owner (see `cost_allocation.owner`), who should act"),
    Column('evidence', JSON, 'the facts the rule saw and `savings_basis`, how the savings were computed'),
    Column('savings', AMOUNT, 'estimated monthly savings from observed cost (0 for hygiene and governance)', required=True),
    Column('currency', TEXT, 'currency of the savings', required=True),
    Column('action', TEXT, 'what to do, in words', required=True),
    Column('command', TEXT, 'the exact `az` command, quoted for a POSIX shell; **never run by the tool**', required=True),
    Column('first_seen', UTC_TIME, 'inventory capture time the finding was first observed', required=True),
    Column('last_seen', UTC_TIME, 'inventory capture time the finding was last observed', required=True),
    Column('status', TEXT, '`open`, `suppressed` (`resolved` arrives with finding history)', required=True),
    Column('suppression_reason', TEXT, 'the reason from `finops.yaml` when suppressed'),
)
TABLES = (
    Table("findings", "Cleanup findings of each month, with savings and the `az` command to act on them.",
          FINDINGS_COLUMNS, kind="monthly", asset="findings"),
)
