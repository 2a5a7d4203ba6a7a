-- Finance report: the inventory capture(s) the month's findings were judged against.
SELECT DISTINCT json_extract_string(evidence, '$.snapshot_captured_at') AS snapshot_captured_at
FROM findings
WHERE billing_month = $billing_month AND status <> 'resolved'
ORDER BY 1
