-- The compute clusters whose cost is split among their jobs (job_costs) up to the month: their
-- days in cost_daily are not yet split by job, so project anomaly series leave them out.
SELECT DISTINCT compute_id
FROM job_costs
WHERE billing_month <= $billing_month
