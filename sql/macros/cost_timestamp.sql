-- A UTC timestamp from the formats exports use: ISO with Z (Azure FOCUS), ISO with an offset
-- (converted to UTC), 'YYYY-MM-DD HH:MM:SS' (FOCUS sample), and EA's MM/DD/YYYY and M/D/YYYY.
-- Offsets are honoured explicitly: a plain TIMESTAMP cast would ignore them.
CREATE OR REPLACE TEMP MACRO cost_timestamp(x) AS (
    CASE
        WHEN x IS NULL THEN NULL
        WHEN ends_with(x, 'Z') THEN TRY_CAST(x AS TIMESTAMP)
        WHEN contains(x, '/') THEN try_strptime(trim(x), '%m/%d/%Y')
        WHEN length(x) > 10 AND regexp_matches(x, '[+-]\d{2}:?\d{2}$')
            THEN CAST(timezone('UTC', TRY_CAST(x AS TIMESTAMPTZ)) AS TIMESTAMP)
        ELSE TRY_CAST(x AS TIMESTAMP)
    END
)
