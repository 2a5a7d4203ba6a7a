-- Per file of one group ($relatives) loaded into billing month $billing_month: data rows read and, of
-- those, rows marked for rejection (see staging/cost_line_items).
SELECT
    source_file,
    count(*) AS rows_read,
    count(*) FILTER (WHERE starts_with(repairs, '!')) AS rows_rejected
FROM staging.cost_line_items
WHERE billing_month = $billing_month AND list_contains($relatives, source_file)
GROUP BY source_file
