-- Finance pack: the month's open cleanup findings per currency and project, with the estimated
-- monthly savings. A resource flagged by several rules counts once, with its largest estimate,
-- in the project of that estimate, so the projects add up to the headline savings.
WITH open_findings AS (
    SELECT
        currency,
        coalesce(project, $unallocated) AS project,
        resource_id,
        rule_id,
        savings
    FROM findings
    WHERE billing_month = $billing_month AND status = 'open'
),

per_resource AS (
    SELECT
        currency,
        project,
        savings,
        row_number() OVER (PARTITION BY currency, resource_id ORDER BY savings DESC, project ASC, rule_id ASC) AS pick
    FROM open_findings
),

counted AS (
    SELECT
        currency,
        project,
        sum(savings) AS savings
    FROM per_resource
    WHERE pick = 1
    GROUP BY currency, project
),

counts AS (
    SELECT
        currency,
        project,
        count(*) AS open_findings,
        count(DISTINCT resource_id) AS resources,
        string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS rules
    FROM open_findings
    GROUP BY currency, project
)

SELECT
    counts.currency AS billing_currency,
    counts.project,
    CAST(counts.open_findings AS BIGINT) AS open_findings,
    CAST(counts.resources AS BIGINT) AS resources,
    CAST(coalesce(counted.savings, 0) AS DECIMAL(38, 10)) AS savings,
    counts.rules
FROM counts
LEFT JOIN counted ON counts.currency = counted.currency AND counts.project = counted.project
ORDER BY billing_currency ASC, savings DESC, open_findings DESC, counts.project ASC
