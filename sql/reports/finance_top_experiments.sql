-- The month's most expensive experiments on compute clusters, per currency: their jobs' cost,
-- node-hours, jobs, projects and submitters (job_costs; the idle lines belong to no experiment).
WITH experiments AS (
    SELECT
        billing_currency,
        coalesce(experiment_name, '(no experiment)') AS experiment_name,
        string_agg(DISTINCT project, ', ' ORDER BY project) AS projects,
        string_agg(DISTINCT coalesce(submitter, '(unknown)'), ', ' ORDER BY coalesce(submitter, '(unknown)'))
            AS submitters,
        count(*) AS jobs,
        sum(node_hours) AS node_hours,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost
    FROM job_costs
    WHERE billing_month = $billing_month AND allocation_method = $job_split
    GROUP BY billing_currency, coalesce(experiment_name, '(no experiment)')
),

ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY billing_currency ORDER BY effective_cost DESC, experiment_name ASC)
            AS experiment_rank
    FROM experiments
)

SELECT *
FROM ranked
WHERE experiment_rank <= $top_n
ORDER BY billing_currency, experiment_rank
