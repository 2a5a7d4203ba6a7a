DELETE FROM staging.staged_parts
WHERE billing_month IS NOT DISTINCT FROM $billing_month AND table_name = $table_name
