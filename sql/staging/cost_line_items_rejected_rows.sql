-- Per file of one group ($relatives) with rows marked for rejection in billing month $billing_month: the
-- 1-based data rows (to fetch their raw text, cost_reject_raw).
SELECT
    source_file,
    list(source_row ORDER BY source_row) AS source_rows
FROM staging.cost_line_items
WHERE billing_month = $billing_month AND list_contains($relatives, source_file) AND starts_with(repairs, '!')
GROUP BY source_file
