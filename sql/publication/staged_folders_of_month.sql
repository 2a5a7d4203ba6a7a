SELECT folder FROM staging.staged_parts WHERE billing_month = $month AND folder IS NOT NULL
