-- Finance pack: the month's budgets with their month-to-date spend and month-end forecast,
-- overruns first (budget_status, written by the findings asset).
SELECT
    currency AS billing_currency,
    scope,
    name,
    owner,
    budget,
    month_to_date,
    forecast,
    CAST(forecast - budget AS DECIMAL(38, 10)) AS forecast_over_budget,
    CAST(forecast_pct_of_budget AS DECIMAL(38, 2)) AS forecast_pct_of_budget,
    days_left,
    data_through,
    forecast_method,
    status
FROM budget_status
WHERE billing_month = $billing_month
ORDER BY billing_currency ASC, status = 'on_track' ASC, forecast_pct_of_budget DESC, scope ASC, name ASC
