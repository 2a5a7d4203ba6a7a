-- Tags as JSON object text ('{}' when empty). EA writes the members without the enclosing
-- braces; they are added back (a recorded repair, see docs/ingestion.md). NULL when the text is
-- not a JSON object, which makes the row a reject. The text is kept as written (not re-serialised).
-- The common case (starts with '{') is tested first: trimming every row's tags costs a copy.
CREATE OR REPLACE TEMP MACRO cost_tags(x) AS (
    CASE
        WHEN x IS NULL THEN '{}'
        WHEN starts_with(x, '{') THEN CASE WHEN ends_with(x, '}') AND json_valid(x) THEN x END
        WHEN trim(x) = '' THEN '{}'
        WHEN json_valid('{' || x || '}') THEN '{' || x || '}'
    END
)
