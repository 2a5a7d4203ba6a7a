-- Open findings of the latest month and their estimated monthly savings, per currency. Several
-- rules can flag one resource (an instance left running and without idle shutdown); their savings
-- overlap, so each resource counts once, with its largest estimate.
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
        count(*) AS findings,
        max(savings) AS savings
    FROM open_findings
    GROUP BY currency, resource_id
)

SELECT
    currency AS billing_currency,
    CAST(sum(findings) AS BIGINT) AS open_findings,
    CAST(sum(savings) AS DECIMAL(38, 10)) AS savings
FROM per_resource
GROUP BY currency
ORDER BY currency
