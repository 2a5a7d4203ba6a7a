-- Finance pack: effective and billed cost per cost center in the month, with the share of the month's
-- total in its currency; amounts with none are the explicit '(no cost center)' line of the view.
SELECT
    billing_currency,
    cost_center,
    effective_cost,
    billed_cost,
    share_pct(effective_cost, sum(effective_cost) OVER (PARTITION BY billing_currency)) AS share_pct
FROM cost_center_spend_monthly
WHERE billing_month = $billing_month
ORDER BY billing_currency ASC, effective_cost DESC, cost_center ASC
