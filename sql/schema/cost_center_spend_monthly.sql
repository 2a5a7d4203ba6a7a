-- Public view (docs/tables.md): spend per cost center and month, per currency.
CREATE OR REPLACE VIEW cost_center_spend_monthly AS
SELECT
    billing_month,
    billing_currency,
    coalesce(cost_center, '(no cost center)') AS cost_center,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost
FROM cost_allocation
GROUP BY ALL
