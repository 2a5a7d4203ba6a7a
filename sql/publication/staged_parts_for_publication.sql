-- The parts a publication of $month makes public: the month's own, and a staged inventory (NULL
-- month) that the month was built with. With $month NULL, only the inventory.
SELECT table_name, billing_month, folder
FROM staging.staged_parts
WHERE billing_month = $month OR billing_month IS NULL
ORDER BY billing_month NULLS FIRST, table_name
