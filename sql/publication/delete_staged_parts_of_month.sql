DELETE FROM staging.staged_parts
WHERE billing_month = $billing_month
