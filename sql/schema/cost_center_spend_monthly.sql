-- Public view (docs/tables.md; a view takes no parameters, so the warehouse writes the explicit
-- line's name from dagster_project/attribution/methods.py into the {{…}} slot): spend per cost center and month, per currency.
CREATE OR REPLACE VIEW cost_center_spend_monthly AS
SELECT
    billing_month,
    billing_currency,
    coalesce(cost_center, {{no_cost_center}}) AS cost_center,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost
FROM cost_allocation
GROUP BY ALL
