-- The attribution keys of the month, one row each with its columns (month_keys' attribution_key
-- expanded): what the Python resolver decides on.
SELECT DISTINCT
    key_id,
    unnest(attribution_key)  -- noqa: AL03
FROM month_keys
ORDER BY key_id
