-- Finance pack: the projects whose spend moved most from the month before (in money, either way),
-- including projects that appeared or disappeared. Ranked within each currency.
WITH this_month AS (
    SELECT
        billing_currency,
        project,
        effective_cost
    FROM project_spend_monthly
    WHERE billing_month = $billing_month
),

previous_month AS (
    SELECT
        billing_currency,
        project,
        effective_cost
    FROM project_spend_monthly
    WHERE billing_month = CAST($billing_month AS DATE) - INTERVAL 1 MONTH
),

moves AS (
    SELECT
        coalesce(this_month.billing_currency, previous_month.billing_currency) AS billing_currency,
        coalesce(this_month.project, previous_month.project) AS project,
        CAST(coalesce(this_month.effective_cost, 0) AS DECIMAL(38, 10)) AS effective_cost,
        CAST(previous_month.effective_cost AS DECIMAL(38, 10)) AS previous_effective_cost,
        CAST(
            coalesce(this_month.effective_cost, 0) - coalesce(previous_month.effective_cost, 0)
            AS DECIMAL(38, 10)
        ) AS change,
        CASE
            WHEN previous_month.effective_cost IS NULL OR previous_month.effective_cost = 0 THEN NULL
            ELSE CAST(round(
                    (coalesce(this_month.effective_cost, 0) - previous_month.effective_cost)
                    * 100 / abs(previous_month.effective_cost), 2
                ) AS DECIMAL(18, 2))
        END AS change_pct,
        CASE
            WHEN previous_month.project IS NULL THEN 'new'
            WHEN this_month.project IS NULL THEN 'gone'
            WHEN this_month.effective_cost >= previous_month.effective_cost THEN 'up'
            ELSE 'down'
        END AS direction
    FROM this_month
    FULL OUTER JOIN previous_month
        ON this_month.billing_currency = previous_month.billing_currency
            AND this_month.project = previous_month.project
),

ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY billing_currency ORDER BY abs(change) DESC, project) AS rank
    FROM moves
)

SELECT
    billing_currency,
    rank,
    project,
    direction,
    previous_effective_cost,
    effective_cost,
    change,
    change_pct
FROM ranked
WHERE rank <= $top_n
    AND EXISTS (SELECT 1 FROM previous_month)
ORDER BY billing_currency, rank
