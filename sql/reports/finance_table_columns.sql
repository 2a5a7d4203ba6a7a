-- Finance pack: the columns a table of the warehouse has (none when it does not exist), to read
-- optional tables such as `export_runs` only when they are there.
SELECT column_name
FROM information_schema.columns
WHERE table_name = $table_name AND table_schema = current_schema()
ORDER BY ordinal_position
