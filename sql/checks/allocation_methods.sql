-- Allocation rows of the month without exactly one known allocation method ($allocation_methods: the
-- methods of dagster_project/attribution/methods.py, their one home).
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
        OR NOT list_contains($allocation_methods, allocation_method)
        OR allocation_rule IS NULL
    )
GROUP BY ALL
