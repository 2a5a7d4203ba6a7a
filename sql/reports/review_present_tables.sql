-- The tables and views this connection sees (a warehouse from an older version lacks some).
SELECT table_name FROM information_schema.tables
