-- Spend per project in the latest month of a run, for the summary the CLI prints.
SELECT
    billing_currency,
    project,
    effective_cost,
    share_pct,
    change_pct
FROM project_spend_monthly
WHERE billing_month = $billing_month
ORDER BY billing_currency ASC, effective_cost DESC, project ASC
