-- Patient-level results of every indicator (indicators.md §3, patient_results.csv): the
-- union of the catalogue's ind_ tables (variable indicator_tables) with the patient's risk
-- and the risk rules that fired; the results-contract columns first (reason_text Danish,
-- reason_text_en English), then the drill-down values as JSON.
select
    r.pseudonym,
    r.indicator_id,
    r.status,
    r.reason_code,
    r.reason_text,
    r.index_date,
    r.guideline_version,
    r.department_code,
    k.risk,
    k.risk_rules,
    r.reason_text_en,
    r.values_json
from query_table(getvariable('indicator_tables'), true) as r
left join int_risk as k on k.pseudonym = r.pseudonym
-- not sorted: every reader orders what it shows (patient_results.csv by indicator and pseudonym)
