-- The month's allocation rows of compute clusters (staged as job_cluster_origins): the origin
-- charges that job-level showback divides among the jobs that ran on each cluster. A cluster is an
-- AmlCompute of the inventory; its rows are those month_allocation tied to it (by tags, VM size or
-- a split by running hours). origin_id numbers the rows of this month only.
CREATE OR REPLACE TEMP TABLE job_cluster_origins AS
SELECT
    row_number() OVER (
        ORDER BY
            allocation.billing_currency, allocation.workspace_id, allocation.aml_name, allocation.resource_id,
            allocation.project, allocation.owner, allocation.cost_center, allocation.allocation_method,
            allocation.allocation_rule
    ) AS origin_id,
    allocation.*,
    computes.compute_id,
    computes.tags AS compute_tags,
    workspaces.subscription_id,
    workspaces.workspace_name
FROM month_allocation AS allocation
INNER JOIN inventory_computes AS computes
    ON
        allocation.workspace_id = computes.workspace_id
        AND lower(allocation.aml_name) = lower(computes.compute_name)
LEFT JOIN inventory_workspaces AS workspaces ON allocation.workspace_id = workspaces.workspace_id
WHERE
    allocation.aml_kind = 'compute'
    AND computes.compute_type = 'AmlCompute'
