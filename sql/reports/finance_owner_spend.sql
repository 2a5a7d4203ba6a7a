-- Finance pack: effective and billed cost per owner in the month, with the share of the month's
-- total in its currency; amounts with no owner are one explicit '(no owner)' line.
SELECT
    billing_currency,
    coalesce(owner, '(no owner)') AS owner,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost,
    CASE
        WHEN sum(sum(effective_cost)) OVER (PARTITION BY billing_currency) = 0 THEN NULL
        ELSE CAST(round(sum(effective_cost) * 100 / sum(sum(effective_cost)) OVER (PARTITION BY billing_currency), 2)
            AS DECIMAL(18, 2))
    END AS share_pct
FROM cost_allocation
WHERE billing_month = $billing_month
GROUP BY billing_currency, coalesce(owner, '(no owner)')
ORDER BY billing_currency, effective_cost DESC, owner
