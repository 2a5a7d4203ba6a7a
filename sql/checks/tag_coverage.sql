-- Per currency, how much of the month's effective cost reached a project through tags (the
-- row's, its resource's, its workspace's, resource group's or subscription's; $tag_methods),
-- rather than through a shared split, a commitment's explicit project, a configured rule or not
-- at all (the finance report's definition).
WITH allocation_of_month AS (
    SELECT
        billing_currency,
        list_contains($tag_methods, allocation_method) AS tagged,
        effective_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month
)

SELECT
    billing_currency,
    sum(effective_cost) AS effective_cost,
    sum(effective_cost) FILTER (WHERE tagged) AS tagged_effective_cost,
    CASE
        WHEN sum(effective_cost) = 0 THEN NULL
        ELSE CAST(round(
                coalesce(sum(effective_cost) FILTER (WHERE tagged), 0) * 100 / sum(effective_cost), 2
            ) AS DECIMAL(18, 2))
    END AS tag_coverage_pct
FROM allocation_of_month
GROUP BY ALL
ORDER BY billing_currency
