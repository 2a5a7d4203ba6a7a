-- Finance pack: the month's open cleanup findings per currency and their estimated monthly
-- savings. Several rules can flag one resource; their savings overlap, so each resource counts
-- once, with its largest estimate.
WITH per_resource AS (
    SELECT
        currency,
        resource_id,
        count(*) AS findings,
        max(savings) AS savings
    FROM findings
    WHERE billing_month = $billing_month AND status = 'open'
    GROUP BY currency, resource_id
)

SELECT
    currency AS billing_currency,
    CAST(sum(findings) AS BIGINT) AS open_findings,
    count(*) AS resources,
    CAST(sum(savings) AS DECIMAL(38, 10)) AS savings
FROM per_resource
GROUP BY currency
ORDER BY currency
