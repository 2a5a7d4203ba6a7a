-- Source fragment for fetching the raw text of rejected rows (cost_reject_raw, one file at a
-- time): like source_csv, but numbering the rows itself. Otherwise the same: the data
-- rows of the bound file list, every value as text; empty fields read as SQL NULL (the literal
-- NULL is turned into SQL NULL by the typed-rows fragment, which records it as a repair).
-- `_ordinal` numbers the rows of the one file read (the stub has none) in read order: the
-- file's 1-based data row, as number_cost_line_items_rows numbers them. union_by_name lets files of one family
-- with different column sets (and the header-only stub holding every column the statement
-- names) be read together; only the columns the statement names are parsed (projection pushdown).
SELECT
    row_number() OVER () AS _ordinal,
    *
FROM read_csv(
    $files,
    header = true,
    all_varchar = true,
    union_by_name = true,
    filename = '_source_path',
    delim = ',',
    quote = '"',
    escape = '"',
    nullstr = ['']
)
