-- Results of the staging expectation suites (pipelines/quality/runner.py, record_outcomes):
-- one row per expectation per staging table, and one row per failing row. A table's rows are
-- replaced each time its suite runs.
create table if not exists qa_expectation_results (
    table_name       varchar,
    expectation      varchar,    -- meta.name in expectations/<table>.json
    expectation_type varchar,
    column_name      varchar,
    severity         varchar,    -- error (blocking) | warn
    label            varchar,
    why              varchar,
    success          boolean,
    element_count    bigint,
    failing_rows     bigint,
    observed_value   varchar,    -- JSON
    checked_at       timestamp with time zone
);

create table if not exists qa_failing_rows (
    table_name  varchar,
    expectation varchar,
    severity    varchar,
    _line       bigint,          -- physical line in the delivery file
    row_id      varchar          -- pseudonym; course_id for stg_drugs; department_code for stg_departments
);
