-- Finance pack: the exact chargeback lines of the month, one per billing month, currency, project,
-- owner and cost center, with exact effective and billed cost (they sum to the line items to the
-- last digit). Rounding to cents (largest remainder) happens when the pack is written.
SELECT
    billing_month,
    billing_currency AS currency,
    project,
    owner,
    cost_center,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost
FROM cost_allocation
WHERE billing_month = $billing_month
GROUP BY billing_month, billing_currency, project, owner, cost_center
ORDER BY currency ASC, project ASC, effective_cost DESC, owner ASC NULLS LAST, cost_center ASC NULLS LAST
