SELECT table_name FROM staging.staged_parts WHERE billing_month = $month ORDER BY table_name
