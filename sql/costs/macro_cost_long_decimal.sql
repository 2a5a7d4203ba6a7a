-- Repair detection: a plain amount with more than 10 fraction digits (EA writes up to 28), which
-- DECIMAL(38,10) rounds half away from zero. The untrimmed length rules out most rows before
-- the trim (which copies the text) is paid.
CREATE OR REPLACE TEMP MACRO cost_long_decimal(x) AS
    coalesce(strpos(x, '.') > 0 AND length(x) - strpos(x, '.') > 10
        AND length(rtrim(x)) - strpos(x, '.') > 10 AND NOT cost_scientific(x), false)
