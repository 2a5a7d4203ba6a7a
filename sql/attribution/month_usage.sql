-- Cost and billed hours per Azure ML resource for one month, staged as month_usage.
CREATE OR REPLACE TEMP TABLE month_usage AS
SELECT
    billing_month,
    billing_currency,
    workspace_id,
    aml_kind,
    aml_name,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(usage_hours) AS DECIMAL(38, 10)) AS usage_hours
FROM month_allocation
WHERE workspace_id IS NOT NULL
GROUP BY ALL
