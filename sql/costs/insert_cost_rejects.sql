-- Record the staged rows that did not parse, with file, 1-based data row, reason and raw text.
INSERT INTO cost_rejects
SELECT
    list_extract($relatives, list_position($paths, s._source_path)) AS source_file,
    coalesce(s._ordinal, s.rowid + 1) - f.first_ordinal + 1 AS source_row,
    s.p_reason AS reason,
    r.raw,
    CAST($month AS DATE) AS billing_month
FROM cost_stage AS s
JOIN cost_stage_files AS f USING (_source_path)
LEFT JOIN cost_reject_raw AS r
    ON r._source_path = s._source_path AND r.source_row = coalesce(s._ordinal, s.rowid + 1) - f.first_ordinal + 1
WHERE s.p_reason IS NOT NULL
