-- Every staged folder something still refers to; any other folder under <out>/.publish is an
-- orphan of a build that never committed.
SELECT folder FROM staging.staged_parts
WHERE folder IS NOT NULL
UNION
SELECT staged FROM staging.publication_journal
