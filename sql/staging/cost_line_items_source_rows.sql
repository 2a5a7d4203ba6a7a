-- Number the CSV rows just staged for one group of files ($relatives) in the month's staged table
-- (`staged_table`, which holds billing month $billing_month alone). The insert kept read order
-- (preserve_insertion_order), so within the transaction each file's rows hold consecutive
-- rowids: a row's 1-based data row is its distance from the file's first.
-- Numbering here, after the insert, keeps the parallel CSV scan: a row_number() window over the
-- read would serialize it.
UPDATE {{staged_table}} AS items
SET source_row = items.rowid - first_rows.first_rowid + 1
FROM (
    SELECT
        source_file,
        min(rowid) AS first_rowid
    FROM {{staged_table}}
    WHERE billing_month = $billing_month AND list_contains($relatives, source_file)
    GROUP BY source_file
) AS first_rows
WHERE items.billing_month = $billing_month
    AND items.source_file = first_rows.source_file
