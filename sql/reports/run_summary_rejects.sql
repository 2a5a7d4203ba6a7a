-- Rows rejected during ingestion in the months of a run.
SELECT count(*) AS rejected_rows
FROM cost_rejects
WHERE billing_month IN (SELECT unnest(CAST($months AS DATE[])))
