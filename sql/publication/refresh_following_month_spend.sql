-- Inside a publication of $billing_month: the next month's previous-month columns, re-read from the
-- just-replaced allocation of $billing_month (so re-running one month never leaves the next one stale).
-- The change follows the one rule of macros/change_pct, as month_project_spend does.
-- {{db}} is the file's own catalog (temporary build views shadow the bare public names).
UPDATE {{db}}.main.project_spend_monthly AS spend
SET
    previous_effective_cost = refreshed.previous_effective_cost,
    change_pct = refreshed.change_pct
FROM (
    SELECT
        this_month.billing_currency,
        this_month.project,
        CAST(previous_month.effective_cost AS DECIMAL(38, 10)) AS previous_effective_cost,
        change_pct(this_month.effective_cost, previous_month.effective_cost) AS change_pct
    FROM {{db}}.main.project_spend_monthly AS this_month
    -- A subquery, not a CTE: the statement is an UPDATE … FROM, which takes its rows inline.
    LEFT JOIN (  -- noqa: ST05
        SELECT
            billing_currency,
            project,
            sum(effective_cost) AS effective_cost
        FROM {{db}}.main.cost_allocation
        WHERE billing_month = $billing_month
        GROUP BY ALL
    ) AS previous_month
        ON this_month.billing_currency = previous_month.billing_currency
            AND this_month.project = previous_month.project
    WHERE this_month.billing_month = $following
) AS refreshed
WHERE spend.billing_month = $following
    AND spend.billing_currency = refreshed.billing_currency
    AND spend.project = refreshed.project
