DELETE FROM staging.staged_parts
WHERE billing_month = $billing_month OR billing_month IS NULL
