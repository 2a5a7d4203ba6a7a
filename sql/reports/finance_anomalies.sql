-- Finance pack: the month's daily spend anomalies (findings of rule 'anomaly'), by day: the
-- project or Azure ML resource, its spend, the expected spend, the excess and what drove it.
SELECT
    currency AS billing_currency,
    CAST(json_extract_string(evidence, '$.day') AS DATE) AS day,
    json_extract_string(evidence, '$.scope') AS scope,
    resource_name,
    coalesce(project, $unallocated) AS project,
    coalesce(owner, $no_owner) AS owner,
    CAST(json_extract_string(evidence, '$.spend') AS DECIMAL(38, 10)) AS spend,
    CAST(json_extract_string(evidence, '$.expected') AS DECIMAL(38, 10)) AS expected,
    CAST(json_extract_string(evidence, '$.excess') AS DECIMAL(38, 10)) AS excess,
    json_extract_string(evidence, '$.driver') AS driver,
    CAST(json_extract_string(evidence, '$.driver_excess') AS DECIMAL(38, 10)) AS driver_excess,
    status,
    finding_id
FROM findings
WHERE billing_month = $billing_month AND rule_id = 'anomaly' AND status <> 'resolved'
ORDER BY billing_currency ASC, day ASC, scope DESC, resource_name ASC
