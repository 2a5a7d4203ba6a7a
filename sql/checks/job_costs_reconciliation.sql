-- Per compute cluster and currency, job_costs (its jobs and its idle line) beside the cluster's
-- job_split / cluster_idle rows of cost_allocation: a nonzero difference means the job split lost
-- or invented money. Reads the staged month (the check runs before publication).
WITH jobs AS (
    SELECT
        billing_currency,
        workspace_id,
        compute_name,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost
    FROM job_costs
    WHERE billing_month = $billing_month
    GROUP BY ALL
),

allocated AS (
    SELECT
        billing_currency,
        workspace_id,
        aml_name AS compute_name,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month AND list_contains($job_methods, allocation_method)
    GROUP BY ALL
)

SELECT
    coalesce(jobs.billing_currency, allocated.billing_currency) AS billing_currency,
    coalesce(jobs.compute_name, allocated.compute_name) AS compute_name,
    coalesce(jobs.effective_cost, 0) AS job_effective_cost,
    coalesce(allocated.effective_cost, 0) AS allocated_effective_cost,
    coalesce(jobs.effective_cost, 0) - coalesce(allocated.effective_cost, 0) AS effective_difference,
    coalesce(jobs.billed_cost, 0) - coalesce(allocated.billed_cost, 0) AS billed_difference
FROM jobs
FULL OUTER JOIN allocated
    ON
        jobs.billing_currency = allocated.billing_currency
        AND jobs.workspace_id = allocated.workspace_id
        AND jobs.compute_name = allocated.compute_name
ORDER BY billing_currency, compute_name
