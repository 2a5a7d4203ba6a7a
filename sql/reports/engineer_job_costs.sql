-- Every job of the month on a compute cluster with what it cost (job_costs), for the engineer
-- pack's per-submitter pages; largest cost first.
SELECT
    coalesce(submitter, '(unknown submitter)') AS submitter,
    billing_currency,
    workspace_name,
    compute_name,
    job_name,
    experiment_name,
    project,
    node_hours,
    effective_cost,
    billed_cost
FROM job_costs
WHERE billing_month = $billing_month AND allocation_method = $job_split
ORDER BY submitter ASC, billing_currency ASC, effective_cost DESC, job_name ASC
