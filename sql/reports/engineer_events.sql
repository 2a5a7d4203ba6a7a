-- Engineer pack: the month's open budget and anomaly findings (events, no savings), listed beside
-- the owner's cleanup findings (the reader keeps the columns of engineer_findings).
SELECT
    * REPLACE (CAST(evidence AS VARCHAR) AS evidence),
    FALSE AS counted
FROM findings
WHERE billing_month = $billing_month AND status = 'open' AND rule_id IN ('budget', 'anomaly')
ORDER BY rule_id ASC, resource_id ASC, finding_id ASC
