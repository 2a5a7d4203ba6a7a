-- Finance pack: the month's open cleanup findings per currency and project, with the estimated
-- monthly savings. A resource counts once, at its largest savings, in the project of that
-- estimate (macros/counted_findings), so the projects add up to the headline savings.
SELECT
    currency AS billing_currency,
    coalesce(project, $unallocated) AS project,
    CAST(count(*) AS BIGINT) AS open_findings,
    CAST(count(DISTINCT resource_id) AS BIGINT) AS resources,
    CAST(sum(CASE WHEN counted THEN savings ELSE 0 END) AS DECIMAL(38, 10)) AS savings,
    string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS rules
FROM counted_findings($billing_month, $unallocated)
GROUP BY billing_currency, coalesce(project, $unallocated)
ORDER BY billing_currency ASC, savings DESC, open_findings DESC, project ASC
