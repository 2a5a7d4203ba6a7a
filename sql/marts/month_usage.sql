-- Cost and billed hours per Azure ML resource for one month, staged as month_usage: the basis of
-- savings. usage_hours are running hours (hourly meters other than disks, load balancers and
-- public IPs, which keep billing after a stop); running_cost is the cost a stop ends;
-- committed_cost / committed_hours are what a reservation or savings plan covered (freed hours,
-- not cash, when a finding removes them).
CREATE OR REPLACE TEMP TABLE month_usage AS
SELECT
    billing_month,
    billing_currency,
    workspace_id,
    aml_kind,
    aml_name,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(usage_hours) AS DECIMAL(38, 10)) AS usage_hours,
    CAST(sum(running_cost) AS DECIMAL(38, 10)) AS running_cost,
    CAST(sum(committed_cost) AS DECIMAL(38, 10)) AS committed_cost,
    CAST(sum(committed_hours) AS DECIMAL(38, 10)) AS committed_hours
FROM month_allocation
WHERE workspace_id IS NOT NULL
GROUP BY ALL
