-- Finance pack: spend per project in the month, with the month before, the change and the share
-- of the month's total in its currency (from the published project_spend_monthly).
SELECT
    billing_currency,
    project,
    effective_cost,
    billed_cost,
    previous_effective_cost,
    CAST(effective_cost - previous_effective_cost AS DECIMAL(38, 10)) AS change,
    change_pct,
    share_pct
FROM project_spend_monthly
WHERE billing_month = $billing_month
ORDER BY billing_currency ASC, effective_cost DESC, project ASC
