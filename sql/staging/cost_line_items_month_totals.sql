-- Totals of one staged month per currency: what the load reports and the reconciliation compares.
SELECT
    billing_currency,
    count(*) AS line_items,
    sum(billed_cost) AS billed_cost,
    sum(effective_cost) AS effective_cost
FROM staging.cost_line_items
WHERE billing_month = $billing_month
GROUP BY billing_currency
ORDER BY billing_currency
