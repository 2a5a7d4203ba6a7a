-- The temporary views of the connection: `refresh_views` creates the build views and the
-- temporary public views only when missing (their text never changes for a connection).
SELECT view_name
FROM duckdb_views()
WHERE temporary
