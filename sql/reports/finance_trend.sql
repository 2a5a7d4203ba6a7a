-- Finance pack: effective cost per project and month, every month available up to the report's.
SELECT
    billing_month,
    billing_currency,
    project,
    effective_cost
FROM project_spend_monthly
WHERE billing_month <= $billing_month
ORDER BY billing_currency, billing_month, project
