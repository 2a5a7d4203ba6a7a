-- Azure ML resources billed more running hours in the month than they can run: a compute
-- instance is one node, a cluster at most max_nodes, a deployment instance_count instances, each
-- for the hours of the month. A row here is not proof of an error (a cluster resized during the
-- month), so the check warns; it catches impossible hours from a bad export or a mismatch.
WITH month_hours AS (
    SELECT CAST(
        (epoch(CAST($billing_month AS TIMESTAMP) + INTERVAL 1 MONTH) - epoch(CAST($billing_month AS TIMESTAMP))) / 3600
        AS DECIMAL(38, 10)
    ) AS hours
),

capacity AS (
    SELECT
        workspace_id,
        'compute' AS aml_kind,
        lower(compute_name) AS aml_name,
        CASE WHEN compute_type = 'AmlCompute' THEN greatest(coalesce(max_nodes, 1), 1) ELSE 1 END AS nodes
    FROM inventory_computes
    UNION ALL
    SELECT
        workspace_id,
        'endpoint' AS aml_kind,
        lower(endpoint_name || '/' || deployment_name) AS aml_name,
        greatest(coalesce(instance_count, 1), 1) AS nodes
    FROM inventory_deployments
)

SELECT
    usage.billing_currency,
    usage.workspace_id,
    usage.aml_kind,
    usage.aml_name,
    capacity.nodes,
    CAST(capacity.nodes * month_hours.hours AS DECIMAL(38, 2)) AS capacity_hours,
    CAST(usage.usage_hours AS DECIMAL(38, 2)) AS billed_hours
FROM aml_resource_usage AS usage
INNER JOIN capacity
    ON usage.workspace_id = capacity.workspace_id
        AND usage.aml_kind = capacity.aml_kind
        AND lower(usage.aml_name) = capacity.aml_name
CROSS JOIN month_hours
WHERE
    usage.billing_month = $billing_month
    AND usage.usage_hours > capacity.nodes * month_hours.hours
ORDER BY usage.workspace_id, usage.aml_kind, usage.aml_name
