-- Effective cost of each attribution key of the month per currency: the weights of shared costs.
SELECT
    key_id,
    billing_currency,
    effective_cost
FROM month_key_totals
ORDER BY key_id, billing_currency
