-- The columns of every base table of the current database file, in order, typed as DuckDB spells
-- them: what `warehouse.prepare` holds to this version's layout before it changes a file another
-- version prepared. Views are left out (prepare recreates them), and temporary tables too.
SELECT
    c.schema_name,
    c.table_name,
    c.column_name,
    c.data_type
FROM duckdb_columns() AS c
INNER JOIN duckdb_tables() AS t
    ON
        c.database_name = t.database_name
        AND c.schema_name = t.schema_name
        AND c.table_name = t.table_name
WHERE c.database_name = current_database() AND NOT t.temporary
ORDER BY c.schema_name, c.table_name, c.column_index
