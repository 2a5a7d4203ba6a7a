-- The latest month of a run per currency, for the summary the CLI prints: effective and billed
-- cost, the unallocated part and its share, and the number of projects (never summed across
-- currencies).
SELECT
    billing_currency,
    CAST(sum(effective_cost) AS DECIMAL(38, 10)) AS effective_cost,
    CAST(sum(billed_cost) AS DECIMAL(38, 10)) AS billed_cost,
    CAST(coalesce(sum(effective_cost) FILTER (WHERE project = $unallocated), 0) AS DECIMAL(38, 10))
        AS unallocated_effective_cost,
    count(DISTINCT project) FILTER (WHERE project <> $unallocated) AS projects
FROM project_spend_monthly
WHERE billing_month = $billing_month
GROUP BY billing_currency
ORDER BY sum(effective_cost) DESC, billing_currency
