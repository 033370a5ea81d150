-- The reporting units of each in-scope patient, as indicator_summary uses them: the department
-- of the index diagnosis (earliest DC900/DC901 row; ties: DC900 first) with its hospital and
-- region ('ukendt' when the department is missing from departments.csv), plus the age at
-- diagnosis in completed years (indicators.md, "Age").
select
    d.pseudonym,
    d.diagnosis_date,
    d.department_code,
    coalesce(dep.department_name, d.department_code)                      as department_name,
    coalesce(dep.hospital, 'ukendt')                                      as hospital,
    coalesce(dep.region, 'ukendt')                                        as region,
    date_diff('year', p.birth_date, d.diagnosis_date)
        - case when strftime(d.diagnosis_date, '%m%d') < strftime(p.birth_date, '%m%d') then 1 else 0 end
                                                                          as age_at_diagnosis,
    p.sex,
    d.ecog_ps,
    d.comorbidity,
    d.hdt_evaluated,
    d.hdt_candidate
from stg_diagnoses as d
join stg_patients as p on p.pseudonym = d.pseudonym
left join stg_departments as dep on dep.department_code = d.department_code
where d.icd10 in ('DC900', 'DC901')
qualify row_number() over (partition by d.pseudonym order by d.diagnosis_date, d.icd10) = 1
