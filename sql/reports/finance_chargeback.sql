-- Finance pack: the chargeback lines of the month, one per project, owner, cost center and
-- currency, with exact effective and billed cost (they sum to the line items to the cent).
SELECT
    project,
    owner,
    cost_center,
    billing_currency AS currency,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost
FROM cost_allocation
WHERE billing_month = $billing_month
GROUP BY project, owner, cost_center, billing_currency
ORDER BY currency, project, effective_cost DESC, owner NULLS LAST, cost_center NULLS LAST
