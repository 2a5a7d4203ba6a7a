-- Drop the rows of billing month $billing_month marked for rejection once cost_rejects holds them
-- (`staged_table`: the month's staged table, month_tables.py).
DELETE FROM {{staged_table}}
WHERE billing_month = $billing_month AND starts_with(repairs, '!')
