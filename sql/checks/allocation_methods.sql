-- Allocation rows of the month without exactly one known allocation method.
SELECT
    project,
    resource_id,
    allocation_method,
    count(*) AS allocation_rows
FROM cost_allocation
WHERE
    billing_month = $billing_month
    AND (
        allocation_method IS NULL
        OR allocation_method NOT IN (
            'row_tag', 'endpoint_tag', 'compute_tag', 'compute_match', 'compute_split', 'workspace_tag',
            'resource_group_tag', 'subscription_tag', 'rule', 'shared_split', 'unallocated'
        )
        OR allocation_rule IS NULL
    )
GROUP BY ALL
