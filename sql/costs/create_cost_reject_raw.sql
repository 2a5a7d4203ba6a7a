CREATE OR REPLACE TEMP TABLE cost_reject_raw (_source_path VARCHAR, source_row BIGINT, raw VARCHAR)
