-- How the month's money was attributed: rows and effective cost per allocation method.
SELECT
    billing_currency,
    allocation_method,
    count(*) AS allocation_rows,
    sum(effective_cost) AS effective_cost
FROM cost_allocation
WHERE billing_month = $billing_month
GROUP BY ALL
ORDER BY billing_currency ASC, effective_cost DESC
