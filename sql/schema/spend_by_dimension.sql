-- Public views (docs/tables.md): spend per owner (owner_spend_monthly) or cost center
-- (cost_center_spend_monthly) and month, per currency; amounts with none go to the explicit line.
-- A view binds no parameters: the warehouse writes {{view}}, {{dimension}} and {{none}} (the
-- explicit line's name from dagster_project/attribution/methods.py, quoted) in (view_sql).
CREATE OR REPLACE VIEW {{view}} AS
SELECT
    billing_month,
    billing_currency,
    coalesce({{dimension}}, {{none}}) AS {{dimension}},
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost
FROM cost_allocation
GROUP BY ALL
