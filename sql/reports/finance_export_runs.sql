-- Finance pack, sources: the Cost Management export runs behind the month, as recorded in the
-- warehouse's `export_runs` table — the run loaded per export, the runs it superseded and the
-- ones skipped, with the manifest, the files and line items, and why a run did not count.
SELECT
    billing_month,
    export_name,
    status,
    run_id,
    CAST(submitted_time AS TIMESTAMP) AS submitted_time,
    manifest,
    CAST(files AS BIGINT) AS files,
    CAST(line_items AS BIGINT) AS line_items,
    note
FROM export_runs
WHERE billing_month = $billing_month
ORDER BY
    export_name ASC,
    CASE status WHEN 'loaded' THEN 1 WHEN 'superseded' THEN 2 ELSE 3 END,
    submitted_time DESC NULLS LAST,
    run_id ASC
