-- Open findings of a month and their estimated monthly savings, one row per currency: a
-- finding's savings are in the currency of the cost they come from, and amounts of two
-- currencies are never added. Several rules can flag one resource (an instance left running and
-- without idle shutdown); their savings overlap, so each resource counts once, with its largest
-- estimate.
WITH open_findings AS (
    SELECT
        currency,
        resource_id,
        savings
    FROM findings
    WHERE billing_month = $billing_month AND status = 'open'
),

per_resource AS (
    SELECT
        currency,
        resource_id,
        max(savings) AS savings,
        count(*) AS findings
    FROM open_findings
    GROUP BY currency, resource_id
)

SELECT
    currency,
    CAST(sum(findings) AS BIGINT) AS open_findings,
    CAST(sum(savings) AS DECIMAL(38, 10)) AS savings
FROM per_resource
GROUP BY currency
ORDER BY currency
