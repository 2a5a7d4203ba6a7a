-- Totals of one published month per currency: what the reconciliation check compares.
SELECT
    billing_currency,
    count(*) AS line_items,
    sum(billed_cost) AS billed_cost,
    sum(effective_cost) AS effective_cost
FROM cost_line_items
WHERE billing_month = $month
GROUP BY billing_currency
ORDER BY billing_currency
