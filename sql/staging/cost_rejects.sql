-- Record the rows of billing month $billing_month marked for rejection (see staging/cost_line_items) with
-- file, 1-based data row, reason and raw text.
INSERT INTO staging.cost_rejects
SELECT
    c.source_file,
    c.source_row,
    substr(c.repairs, 2) AS reason,
    r.raw,
    CAST($billing_month AS DATE) AS billing_month
FROM staging.cost_line_items AS c
LEFT JOIN cost_reject_raw AS r
    ON c.source_file = r.source_file AND c.source_row = r.source_row
WHERE c.billing_month = $billing_month AND starts_with(c.repairs, '!')
