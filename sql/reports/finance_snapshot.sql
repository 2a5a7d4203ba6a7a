-- Finance pack, sources: the Azure ML inventory snapshot the month was attributed with (the
-- capture that judged it: assets/reports.py shows it under these names) — when it was captured
-- and how much it held.
SELECT
    (SELECT min(captured_at) FROM inventory_workspaces) AS first_captured_at,
    (SELECT max(captured_at) FROM inventory_workspaces) AS captured_at,
    (SELECT count(DISTINCT subscription_id) FROM inventory_workspaces) AS subscriptions,
    (SELECT count(*) FROM inventory_workspaces) AS workspaces,
    (SELECT count(*) FROM inventory_computes) AS computes,
    (SELECT count(*) FROM inventory_endpoints) AS endpoints
