select pseudonym, indicator_id, status, reason_code, reason_text,
       strftime(index_date, '%Y-%m-%d') as index_date,
       guideline_version, department_code, risk, risk_rules, reason_text_en
from rpt_patient_results
order by indicator_id, pseudonym
