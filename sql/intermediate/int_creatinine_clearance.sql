-- Creatinine clearance at the start of each conditioning (konditionering, MM04) and
-- maintenance (vedligehold, MM07) course (indicators.md, "Creatinine clearance"): Cockcroft–Gault from the latest kreatinin sample and the latest
-- weight, each within crcl_lookback_days before (or on) the course start; age in completed
-- years on the sample date; creatinine µmol/L ÷ 88,4 = mg/dL. Either input missing: NULL.
-- Never rounded: the indicator compares the exact value with the threshold.
with conditioning as (
    select pseudonym, course_id, start_date
    from stg_treatment_courses
    where phase in ('konditionering', 'vedligehold')
),

creatinine as (
    select
        c.course_id,
        l.sample_date,
        l.value,
        l.unit,
        l.value_std as creatinine_umol_l
    from conditioning as c
    join stg_labs as l
        on l.pseudonym = c.pseudonym
        and l.analysis = 'kreatinin'
        and l.sample_date between c.start_date - getvariable('crcl_lookback_days') and c.start_date
    qualify row_number() over (partition by c.course_id order by l.sample_date desc) = 1
),

weight as (
    select
        c.course_id,
        a.measure_date,
        a.weight_kg
    from conditioning as c
    join stg_anthropometrics as a
        on a.pseudonym = c.pseudonym
        and a.weight_kg is not null
        and a.measure_date between c.start_date - getvariable('crcl_lookback_days') and c.start_date
    qualify row_number() over (partition by c.course_id order by a.measure_date desc) = 1
),

inputs as (
    select
        c.pseudonym,
        c.course_id,
        c.start_date,
        p.sex,
        p.birth_date,
        k.sample_date                                                      as creatinine_sample_date,
        k.value                                                            as creatinine_value,
        k.unit                                                             as creatinine_unit,
        k.creatinine_umol_l,
        k.creatinine_umol_l / getvariable('creatinine_umol_per_mg_dl')    as creatinine_mg_dl,
        age_years(p.birth_date, k.sample_date)                             as age_at_sample,
        w.measure_date                                                     as weight_date,
        w.weight_kg
    from conditioning as c
    join stg_patients as p on p.pseudonym = c.pseudonym
    left join creatinine as k on k.course_id = c.course_id
    left join weight as w on w.course_id = c.course_id
)

select
    *,
    crcl_cockcroft_gault(age_at_sample, weight_kg, sex, creatinine_mg_dl) as crcl_ml_min
from inputs
