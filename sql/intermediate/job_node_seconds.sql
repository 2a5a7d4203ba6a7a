-- Every job that ran in the billing month on a named compute, with its node-seconds inside the
-- month: (min(end, month end) - max(start, month start)) x instance count. A job still running at
-- the inventory capture runs until the capture; a job without a node count ran on one node.
-- Seconds are whole numbers, so the shares computed from them are exact.
WITH month_bounds AS (
    SELECT
        CAST($billing_month AS TIMESTAMPTZ) AS month_start,
        CAST($billing_month AS TIMESTAMPTZ) + INTERVAL 1 MONTH AS month_end
),

clipped AS (
    SELECT
        jobs.*,
        coalesce(jobs.instance_count, 1) AS nodes,
        greatest(jobs.start_time, bounds.month_start) AS run_start,
        least(coalesce(jobs.end_time, jobs.captured_at), bounds.month_end) AS run_end
    FROM inventory_jobs AS jobs
    CROSS JOIN month_bounds AS bounds
    WHERE
        jobs.compute_name IS NOT NULL
        AND jobs.start_time IS NOT NULL
        AND jobs.start_time < bounds.month_end
        AND coalesce(jobs.end_time, jobs.captured_at) > bounds.month_start
)

SELECT
    job_id,
    job_id_original,
    workspace_id,
    lower(compute_name) AS compute_key,
    compute_name,
    job_name,
    display_name,
    experiment_name,
    submitter,
    tags,
    nodes,
    run_start,
    run_end,
    CAST(datediff('second', run_start, run_end) * nodes AS BIGINT) AS node_seconds
FROM clipped
WHERE run_end > run_start
ORDER BY workspace_id, compute_key, job_id
