-- MM03 Cyclophosphamide priming 2 g/m² (Rec 3, A). Index date: first leukaferese.
-- Population: in-scope patients with a leukaferese. The priming: the mobilisering course
-- starting within mm03_priming_lookback_days before the first harvest (harvest day excluded:
-- the spec says "before", without the "(or on)" it writes elsewhere); of several, the latest
-- one containing cyclophosphamide, else the latest (a G-CSF-only course does not hide the priming).
-- Met: cyclophosphamide mm03_cyclophosphamide_mg_m2 mg/m² ± mm03_tolerance per cycle.
-- Not met: NO_PRIMING, PRIMING_WITHOUT_CYCLOPHOSPHAMIDE, PRIMING_DOSE. Unknown: BSA_UNKNOWN
-- (dose in mg or mg/kg without a BSA); DOSE_UNKNOWN when the dose, unit or days are missing
-- (a case the spec does not name; the code is MM07's for the same gap).
with population as (
    select d.pseudonym, d.department_code, t.first_leukaferese_date as index_date
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    where t.first_leukaferese_date is not null
),

priming as (
    select p.pseudonym, r.course_id, r.start_date, p.index_date - r.start_date as days_before_harvest
    from population as p
    join int_course_regimens as r
        on r.pseudonym = p.pseudonym
        and r.phase = 'mobilisering'
        and r.start_date >= p.index_date - getvariable('mm03_priming_lookback_days')
        and r.start_date < p.index_date
    qualify row_number() over (
        partition by p.pseudonym
        order by r.has_cyclophosphamide desc, r.start_date desc, r.course_id
    ) = 1
),

cyclophosphamide as (
    select course_id, dose_mg_m2, dose_text, dose_unknown_reason, bsa_m2, bsa_measure_date, height_cm, weight_kg
    from int_course_doses
    where substance = 'cyclophosphamide'
),

described as (
    select
        p.*,
        g.course_id,
        g.start_date                                                            as priming_start_date,
        g.days_before_harvest,
        k.course_id is not null                                                 as has_cyclophosphamide,
        k.dose_mg_m2,
        k.dose_text,
        k.dose_unknown_reason,
        k.bsa_m2,
        k.bsa_measure_date,
        k.height_cm,
        k.weight_kg,
        'mobilisering course ' || g.course_id || ' started ' || g.start_date || ', '
            || g.days_before_harvest || ' days before leukaferese ' || p.index_date      as facts,
        'cyclophosphamide ' || num_text(getvariable('mm03_cyclophosphamide_mg_m2'), 0) || ' mg/m² ± '
            || num_text(100 * getvariable('mm03_tolerance'), 1) || ' % expected'         as expected
    from population as p
    left join priming as g on g.pseudonym = p.pseudonym
    left join cyclophosphamide as k on k.course_id = g.course_id
),

judged as (
    select
        p.*,
        c.label,
        false as is_open,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when near(p.dose_mg_m2, getvariable('mm03_cyclophosphamide_mg_m2'), getvariable('mm03_tolerance'))
                then outcome('met', 'MET', p.facts || ': cyclophosphamide ' || num_text(p.dose_mg_m2, 0)
                    || ' mg/m² (' || p.dose_text || ')')
            when p.course_id is null then outcome('not_met', 'NO_PRIMING',
                'no mobilisering course started within ' || getvariable('mm03_priming_lookback_days')
                || ' days before leukaferese ' || p.index_date)
            when not p.has_cyclophosphamide then outcome('not_met', 'PRIMING_WITHOUT_CYCLOPHOSPHAMIDE',
                p.facts || ' contains no cyclophosphamide')
            when p.dose_mg_m2 is not null then outcome('not_met', 'PRIMING_DOSE',
                p.facts || ': cyclophosphamide ' || num_text(p.dose_mg_m2, 0) || ' mg/m² given ('
                || p.dose_text || '); ' || p.expected)
            when p.dose_unknown_reason = 'BSA_UNKNOWN' then outcome('unknown', 'BSA_UNKNOWN',
                p.facts || ': cyclophosphamide ' || p.dose_text || ' and no height and weight within '
                || getvariable('bsa_lookback_days') || ' days before the course: BSA unknown')
            else outcome('unknown', 'DOSE_UNKNOWN',
                p.facts || ': cyclophosphamide ' || p.dose_text || ': dose per m² unknown')
        end as o
    from described as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM03'
)

select
    j.pseudonym,
    'MM03'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'priming_course', j.course_id,
        'priming_start_date', j.priming_start_date,
        'days_before_harvest', j.days_before_harvest,
        'cyclophosphamide_mg_m2_given', j.dose_mg_m2,
        'cyclophosphamide_mg_m2_expected', getvariable('mm03_cyclophosphamide_mg_m2'),
        'dose_given', j.dose_text,
        'bsa_m2', j.bsa_m2,
        'bsa_measure_date', j.bsa_measure_date,
        'height_cm', j.height_cm,
        'weight_kg', j.weight_kg
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
