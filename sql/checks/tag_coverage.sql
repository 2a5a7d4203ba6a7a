-- Per currency, how much of the month's effective cost reached a project through tags (the
-- row's, its resource's, its workspace's, resource group's or subscription's), rather than
-- through a shared split, a configured rule or not at all (the finance report's definition).
WITH month_allocation AS (
    SELECT
        billing_currency,
        allocation_method,
        effective_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month
)

SELECT
    billing_currency,
    sum(effective_cost) AS effective_cost,
    sum(effective_cost) FILTER (
        WHERE allocation_method NOT IN ('rule', 'shared_split', 'unallocated')
    ) AS tagged_effective_cost,
    CASE
        WHEN sum(effective_cost) = 0 THEN NULL
        ELSE CAST(round(
            coalesce(sum(effective_cost) FILTER (WHERE allocation_method NOT IN ('rule', 'shared_split', 'unallocated')), 0)
            * 100 / sum(effective_cost), 2
        ) AS DECIMAL(18, 2))
    END AS tag_coverage_pct
FROM month_allocation
GROUP BY ALL
ORDER BY billing_currency
