-- Every department with patient results and its place in the report hierarchy (Danmark →
-- region → hospital → department), as rpt_indicator_summary groups it: a department missing
-- from departments.csv has its code as name and 'ukendt' as hospital and region.
select distinct
    r.department_code,
    coalesce(d.department_name, r.department_code)  as department_name,
    coalesce(d.hospital, 'ukendt')                  as hospital,
    coalesce(d.region, 'ukendt')                    as region
from rpt_patient_results as r
left join stg_departments as d on d.department_code = r.department_code
order by region, hospital, department_code
