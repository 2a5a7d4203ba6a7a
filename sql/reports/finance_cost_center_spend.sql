-- Finance pack: effective and billed cost per cost center in the month, with the share of the
-- month's total in its currency; amounts with no cost center are one '(no cost center)' line.
SELECT
    billing_currency,
    coalesce(cost_center, '(no cost center)') AS cost_center,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost,
    CASE
        WHEN sum(sum(effective_cost)) OVER (PARTITION BY billing_currency) = 0 THEN NULL
        ELSE CAST(round(sum(effective_cost) * 100 / sum(sum(effective_cost)) OVER (PARTITION BY billing_currency), 2)
            AS DECIMAL(18, 2))
    END AS share_pct
FROM cost_allocation
WHERE billing_month = $billing_month
GROUP BY billing_currency, coalesce(cost_center, '(no cost center)')
ORDER BY billing_currency, effective_cost DESC, cost_center
