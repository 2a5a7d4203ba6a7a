-- The raw text of the rejected rows of ONE file ($files = [that file, stub]): the row as a JSON
-- object of column -> text, for the rows numbered $rows. Runs only when a file has rejects,
-- so the common path never materialises every column.
INSERT INTO cost_reject_raw
WITH src AS (
    {{source}}
)

SELECT
    $source_file AS source_file,
    _ordinal AS source_row,
    -- A line the CSV repair could not parse keeps its text as it was in the file.
    coalesce(_aml_broken_raw, CAST(json_merge_patch(
        to_json(src),
        '{"_ordinal": null, "_source_path": null, "_aml_broken_reason": null, "_aml_broken_raw": null}'
    )
    AS VARCHAR)) AS raw
FROM src
WHERE _ordinal IN (SELECT unnest($rows))
