-- Spend per project for one month, staged as month_project_spend: the previous month beside it
-- and each project's share of the month's total in its currency. Currencies are never summed
-- together.
CREATE OR REPLACE TEMP TABLE month_project_spend AS
WITH this_month AS (
    SELECT
        billing_month,
        billing_currency,
        project,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month
    GROUP BY ALL
),

previous_month AS (
    SELECT
        billing_currency,
        project,
        sum(effective_cost) AS previous_effective_cost
    FROM cost_allocation
    WHERE billing_month = CAST($billing_month AS DATE) - INTERVAL 1 MONTH
    GROUP BY ALL
),

currency_totals AS (
    SELECT
        billing_currency,
        sum(effective_cost) AS currency_effective_cost
    FROM this_month
    GROUP BY ALL
)

SELECT
    this_month.billing_month,
    this_month.billing_currency,
    this_month.project,
    CAST(this_month.effective_cost AS DECIMAL(38, 10)) AS effective_cost,
    CAST(this_month.billed_cost AS DECIMAL(38, 10)) AS billed_cost,
    CAST(previous_month.previous_effective_cost AS DECIMAL(38, 10)) AS previous_effective_cost,
    change_pct(this_month.effective_cost, previous_month.previous_effective_cost) AS change_pct,
    share_pct(this_month.effective_cost, currency_totals.currency_effective_cost) AS share_pct
FROM this_month
LEFT JOIN previous_month
    ON this_month.billing_currency = previous_month.billing_currency
        AND this_month.project = previous_month.project
INNER JOIN currency_totals ON this_month.billing_currency = currency_totals.billing_currency
ORDER BY this_month.billing_currency ASC, this_month.effective_cost DESC, this_month.project ASC
