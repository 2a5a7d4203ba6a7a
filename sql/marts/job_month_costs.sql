-- The month's job_costs rows (staged as month_job_costs) from the split computed in
-- attribution/jobs.py (job_costs_frame, registered).
CREATE OR REPLACE TEMP TABLE month_job_costs AS
SELECT
    CAST($billing_month AS DATE) AS billing_month,
    *
FROM job_costs_frame
ORDER BY billing_currency, workspace_id, compute_name, allocation_method, job_id
