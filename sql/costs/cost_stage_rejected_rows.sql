-- Per file with rejects: the 1-based data rows rejected (to fetch their raw text).
SELECT s._source_path, list(coalesce(s._ordinal, s.rowid + 1) - f.first_ordinal + 1 ORDER BY coalesce(s._ordinal, s.rowid + 1)) AS source_rows
FROM cost_stage AS s
JOIN cost_stage_files AS f USING (_source_path)
WHERE s.p_reason IS NOT NULL
GROUP BY s._source_path
