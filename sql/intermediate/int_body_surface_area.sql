-- Body-surface area per treatment course (indicators.md, "Body surface area"): Mosteller from
-- the latest anthropometrics row with both height and weight within bsa_lookback_days before
-- (or on) the course start. No such row: BSA unknown (NULL), the course is still listed.
with measurements as (
    select pseudonym, measure_date, height_cm, weight_kg
    from stg_anthropometrics
    where height_cm is not null and weight_kg is not null
),

latest as (
    select
        c.course_id,
        m.measure_date,
        m.height_cm,
        m.weight_kg
    from stg_treatment_courses as c
    join measurements as m
        on m.pseudonym = c.pseudonym
        and m.measure_date between c.start_date - getvariable('bsa_lookback_days') and c.start_date
    qualify row_number() over (partition by c.course_id order by m.measure_date desc) = 1
)

select
    c.pseudonym,
    c.course_id,
    c.start_date,
    l.measure_date                            as bsa_measure_date,
    l.height_cm,
    l.weight_kg,
    bsa_mosteller(l.height_cm, l.weight_kg)   as bsa_m2
from stg_treatment_courses as c
left join latest as l on l.course_id = c.course_id
