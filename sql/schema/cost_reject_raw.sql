CREATE OR REPLACE TEMP TABLE cost_reject_raw (source_file VARCHAR, source_row BIGINT, raw VARCHAR)
