-- Drugs per course. ATC as delivered (upper-case); old codes are mapped in int_drug_exposures.
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select
        *,
        t_course_id                    as course_id,
        upper(t_atc)                   as atc,
        t_drug_name                    as drug_name,
        to_dec(t_dose)                 as dose,
        lower(t_dose_unit)             as dose_unit,
        replace(t_days, ' ', '')       as days
    from fields
),

-- a delivery writes few distinct day lists: each is read once
day_lists as (
    select days, days_valid(days) as days_ok, days_count(days) as n_days
    from (select distinct days from typed where days is not null)
)

select
    _line, course_id, atc, drug_name, dose, dose_unit, days,
    n_days,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_number('dose') }},
        rule(not regexp_full_match(atc, '[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}'), 'INVALID_CODE',
             'atc ' || shown(t_atc) || ' is not a 7-character ATC code'),
        {{ r.bad_code('dose_unit', 'is not mg, mg/m2, g/m2 or mg/kg') }},
        rule(days is not null and not days_ok, 'INVALID_CODE',
             'days ' || shown(t_days) || ' is not a list of days like 1-21 or 1,4,8,11'),
        {{ r.out_of_range('dose', 'is not a positive dose') }}
    ) as _rule
from typed
left join day_lists using (days)
