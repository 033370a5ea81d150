-- MM07 Lenalidomide maintenance dose (Rec 5, A). Index date: start of the first vedligehold
-- course with lenalidomide. Population: such in-scope patients.
-- Met: lenalidomide mm07_dose_mg mg per administration, days mm07_days, cycle length
-- mm07_cycle_length_days. Not met: DOSE, SCHEDULE. Unknown: DOSE_UNKNOWN, SCHEDULE_UNKNOWN.
-- "Dose is judged first" is read as a sequence: the dose (missing → DOSE_UNKNOWN, other →
-- DOSE), then the schedule (a known wrong part → SCHEDULE, else a missing part →
-- SCHEDULE_UNKNOWN). The spec lets a known deviation override an unknown only where it says
-- so (MM04), not here. A dose in another unit than mg is another dose.
with first_course as (
    select d.pseudonym, d.department_code, r.course_id, r.start_date as index_date, r.cycle_length_days
    from int_index_diagnosis as d
    join int_course_regimens as r
        on r.pseudonym = d.pseudonym and r.phase = 'vedligehold' and r.has_lenalidomide
    qualify row_number() over (partition by d.pseudonym order by r.start_date, r.course_id) = 1
),

lenalidomide as (
    select
        course_id,
        bool_or(dose is null or dose_unit is null)                                   as dose_missing,
        case when not bool_or(dose is null or dose_unit is null)
             then bool_and(dose_unit = 'mg' and abs(dose - getvariable('mm07_dose_mg')) < 1e-9) end
                                                                                     as dose_ok,
        case when not bool_or(days is null) then string_agg(days, ',' order by days) end as days,
        string_agg(num_text(dose, 2) || ' ' || coalesce(dose_unit, '(unit missing)'), ' + ' order by days)
                                                                                     as dose_text
    from int_drug_exposures
    where substance = 'lenalidomide'
    group by course_id
),

described as (
    select
        p.*,
        l.dose_text,
        l.days,
        l.dose_missing,
        l.dose_ok,
        -- false when a known part is wrong, NULL when no part is wrong but one is missing
        l.days = getvariable('mm07_days')
            and p.cycle_length_days = getvariable('mm07_cycle_length_days')           as schedule_ok,
        'lenalidomide ' || coalesce(l.dose_text, 'dose missing') || ', days ' || coalesce(l.days, '(missing)')
            || ', ' || coalesce(p.cycle_length_days::varchar, '(missing)') || '-day cycles (course '
            || p.course_id || ' started ' || p.index_date || ')'                       as facts,
        getvariable('mm07_dose_mg') || ' mg, days ' || getvariable('mm07_days') || ', '
            || getvariable('mm07_cycle_length_days') || '-day cycles expected'         as expected
    from first_course as p
    join lenalidomide as l on l.course_id = p.course_id
),

judged as (
    select
        p.*,
        c.label,
        false as is_open,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when p.dose_ok and p.schedule_ok then outcome('met', 'MET', p.facts)
            when p.dose_missing then outcome('unknown', 'DOSE_UNKNOWN', p.facts || '; the dose cannot be judged')
            when not p.dose_ok then outcome('not_met', 'DOSE', p.facts || '; ' || p.expected)
            when not p.schedule_ok then outcome('not_met', 'SCHEDULE', p.facts || '; ' || p.expected)
            else outcome('unknown', 'SCHEDULE_UNKNOWN', p.facts || '; the schedule cannot be judged')
        end as o
    from described as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM07'
)

select
    j.pseudonym,
    'MM07'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'maintenance_course', j.course_id,
        'lenalidomide_dose', j.dose_text,
        'days', j.days,
        'cycle_length_days', j.cycle_length_days,
        'dose_expected_mg', getvariable('mm07_dose_mg'),
        'days_expected', getvariable('mm07_days'),
        'cycle_length_days_expected', getvariable('mm07_cycle_length_days')
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
