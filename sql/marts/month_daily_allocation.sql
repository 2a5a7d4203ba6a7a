-- Every cent of one month per charge day (staged as month_daily_allocation, published as
-- cost_daily): each day of a key (month_key_days) split like the key itself
-- (attribution_resolution). The parts of a key's day get round(amount * weight) and the largest
-- part the residue, so every day sums exactly to its line items; a part's days sum to its
-- monthly allocation within 1e-10 per day.
-- Nearly every key has one part, which takes its days whole: only the keys split among several
-- parts need the window that finds each day's residue. The parts are numbered by where their
-- money goes (target_id), so the days are summed in narrow groups and the names joined after
-- (a month at 10M line items has ~2M key-days; grouping them by the seven texts took 11 s).
CREATE OR REPLACE TEMP TABLE month_daily_allocation AS
WITH key_resources AS (
    SELECT DISTINCT
        key_id,
        resource_id
    FROM month_key_totals
),

key_parts AS MATERIALIZED (
    SELECT
        resolution.key_id,
        resolution.weight,
        key_resources.resource_id,
        resolution.workspace_id,
        resolution.aml_kind,
        resolution.aml_name,
        resolution.project,
        resolution.owner,
        resolution.cost_center,
        count(*) OVER (PARTITION BY resolution.key_id) AS key_part_count,
        row_number() OVER (
            PARTITION BY resolution.key_id
            ORDER BY
                resolution.weight DESC, resolution.aml_name ASC, resolution.project ASC, resolution.owner ASC,
                resolution.cost_center ASC, resolution.workspace_id ASC, resolution.aml_kind ASC
        ) AS part_rank,
        dense_rank() OVER (
            ORDER BY
                key_resources.resource_id, resolution.workspace_id, resolution.aml_kind, resolution.aml_name,
                resolution.project, resolution.owner, resolution.cost_center
        ) AS target_id
    FROM attribution_resolution AS resolution
    INNER JOIN key_resources ON resolution.key_id = key_resources.key_id
),

whole_key_days AS (
    SELECT
        days.charge_day,
        days.billing_currency,
        key_parts.target_id,
        days.effective_cost,
        days.billed_cost
    FROM month_key_days AS days
    INNER JOIN key_parts ON days.key_id = key_parts.key_id
    WHERE key_parts.key_part_count = 1
),

split_key_day_parts AS (
    SELECT
        days.charge_day,
        days.billing_currency,
        key_parts.target_id,
        key_parts.part_rank,
        days.effective_cost AS day_effective_cost,
        days.billed_cost AS day_billed_cost,
        CAST(round(days.effective_cost * CAST(key_parts.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10))
            AS effective_share,
        CAST(round(days.billed_cost * CAST(key_parts.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10))
            AS billed_share,
        sum(CAST(round(days.effective_cost * CAST(key_parts.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10)))
            OVER key_day AS effective_parts,
        sum(CAST(round(days.billed_cost * CAST(key_parts.weight AS DECIMAL(38, 12)), 10) AS DECIMAL(38, 10)))
            OVER key_day AS billed_parts
    FROM month_key_days AS days
    INNER JOIN key_parts ON days.key_id = key_parts.key_id
    WHERE key_parts.key_part_count > 1
    WINDOW key_day AS (PARTITION BY days.key_id, days.billing_currency, days.charge_day)
),

split_key_days AS (
    SELECT
        charge_day,
        billing_currency,
        target_id,
        CASE
            WHEN part_rank = 1 THEN effective_share + day_effective_cost - effective_parts ELSE effective_share
        END AS effective_cost,
        CASE WHEN part_rank = 1 THEN billed_share + day_billed_cost - billed_parts ELSE billed_share END AS billed_cost
    FROM split_key_day_parts
),

target_days AS (
    SELECT
        charge_day,
        billing_currency,
        target_id,
        CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
        CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost
    FROM (
        SELECT * FROM whole_key_days
        UNION ALL
        SELECT * FROM split_key_days
    ) AS key_days
    GROUP BY charge_day, billing_currency, target_id
),

targets AS (
    SELECT DISTINCT
        target_id,
        resource_id,
        workspace_id,
        aml_kind,
        aml_name,
        project,
        owner,
        cost_center
    FROM key_parts
)

SELECT
    CAST($billing_month AS DATE) AS billing_month,
    target_days.charge_day,
    target_days.billing_currency,
    targets.resource_id,
    targets.workspace_id,
    targets.aml_kind,
    targets.aml_name,
    targets.project,
    targets.owner,
    targets.cost_center,
    target_days.effective_cost,
    target_days.billed_cost
FROM target_days
INNER JOIN targets ON target_days.target_id = targets.target_id
ORDER BY
    target_days.charge_day, target_days.billing_currency, targets.project, targets.resource_id, targets.aml_kind,
    targets.aml_name
