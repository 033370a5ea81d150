-- The index diagnosis per patient (indicators.md, "Index diagnosis"): the earliest diagnoses
-- row with icd10 DC900 or DC901, with the patient, the responsible department's hospital
-- and region, and the age at diagnosis in completed years. Patients without such a row are
-- out of scope and get no indicator rows.
-- Two in-scope rows on the same earliest date (DC900 and DC901) are resolved by icd10 order,
-- so DC900 wins: the choice only affects which row's clinical fields are read.
with myeloma_diagnoses as (
    select *
    from stg_diagnoses
    where icd10 in ('DC900', 'DC901')
    qualify row_number() over (partition by pseudonym order by diagnosis_date, icd10) = 1
)

select
    d.pseudonym,
    d.diagnosis_date,
    d.icd10,
    d.department_code,
    dep.department_name,
    dep.hospital,
    dep.region,
    p.sex,
    p.birth_date,
    p.death_date,
    age_years(p.birth_date, d.diagnosis_date) as age_at_diagnosis,
    d.ecog_ps,
    d.comorbidity,
    d.iss_stage,
    d.extramedullary,
    d.hdt_evaluated,
    d.hdt_evaluation_date,
    d.hdt_candidate,
    d.hdt_not_candidate_reason
from myeloma_diagnoses as d
join stg_patients as p on p.pseudonym = d.pseudonym
left join stg_departments as dep on dep.department_code = d.department_code
