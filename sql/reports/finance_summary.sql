-- Finance pack: the month's totals per currency (never summed across currencies), the month
-- before, the change, and how much of the month no project could be found for.
WITH this_month AS (
    SELECT
        billing_currency,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        sum(effective_cost) FILTER (WHERE project = $unallocated) AS unallocated_effective_cost,
        count(DISTINCT project) FILTER (WHERE project <> $unallocated) AS projects
    FROM cost_allocation
    WHERE billing_month = $billing_month
    GROUP BY billing_currency
),

previous_month AS (
    SELECT
        billing_currency,
        sum(effective_cost) AS previous_effective_cost
    FROM cost_allocation
    WHERE billing_month = CAST($billing_month AS DATE) - INTERVAL 1 MONTH
    GROUP BY billing_currency
)

SELECT
    this_month.billing_currency,
    CAST(this_month.effective_cost AS DECIMAL(38, 10)) AS effective_cost,
    CAST(this_month.billed_cost AS DECIMAL(38, 10)) AS billed_cost,
    CAST(previous_month.previous_effective_cost AS DECIMAL(38, 10)) AS previous_effective_cost,
    change_pct(this_month.effective_cost, previous_month.previous_effective_cost) AS change_pct,
    CAST(coalesce(this_month.unallocated_effective_cost, 0) AS DECIMAL(38, 10)) AS unallocated_effective_cost,
    CASE
        WHEN this_month.effective_cost = 0 THEN NULL
        ELSE CAST(
                round(coalesce(this_month.unallocated_effective_cost, 0) * 100 / this_month.effective_cost, 2)
                AS DECIMAL(18, 2)
            )
    END AS unallocated_share_pct,
    this_month.projects
FROM this_month
LEFT JOIN previous_month ON this_month.billing_currency = previous_month.billing_currency
ORDER BY this_month.effective_cost DESC, this_month.billing_currency ASC
