-- Per staged file: the first ordinal (to number rows per file), rows read, rows rejected. CSV
-- rows carry no ordinal of their own: the staging table's rowid, in read order, stands in.
CREATE OR REPLACE TEMP TABLE cost_stage_files AS
SELECT
    _source_path,
    min(coalesce(_ordinal, rowid + 1)) AS first_ordinal,
    count(*) AS rows_read,
    count(p_reason) AS rows_rejected
FROM cost_stage
GROUP BY _source_path
