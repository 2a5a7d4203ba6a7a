-- Every published finding (any month, the month being evaluated included), with the capture its
-- month was judged against (`snapshot_captured_at` in the evidence; `last_seen` for rows written
-- before it was recorded): what an evaluation is compared against
-- (dagster_project/findings/lifecycle.py keeps the states of captures before its own).
SELECT
    *,
    coalesce(
        try_cast(json_extract_string(evidence, '$.snapshot_captured_at') AS TIMESTAMPTZ),
        last_seen
    ) AS judged_at
FROM findings
