DELETE FROM staging.staged_parts WHERE billing_month = $month OR billing_month IS NULL
