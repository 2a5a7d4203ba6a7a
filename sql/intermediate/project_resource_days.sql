-- One project's effective cost per charge day and resource in one currency, over the same days as
-- daily_spend: the parts among which a project anomaly's driver is sought. An Azure ML compute or
-- deployment ($aml_kinds) is located by its workspace and named by aml_name; any other resource
-- by its resource id.
SELECT
    charge_day,
    billing_currency,
    project,
    workspace_id,
    aml_kind,
    aml_name,
    CASE WHEN list_contains($aml_kinds, aml_kind) THEN workspace_id ELSE resource_id END AS location,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost
FROM cost_daily
WHERE
    charge_day BETWEEN $first_day AND $last_day
    AND billing_month <= $billing_month
    AND billing_currency = $billing_currency
    AND project IS NOT DISTINCT FROM $project
GROUP BY ALL
