-- Open findings of the latest month and their estimated monthly savings. Several rules can flag
-- one resource (an instance left running and without idle shutdown); their savings overlap, so
-- each resource counts once, with its largest estimate.
WITH open_findings AS (
    SELECT
        resource_id,
        savings
    FROM findings
    WHERE billing_month = $billing_month AND status = 'open'
),

per_resource AS (
    SELECT
        resource_id,
        max(savings) AS savings
    FROM open_findings
    GROUP BY resource_id
)

SELECT
    (SELECT count(*) FROM open_findings) AS open_findings,
    (SELECT sum(savings) FROM per_resource) AS savings
