create or replace table stg_quarantine (
    file varchar, line bigint, reason_code varchar, reason_text varchar, record varchar);
create or replace table stg_reconciliation (
    file varchar, rows_in bigint, rows_clean bigint, rows_quarantined bigint, duplicates_collapsed bigint);
