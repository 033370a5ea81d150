-- MM04 Melphalan dose by renal function (Rec 3, A; renal reduction B). Index date: start of
-- the first konditionering course containing melphalan. Population: such in-scope patients.
-- Expected mm04_reduced_mg_m2 mg/m² when CrCl < crcl_threshold_ml_min, else mm04_full_mg_m2;
-- given = the course's melphalan dose per m² per cycle; "≈" = within ± mm04_tolerance.
-- Not met: FULL_DOSE_DESPITE_LOW_CRCL, REDUCED_WITHOUT_RENAL_INDICATION, MELPHALAN_DOSE_OTHER
-- (a known dose near neither, whatever the CrCl). Unknown: CRCL_UNKNOWN before BSA_UNKNOWN;
-- DOSE_UNKNOWN (dose, unit or days missing; not named by the spec) after CRCL_UNKNOWN too.
-- Known values decide: a dose per m² only partly known (a row in mg without BSA) that already
-- exceeds ≈ 200 is MELPHALAN_DOSE_OTHER; with CrCl < 30 one above ≈ 140 cannot be met and is
-- FULL_DOSE_DESPITE_LOW_CRCL, the first code still possible.
with conditioning as (
    select d.pseudonym, d.department_code, r.course_id, r.start_date as index_date
    from int_index_diagnosis as d
    join int_course_regimens as r
        on r.pseudonym = d.pseudonym and r.phase = 'konditionering' and r.has_melphalan
    qualify row_number() over (partition by d.pseudonym order by r.start_date, r._line) = 1
),

described as (
    select
        p.*,
        m.dose_mg_m2,
        m.dose_mg_m2_at_least,
        m.dose_text_en,
        m.dose_shown_da, m.dose_shown_en,
        'melphalan ' || m.dose_unconverted_da                                                as unconverted_da,
        'melphalan ' || m.dose_unconverted_en                                                as unconverted_en,
        m.dose_unknown_reason,
        m.bsa_m2,
        m.bsa_measure_date,
        k.crcl_ml_min,
        k.creatinine_sample_date,
        k.creatinine_umol_l,
        k.age_at_sample,
        k.sex,
        k.weight_kg,
        k.weight_date,
        near(m.dose_mg_m2, getvariable('mm04_full_mg_m2'), getvariable('mm04_tolerance'))    as full_dose,
        near(m.dose_mg_m2, getvariable('mm04_reduced_mg_m2'), getvariable('mm04_tolerance')) as reduced_dose,
        k.crcl_ml_min < getvariable('crcl_threshold_ml_min')                                 as low_crcl,
        case when k.crcl_ml_min < getvariable('crcl_threshold_ml_min') then getvariable('mm04_reduced_mg_m2')
             when k.crcl_ml_min >= getvariable('crcl_threshold_ml_min') then getvariable('mm04_full_mg_m2')
        end                                                                                    as expected_mg_m2,
        crcl_text_da(k, getvariable('crcl_threshold_ml_min'))                                 as crcl_da,
        crcl_text_en(k, getvariable('crcl_threshold_ml_min'))                                 as crcl_en,
        judged_digits(m.dose_mg_m2, getvariable('mm04_full_mg_m2'), getvariable('mm04_reduced_mg_m2'),
                      getvariable('mm04_tolerance'))                                           as dose_digits,
        judged_digits(m.dose_mg_m2_at_least, getvariable('mm04_full_mg_m2'), getvariable('mm04_reduced_mg_m2'),
                      getvariable('mm04_tolerance'))                                           as at_least_digits,
        'melphalan ' || num_da(m.dose_mg_m2, dose_digits) || ' mg/m² givet (' || m.dose_shown_da || ')' as given_da,
        'melphalan ' || num_en(m.dose_mg_m2, dose_digits) || ' mg/m² given (' || m.dose_shown_en || ')' as given_en
    from conditioning as p
    left join int_course_doses as m on m.course_id = p.course_id and m.substance = 'melphalan'
    left join int_creatinine_clearance as k on k.course_id = p.course_id
),

texts as (
    select
        *,
        crcl_da || ' → melphalan ' || expected_mg_m2 || ' mg/m² forventet'                   as expected_da,
        crcl_en || ' → melphalan ' || expected_mg_m2 || ' mg/m² expected'                    as expected_en
    from described
)

select pseudonym, department_code, index_date,
    case
        when near(dose_mg_m2, expected_mg_m2, getvariable('mm04_tolerance')) then outcome('met', 'MET',
            expected_da || '; ' || given_da, expected_en || '; ' || given_en)
        when dose_mg_m2 is not null and not full_dose and not reduced_dose then outcome('not_met', 'MELPHALAN_DOSE_OTHER',
            given_da || ': hverken ≈ ' || getvariable('mm04_full_mg_m2') || ' eller ≈ '
                || getvariable('mm04_reduced_mg_m2') || ' mg/m²' || coalesce('; ' || expected_da, ''),
            given_en || ': neither ≈ ' || getvariable('mm04_full_mg_m2') || ' nor ≈ '
                || getvariable('mm04_reduced_mg_m2') || ' mg/m²' || coalesce('; ' || expected_en, ''))
        when full_dose and low_crcl then outcome('not_met', 'FULL_DOSE_DESPITE_LOW_CRCL',
            expected_da || '; ' || given_da, expected_en || '; ' || given_en)
        when reduced_dose and not low_crcl then outcome('not_met', 'REDUCED_WITHOUT_RENAL_INDICATION',
            expected_da || '; ' || given_da, expected_en || '; ' || given_en)
        -- known values decide: the rows that convert already exceed what is acceptable
        when dose_mg_m2 is null and dose_mg_m2_at_least > getvariable('mm04_full_mg_m2') * (1 + getvariable('mm04_tolerance'))
            then outcome('not_met', 'MELPHALAN_DOSE_OTHER',
                'melphalan mindst ' || num_da(dose_mg_m2_at_least, at_least_digits) || ' mg/m² givet (' || dose_shown_da || '): hverken ≈ '
                    || getvariable('mm04_full_mg_m2') || ' eller ≈ ' || getvariable('mm04_reduced_mg_m2') || ' mg/m²',
                'melphalan at least ' || num_en(dose_mg_m2_at_least, at_least_digits) || ' mg/m² given (' || dose_shown_en || '): neither ≈ '
                    || getvariable('mm04_full_mg_m2') || ' nor ≈ ' || getvariable('mm04_reduced_mg_m2') || ' mg/m²')
        when dose_mg_m2 is null and low_crcl
             and dose_mg_m2_at_least > getvariable('mm04_reduced_mg_m2') * (1 + getvariable('mm04_tolerance'))
            then outcome('not_met', 'FULL_DOSE_DESPITE_LOW_CRCL',
                expected_da || '; melphalan mindst ' || num_da(dose_mg_m2_at_least, at_least_digits) || ' mg/m² givet (' || dose_shown_da || ')',
                expected_en || '; melphalan at least ' || num_en(dose_mg_m2_at_least, at_least_digits) || ' mg/m² given (' || dose_shown_en || ')')
        when crcl_ml_min is null then outcome('unknown', 'CRCL_UNKNOWN',
            crcl_da || ' før konditionering ' || dato(index_date) || '; '
                || coalesce(given_da, unconverted_da),
            crcl_en || ' before conditioning on ' || iso(index_date) || '; '
                || coalesce(given_en, unconverted_en))
        when dose_unknown_reason = 'BSA_UNKNOWN' then outcome('unknown', 'BSA_UNKNOWN',
            expected_da || '; ' || unconverted_da, expected_en || '; ' || unconverted_en)
        else outcome('unknown', 'DOSE_UNKNOWN', expected_da || '; ' || unconverted_da, expected_en || '; ' || unconverted_en) end as o,
    {
        'conditioning_course': course_id,
        'crcl_ml_min': crcl_ml_min,
        'creatinine_sample_date': creatinine_sample_date,
        'creatinine_umol_l': creatinine_umol_l,
        'age_at_sample': age_at_sample,
        'sex': sex,
        'weight_kg': weight_kg,
        'weight_date': weight_date,
        'bsa_m2': bsa_m2,
        'bsa_measure_date': bsa_measure_date,
        'melphalan_mg_m2_given': round(dose_mg_m2, greatest(dose_digits, 2)),  -- on its side, as in the text
        'melphalan_mg_m2_expected': expected_mg_m2,
        'dose_given': dose_text_en
    }                                                                   as drill_down
from texts
