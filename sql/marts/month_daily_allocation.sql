-- Every cent of one month per charge day (staged as month_daily_allocation, published as
-- cost_daily): each day of a key (month_key_days) split like the key itself
-- (attribution_resolution). The parts of a key's day get round(amount * weight) and the largest
-- part the residue, so every day sums exactly to its line items; a part's days sum to its
-- monthly allocation within 1e-10 per day.
CREATE OR REPLACE TEMP TABLE month_daily_allocation AS
WITH parts AS (
    SELECT
        days.charge_day,
        days.billing_currency,
        days.resource_id,
        days.effective_cost AS day_effective_cost,
        days.billed_cost AS day_billed_cost,
        resolution.workspace_id,
        resolution.aml_kind,
        resolution.aml_name,
        resolution.project,
        resolution.owner,
        resolution.cost_center,
        CAST(round(days.effective_cost * CAST(resolution.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10))
            AS effective_share,
        CAST(round(days.billed_cost * CAST(resolution.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10))
            AS billed_share,
        row_number() OVER (
            PARTITION BY days.key_id, days.billing_currency, days.charge_day
            ORDER BY resolution.weight DESC, resolution.aml_name ASC, resolution.project ASC
        ) AS part_rank,
        sum(CAST(round(days.effective_cost * CAST(resolution.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10)))
            OVER key_day AS effective_parts,
        sum(CAST(round(days.billed_cost * CAST(resolution.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10)))
            OVER key_day AS billed_parts
    FROM month_key_days AS days
    INNER JOIN attribution_resolution AS resolution ON days.key_id = resolution.key_id
    WINDOW key_day AS (PARTITION BY days.key_id, days.billing_currency, days.charge_day)
)

SELECT
    CAST($billing_month AS DATE) AS billing_month,
    charge_day,
    billing_currency,
    resource_id,
    workspace_id,
    aml_kind,
    aml_name,
    project,
    owner,
    cost_center,
    CAST(sum(
        CASE WHEN part_rank = 1 THEN effective_share + day_effective_cost - effective_parts ELSE effective_share END
    ) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(
        CASE WHEN part_rank = 1 THEN billed_share + day_billed_cost - billed_parts ELSE billed_share END
    ) AS DECIMAL(38, 10)) AS billed_cost
FROM parts
GROUP BY ALL
ORDER BY charge_day, billing_currency, project, resource_id, aml_kind, aml_name
