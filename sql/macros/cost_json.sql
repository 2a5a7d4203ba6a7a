-- Free-form JSON detail (AdditionalInfo / x_SkuDetails): kept as written when valid JSON;
-- otherwise stored as a JSON string so the text is not lost and the column stays valid JSON.
CREATE OR REPLACE TEMP MACRO cost_json(x) AS (
    CASE
        WHEN x IS NULL THEN NULL
        WHEN json_valid(x) THEN x
        ELSE CAST(to_json(x) AS VARCHAR)
    END
)
