-- Per file with rejects: the 1-based data rows rejected (to fetch their raw text).
SELECT s._source_path, list(s._ordinal - f.first_ordinal + 1 ORDER BY s._ordinal) AS source_rows
FROM cost_stage AS s
JOIN cost_stage_files AS f USING (_source_path)
WHERE s.p_reason IS NOT NULL
GROUP BY s._source_path
