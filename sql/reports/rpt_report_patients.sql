-- Patient-level results for the department lists and dashboards: every rpt_patient_results
-- row with the year of its index date and its department's name, hospital and region
-- (rpt_report_departments). The reader (pipelines/reports/data.py) keeps the rows a report
-- needs and orders them by department_code, indicator_id, index_date, pseudonym.
select
    r.pseudonym,
    r.indicator_id,
    year(r.index_date)                                   as year,
    r.status,
    r.reason_code,
    r.reason_text,
    r.index_date,
    r.guideline_version,
    r.department_code,
    coalesce(d.department_name, r.department_code)       as department_name,
    coalesce(d.hospital, 'ukendt')                       as hospital,
    coalesce(d.region, 'ukendt')                         as region,
    r.risk,
    r.risk_rules,
    r.values_json
from rpt_patient_results as r
left join rpt_report_departments as d on d.department_code is not distinct from r.department_code
