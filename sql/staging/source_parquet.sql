-- Source fragment for Parquet exports: same shape as source_csv (text values, _ordinal,
-- _source_path); the reader's own file_row_number gives the per-file ordinal, and empty strings
-- become SQL NULL as in CSV (the literal NULL is handled by the typed-rows fragment).
SELECT
    file_row_number + 1 AS _ordinal,
    filename AS _source_path,
    nullif(COLUMNS(* EXCLUDE (file_row_number, filename))::VARCHAR, '')
FROM read_parquet($files, union_by_name = TRUE, filename = TRUE, file_row_number = TRUE)
