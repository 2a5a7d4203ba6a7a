-- Repair detection: a plain amount with more than 10 fraction digits (EA writes up to 28), which
-- DECIMAL(38,10) rounds half away from zero. The byte length (free, unlike the character count
-- or a trim) rules out nearly every row first; it can only overstate the digits.
CREATE OR REPLACE TEMP MACRO cost_long_decimal(x) AS
coalesce(
    strlen(x) - strpos(x, '.') > 10 AND strpos(x, '.') > 0
    AND length(rtrim(x)) - strpos(x, '.') > 10 AND NOT cost_scientific(x), FALSE
)
