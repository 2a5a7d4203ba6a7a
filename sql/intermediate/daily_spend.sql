-- Effective cost per charge day, currency, project, owner, cost center and Azure ML resource from
-- cost_daily: the month being evaluated and the trailing days before it (budget forecasts and
-- anomaly baselines). Later months are never read, so re-running an old month gives its answer.
-- Rows outside Azure ML are summed per project, owner and cost center, without their resource:
-- a month at 10M line items holds ~2M resource-days, and only the driver of a project anomaly
-- needs them (project_resource_days, for that project alone).
SELECT
    billing_month,
    charge_day,
    billing_currency,
    project,
    owner,
    cost_center,
    workspace_id,
    aml_kind,
    aml_name,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost
FROM cost_daily
WHERE
    charge_day BETWEEN $first_day AND $last_day
    AND billing_month <= $billing_month
GROUP BY ALL
ORDER BY charge_day, billing_currency, project, workspace_id, aml_kind, aml_name
