-- Every cent of one month, allocated (staged as month_allocation): month_key_totals joined to
-- the resolution of each key
-- (attribution_resolution, registered from the Python resolver). A key split across several
-- parts gets round(amount * weight) per part, and the largest part takes the rounding residue,
-- so the parts of a key always sum to the key exactly. The hours and the running / committed
-- parts of the cost (the basis of savings, month_usage) are shared by the same weights.
CREATE OR REPLACE TEMP TABLE month_allocation AS
WITH parts AS (
    SELECT
        totals.key_id,
        totals.billing_currency,
        totals.resource_id,
        totals.effective_cost AS key_effective_cost,
        totals.billed_cost AS key_billed_cost,
        totals.usage_hours AS key_usage_hours,
        totals.running_cost AS key_running_cost,
        totals.committed_cost AS key_committed_cost,
        totals.committed_hours AS key_committed_hours,
        resolution.workspace_id,
        resolution.aml_kind,
        resolution.aml_name,
        resolution.project,
        resolution.owner,
        resolution.cost_center,
        resolution.allocation_method,
        resolution.allocation_rule,
        CAST(resolution.weight AS DECIMAL(38, 12)) AS weight,
        row_number() OVER (
            PARTITION BY totals.key_id, totals.billing_currency
            ORDER BY resolution.weight DESC, resolution.aml_name ASC, resolution.project ASC
        ) AS part_rank
    FROM month_key_totals AS totals
    INNER JOIN attribution_resolution AS resolution ON totals.key_id = resolution.key_id
),

rounded AS (
    SELECT
        *,
        CAST(round(key_effective_cost * weight, 10) AS DECIMAL(38, 10)) AS effective_share,
        CAST(round(key_billed_cost * weight, 10) AS DECIMAL(38, 10)) AS billed_share,
        CAST(round(key_usage_hours * weight, 10) AS DECIMAL(38, 10)) AS hours_share,
        CAST(round(key_running_cost * weight, 10) AS DECIMAL(38, 10)) AS running_cost_share,
        CAST(round(key_committed_cost * weight, 10) AS DECIMAL(38, 10)) AS committed_cost_share,
        CAST(round(key_committed_hours * weight, 10) AS DECIMAL(38, 10)) AS committed_hours_share
    FROM parts
),

exact AS (
    SELECT
        *,
        CASE
            WHEN part_rank = 1
                THEN key_effective_cost
                    - (sum(effective_share) OVER key_parts - effective_share)
            ELSE effective_share
        END AS effective_cost,
        CASE
            WHEN part_rank = 1
                THEN key_billed_cost
                    - (sum(billed_share) OVER key_parts - billed_share)
            ELSE billed_share
        END AS billed_cost,
        hours_share AS usage_hours,
        running_cost_share AS running_cost,
        committed_cost_share AS committed_cost,
        committed_hours_share AS committed_hours
    FROM rounded
    WINDOW key_parts AS (PARTITION BY key_id, billing_currency)
)

SELECT
    CAST($billing_month AS DATE) AS billing_month,
    billing_currency,
    resource_id,
    workspace_id,
    aml_kind,
    aml_name,
    project,
    owner,
    cost_center,
    allocation_method,
    allocation_rule,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost,
    CAST(sum(usage_hours) AS DECIMAL(38, 10)) AS usage_hours,
    CAST(sum(running_cost) AS DECIMAL(38, 10)) AS running_cost,
    CAST(sum(committed_cost) AS DECIMAL(38, 10)) AS committed_cost,
    CAST(sum(committed_hours) AS DECIMAL(38, 10)) AS committed_hours
FROM exact
GROUP BY ALL
ORDER BY billing_currency, project, resource_id, aml_kind, aml_name
