-- Every column of every table and view the connection sees (every database and schema, temporary
-- ones included; no internal view), and whether its schema is the current one: in one catalog
-- read, the names `relation_names` lists and the columns `information_schema.columns` gives for
-- the current schema (the packs read a table by its bare name, and an older warehouse lacks some).
SELECT
    table_name,
    column_name,
    schema_name = current_schema() AS in_current_schema
FROM duckdb_columns()
WHERE NOT internal
