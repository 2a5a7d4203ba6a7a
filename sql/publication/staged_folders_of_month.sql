SELECT folder FROM staging.staged_parts
WHERE billing_month = $billing_month AND folder IS NOT NULL
