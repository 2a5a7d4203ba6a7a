INSERT INTO staging.staged_parts (billing_month, table_name, folder) VALUES ($billing_month, $table_name, $folder)
