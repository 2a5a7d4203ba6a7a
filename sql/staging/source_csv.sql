-- Source fragment (a SELECT, spliced into a typed_cost_rows_* fragment as the `src` CTE): the
-- data rows of the bound file list, every value as text; empty fields read as SQL NULL (the
-- literal NULL is turned into SQL NULL by the typed-rows fragment, which records it as a
-- repair). `{{ordinal}}` is filled by load.py: NULL for the load, whose rows are inserted in read
-- order (insertion order is preserved while loading) and numbered afterwards from their rowids
-- (staging/cost_line_items_source_rows), since a window row_number() over the read would serialize the
-- scan; `row_number() OVER ()` when cost_reject_raw re-reads one file for its rejected rows, so
-- that both reads share these options and number the rows alike.
-- union_by_name lets files of one family with different column sets (and the header-only stub
-- holding every column the statement names) be read together; only the columns the statement
-- names are parsed (projection pushdown).
SELECT
    {{ordinal}} AS _ordinal,
    *
FROM read_csv(
        $files,
        header = TRUE,
        all_varchar = TRUE,
        union_by_name = TRUE,
        filename = '_source_path',
        delim = ',',
        quote = '"',
        escape = '"',
        nullstr = ['']
    )
