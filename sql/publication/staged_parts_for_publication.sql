-- The parts a publication of $billing_month makes public: the month's own, and a staged inventory (NULL
-- month) that the month was built with. With $billing_month NULL, only the inventory.
SELECT
    table_name,
    billing_month,
    folder
FROM staging.staged_parts
WHERE billing_month = $billing_month OR billing_month IS NULL
ORDER BY billing_month NULLS FIRST, table_name
