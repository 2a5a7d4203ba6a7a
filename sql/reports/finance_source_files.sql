-- Finance pack, sources: the export runs the month's line items came from, read from the files
-- they were loaded from (`<export>/<YYYYMMDD-YYYYMMDD>/<run id>/<file>` in Azure's layout; the run
-- folder holds its manifest). Used when the warehouse has no `export_runs` rows for the month.
SELECT
    billing_month,
    CASE WHEN contains(source_file, '/') THEN split_part(source_file, '/', 1) END AS export_name,
    'loaded' AS status,
    CASE WHEN len(string_split(source_file, '/')) >= 4 THEN string_split(source_file, '/')[3] END AS run_id,
    CAST(NULL AS TIMESTAMP) AS submitted_time,
    regexp_replace(source_file, '/?[^/]*$', '') AS manifest,
    count(DISTINCT source_file) AS files,
    count(*) AS line_items,
    'read from cost_line_items.source_file (run folder shown)' AS note
FROM cost_line_items
WHERE billing_month = $billing_month
GROUP BY billing_month, export_name, run_id, manifest
ORDER BY export_name NULLS LAST, manifest
