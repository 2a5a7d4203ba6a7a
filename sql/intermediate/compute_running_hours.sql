-- Hours each compute ran jobs within the billing month (job time clipped to the month): the
-- weights when several computes of one workspace match a cost row equally well.
WITH month_bounds AS (
    SELECT
        CAST($billing_month AS TIMESTAMPTZ) AS month_start,
        CAST($billing_month AS TIMESTAMPTZ) + INTERVAL 1 MONTH AS month_end
),

clipped AS (
    SELECT
        jobs.workspace_id,
        jobs.compute_name,
        greatest(jobs.start_time, bounds.month_start) AS run_start,
        least(jobs.end_time, bounds.month_end) AS run_end
    FROM inventory_jobs AS jobs
    CROSS JOIN month_bounds AS bounds
    WHERE
        jobs.compute_name IS NOT NULL
        AND jobs.start_time IS NOT NULL
        AND jobs.end_time IS NOT NULL
        AND jobs.start_time < bounds.month_end
        AND jobs.end_time > bounds.month_start
)

SELECT
    workspace_id,
    compute_name,
    CAST(sum(epoch(run_end) - epoch(run_start)) / 3600 AS DECIMAL(38, 6)) AS running_hours
FROM clipped
GROUP BY ALL
ORDER BY workspace_id, compute_name
