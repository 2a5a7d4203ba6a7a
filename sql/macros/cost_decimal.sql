-- An exact amount: DECIMAL(38,10) straight from the text (plain or scientific notation, e.g.
-- 0E-10; surrounding blanks allowed), rounded half away from zero past 10 places. NULL when it
-- does not parse, or when |amount| >= 10^18: no bill line is that large, and allocation's splits
-- multiply two DECIMAL(38,10) values (DuckDB keeps 38 digits, 20 of them after the point), so a
-- larger amount would overflow there. Such a row is rejected ('bad BilledCost: 1E+20').
CREATE OR REPLACE TEMP MACRO cost_decimal(x) AS
CASE
    WHEN abs(TRY_CAST(x AS DECIMAL(38, 10))) < CAST('1000000000000000000' AS DECIMAL(38, 10))
        THEN TRY_CAST(x AS DECIMAL(38, 10))
END
