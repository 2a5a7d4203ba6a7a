-- Per compute cluster and currency in the month: its cost, what its jobs used and its idle line
-- (job_costs), with the idle share of the cost; largest idle cost first.
SELECT
    billing_currency,
    workspace_name,
    compute_name,
    max(project) FILTER (WHERE allocation_method = $cluster_idle) AS idle_project,
    count(job_id) AS jobs,
    count(DISTINCT project) FILTER (WHERE allocation_method = $job_split) AS projects,
    sum(effective_cost) AS effective_cost,
    coalesce(sum(effective_cost) FILTER (WHERE allocation_method = $job_split), 0) AS job_effective_cost,
    coalesce(sum(effective_cost) FILTER (WHERE allocation_method = $cluster_idle), 0) AS idle_effective_cost,
    any_value(billed_node_hours) AS billed_node_hours,
    coalesce(sum(node_hours) FILTER (WHERE allocation_method = $cluster_idle), 0) AS idle_node_hours,
    CASE
        WHEN sum(effective_cost) = 0 THEN NULL
        ELSE CAST(
                coalesce(sum(effective_cost) FILTER (WHERE allocation_method = $cluster_idle), 0)
                / sum(effective_cost) AS DECIMAL(18, 6)
            )
    END AS idle_share
FROM job_costs
WHERE billing_month = $billing_month
GROUP BY billing_currency, workspace_id, workspace_name, compute_id, compute_name
ORDER BY billing_currency ASC, idle_effective_cost DESC, compute_name ASC
