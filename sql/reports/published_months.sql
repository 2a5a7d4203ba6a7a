-- Billing months published so far (any rows or rejects), ascending.
SELECT DISTINCT billing_month
FROM (
    SELECT billing_month FROM cost_line_items
    UNION ALL
    SELECT billing_month FROM export_runs
) AS months
ORDER BY billing_month
