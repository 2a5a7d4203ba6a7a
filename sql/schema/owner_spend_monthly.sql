-- Public view (docs/tables.md; a view takes no parameters, so the warehouse writes the explicit
-- line's name from dagster_project/attribution/methods.py into the {{…}} slot): spend per owner and month, per currency.
CREATE OR REPLACE VIEW owner_spend_monthly AS
SELECT
    billing_month,
    billing_currency,
    coalesce(owner, {{no_owner}}) AS owner,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost
FROM cost_allocation
GROUP BY ALL
