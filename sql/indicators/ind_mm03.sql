-- MM03 Cyclophosphamide priming 2 g/m² (Rec 3, A). Index date: first leukaferese.
-- Population: in-scope patients with a leukaferese. The priming: the mobilisering course
-- starting within mm03_priming_lookback_days before the first harvest (day −30…−1); of
-- several, the latest one containing cyclophosphamide, else the latest (a G-CSF-only course
-- does not hide the priming). Ties on the start date: the row nearer the top of the file.
-- Met: cyclophosphamide mm03_cyclophosphamide_mg_m2 mg/m² ± mm03_tolerance per cycle.
-- Not met: NO_PRIMING, PRIMING_WITHOUT_CYCLOPHOSPHAMIDE, PRIMING_DOSE. Unknown: BSA_UNKNOWN
-- (dose in mg or mg/kg without a BSA); DOSE_UNKNOWN when the dose, unit or days are missing
-- (a case the spec does not name; the code is MM07's for the same gap). Known values decide:
-- the rows that convert already above the tolerance → PRIMING_DOSE.
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
        order by r.has_cyclophosphamide desc, r.start_date desc, r._line
    ) = 1
),

described as (
    select
        p.*,
        g.course_id,
        g.start_date                                                                  as priming_start_date,
        g.days_before_harvest,
        k.course_id is not null                                                       as has_cyclophosphamide,
        k.dose_mg_m2,
        k.dose_mg_m2_at_least,
        k.dose_text_en,
        k.dose_shown_da, k.dose_shown_en,
        k.dose_unconverted_da, k.dose_unconverted_en,
        judged_digits(k.dose_mg_m2, getvariable('mm03_cyclophosphamide_mg_m2'),
                      getvariable('mm03_cyclophosphamide_mg_m2'), getvariable('mm03_tolerance')) as dose_digits,
        judged_digits(k.dose_mg_m2_at_least, getvariable('mm03_cyclophosphamide_mg_m2'),
                      getvariable('mm03_cyclophosphamide_mg_m2'), getvariable('mm03_tolerance')) as at_least_digits,
        k.dose_unknown_reason,
        k.bsa_m2,
        k.bsa_measure_date,
        k.height_cm,
        k.weight_kg,
        'mobiliseringsforløb ' || dato(g.start_date) || ', ' || g.days_before_harvest
            || ' dage før leukaferese ' || dato(p.index_date)                          as facts_da,
        'mobilisation course ' || g.course_id || ' started ' || iso(g.start_date) || ', '
            || g.days_before_harvest || ' days before leukapheresis ' || iso(p.index_date) as facts_en,
        'cyclophosphamid ' || num_da(getvariable('mm03_cyclophosphamide_mg_m2'), 0) || ' mg/m² ± '
            || num_da(100 * getvariable('mm03_tolerance'), 1) || ' % forventet'        as expected_da,
        'cyclophosphamide ' || num_en(getvariable('mm03_cyclophosphamide_mg_m2'), 0) || ' mg/m² ± '
            || num_en(100 * getvariable('mm03_tolerance'), 1) || ' % expected'         as expected_en
    from population as p
    left join priming as g on g.pseudonym = p.pseudonym
    left join int_course_doses as k on k.course_id = g.course_id and k.substance = 'cyclophosphamide'
)

select pseudonym, department_code, index_date,
    case
        when near(dose_mg_m2, getvariable('mm03_cyclophosphamide_mg_m2'), getvariable('mm03_tolerance'))
            then outcome('met', 'MET',
                facts_da || ': cyclophosphamid ' || num_da(dose_mg_m2, dose_digits) || ' mg/m² (' || dose_shown_da || ')',
                facts_en || ': cyclophosphamide ' || num_en(dose_mg_m2, dose_digits) || ' mg/m² (' || dose_shown_en || ')')
        when course_id is null then outcome('not_met', 'NO_PRIMING',
            'intet mobiliseringsforløb startet inden for ' || getvariable('mm03_priming_lookback_days')
                || ' dage før leukaferese ' || dato(index_date),
            'no mobilisation course started within ' || getvariable('mm03_priming_lookback_days')
                || ' days before leukapheresis ' || iso(index_date))
        when not has_cyclophosphamide then outcome('not_met', 'PRIMING_WITHOUT_CYCLOPHOSPHAMIDE',
            facts_da || ' uden cyclophosphamid', facts_en || ' contains no cyclophosphamide')
        when dose_mg_m2 is not null then outcome('not_met', 'PRIMING_DOSE',
            facts_da || ': cyclophosphamid ' || num_da(dose_mg_m2, dose_digits) || ' mg/m² givet (' || dose_shown_da
                || '); ' || expected_da,
            facts_en || ': cyclophosphamide ' || num_en(dose_mg_m2, dose_digits) || ' mg/m² given (' || dose_shown_en
                || '); ' || expected_en)
        when dose_mg_m2_at_least > getvariable('mm03_cyclophosphamide_mg_m2') * (1 + getvariable('mm03_tolerance'))
            then outcome('not_met', 'PRIMING_DOSE',
                facts_da || ': cyclophosphamid mindst ' || num_da(dose_mg_m2_at_least, at_least_digits) || ' mg/m² givet ('
                    || dose_shown_da || '); ' || expected_da,
                facts_en || ': cyclophosphamide at least ' || num_en(dose_mg_m2_at_least, at_least_digits) || ' mg/m² given ('
                    || dose_shown_en || '); ' || expected_en)
        when dose_unknown_reason = 'BSA_UNKNOWN' then outcome('unknown', 'BSA_UNKNOWN',
            facts_da || ': cyclophosphamid ' || dose_unconverted_da, facts_en || ': cyclophosphamide ' || dose_unconverted_en)
        else outcome('unknown', 'DOSE_UNKNOWN', facts_da || ': cyclophosphamid ' || dose_unconverted_da,
                     facts_en || ': cyclophosphamide ' || dose_unconverted_en) end as o,
    {
        'priming_course': course_id,
        'priming_start_date': priming_start_date,
        'days_before_harvest': days_before_harvest,
        'cyclophosphamide_mg_m2_given': round(dose_mg_m2, greatest(dose_digits, 2)),  -- on its side, as in the text
        'cyclophosphamide_mg_m2_expected': getvariable('mm03_cyclophosphamide_mg_m2'),
        'dose_given': dose_text_en,
        'bsa_m2': bsa_m2,
        'bsa_measure_date': bsa_measure_date,
        'height_cm': height_cm,
        'weight_kg': weight_kg
    }                                                                   as drill_down
from described
