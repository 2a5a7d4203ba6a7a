-- Finance pack: effective and billed cost per owner in the month, with the share of the month's
-- total in its currency; amounts with none are the explicit '(no owner)' line of the view.
SELECT
    billing_currency,
    owner,
    effective_cost,
    billed_cost,
    share_pct(effective_cost, sum(effective_cost) OVER (PARTITION BY billing_currency)) AS share_pct
FROM owner_spend_monthly
WHERE billing_month = $billing_month
ORDER BY billing_currency ASC, effective_cost DESC, owner ASC
