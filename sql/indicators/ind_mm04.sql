-- MM04 Melphalan dose by renal function (Rec 3, A; renal reduction B). Index date: start of
-- the first konditionering course containing melphalan. Population: such in-scope patients.
-- Expected mm04_reduced_mg_m2 mg/m² when CrCl < crcl_threshold_ml_min, else mm04_full_mg_m2;
-- given = the course's melphalan dose per m² per cycle; "≈" = within ± mm04_tolerance.
-- Not met: FULL_DOSE_DESPITE_LOW_CRCL, REDUCED_WITHOUT_RENAL_INDICATION, MELPHALAN_DOSE_OTHER
-- (a known dose near neither, whatever the CrCl). Unknown: CRCL_UNKNOWN before BSA_UNKNOWN;
-- DOSE_UNKNOWN (dose, unit or days missing; not named by the spec) after CRCL_UNKNOWN too.
with conditioning as (
    select
        d.pseudonym,
        d.department_code,
        r.course_id,
        r.start_date as index_date
    from int_index_diagnosis as d
    join int_course_regimens as r
        on r.pseudonym = d.pseudonym and r.phase = 'konditionering' and r.has_melphalan
    qualify row_number() over (partition by d.pseudonym order by r.start_date, r.course_id) = 1
),

described as (
    select
        p.*,
        m.dose_mg_m2,
        m.dose_text,
        m.dose_unknown_reason,
        m.bsa_m2,
        m.bsa_measure_date,
        k.crcl_ml_min,
        k.creatinine_sample_date,
        k.creatinine_value,
        k.creatinine_unit,
        k.creatinine_umol_l,
        k.age_at_sample,
        k.weight_kg,
        k.weight_date,
        k.sex,
        near(m.dose_mg_m2, getvariable('mm04_full_mg_m2'), getvariable('mm04_tolerance'))    as full_dose,
        near(m.dose_mg_m2, getvariable('mm04_reduced_mg_m2'), getvariable('mm04_tolerance')) as reduced_dose,
        case when k.crcl_ml_min < getvariable('crcl_threshold_ml_min') then getvariable('mm04_reduced_mg_m2')
             when k.crcl_ml_min >= getvariable('crcl_threshold_ml_min') then getvariable('mm04_full_mg_m2')
        end                                                                                    as expected_mg_m2,
        -- shown to 1 decimal, cut (not rounded) below the threshold so that 29,96 reads
        -- "29,9 < 30", never "30 < 30"
        'CrCl ' || num_text(case when k.crcl_ml_min < getvariable('crcl_threshold_ml_min')
                                 then floor(k.crcl_ml_min * 10) / 10 else k.crcl_ml_min end, 1) || ' ml/min '
            || case when k.crcl_ml_min < getvariable('crcl_threshold_ml_min') then '<' else '≥' end
            || ' ' || getvariable('crcl_threshold_ml_min')
            || ' (creatinine ' || num_text(k.creatinine_value, 2) || ' ' || k.creatinine_unit
            || ' on ' || k.creatinine_sample_date || ', age ' || k.age_at_sample
            || ', weight ' || num_text(k.weight_kg, 1) || ' kg on ' || k.weight_date || ')'   as crcl_text,
        'melphalan ' || num_text(m.dose_mg_m2, 0) || ' mg/m² given (' || m.dose_text || ')'     as given_text
    from conditioning as p
    left join int_course_doses as m on m.course_id = p.course_id and m.substance = 'melphalan'
    left join int_creatinine_clearance as k on k.course_id = p.course_id
),

judged as (
    select
        p.*,
        c.label,
        false as is_open,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when near(p.dose_mg_m2, p.expected_mg_m2, getvariable('mm04_tolerance')) then outcome('met', 'MET',
                p.crcl_text || ' → melphalan ' || p.expected_mg_m2 || ' mg/m² expected; ' || p.given_text)
            when p.dose_mg_m2 is not null and not p.full_dose and not p.reduced_dose
                then outcome('not_met', 'MELPHALAN_DOSE_OTHER',
                    p.given_text || ': neither ≈ ' || getvariable('mm04_full_mg_m2') || ' nor ≈ '
                    || getvariable('mm04_reduced_mg_m2') || ' mg/m²'
                    || coalesce('; ' || p.crcl_text || ' → ' || p.expected_mg_m2 || ' mg/m² expected', ''))
            when p.full_dose and p.crcl_ml_min < getvariable('crcl_threshold_ml_min')
                then outcome('not_met', 'FULL_DOSE_DESPITE_LOW_CRCL',
                    p.crcl_text || ' → melphalan ' || p.expected_mg_m2 || ' mg/m² expected; ' || p.given_text)
            when p.reduced_dose and p.crcl_ml_min >= getvariable('crcl_threshold_ml_min')
                then outcome('not_met', 'REDUCED_WITHOUT_RENAL_INDICATION',
                    p.crcl_text || ' → melphalan ' || p.expected_mg_m2 || ' mg/m² expected; ' || p.given_text)
            when p.crcl_ml_min is null then outcome('unknown', 'CRCL_UNKNOWN',
                'CrCl unknown: ' || concat_ws(' and ',
                    case when p.creatinine_sample_date is null then 'no kreatinin' end,
                    case when p.weight_date is null then 'no weight' end,
                    case when p.creatinine_sample_date is not null and p.weight_date is not null
                         then 'sex not recorded' end)
                || ' within ' || getvariable('crcl_lookback_days') || ' days before conditioning on '
                || p.index_date || coalesce('; ' || p.given_text, '; melphalan ' || p.dose_text))
            when p.dose_unknown_reason = 'BSA_UNKNOWN' then outcome('unknown', 'BSA_UNKNOWN',
                p.crcl_text || ' → melphalan ' || p.expected_mg_m2 || ' mg/m² expected; melphalan '
                || p.dose_text || ' and no height and weight within ' || getvariable('bsa_lookback_days')
                || ' days before the course: BSA unknown')
            else outcome('unknown', 'DOSE_UNKNOWN',
                p.crcl_text || ' → melphalan ' || p.expected_mg_m2 || ' mg/m² expected; melphalan '
                || p.dose_text || ': dose per m² unknown')
        end as o
    from described as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM04'
)

select
    j.pseudonym,
    'MM04'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'conditioning_course', j.course_id,
        'crcl_ml_min', j.crcl_ml_min,
        'creatinine_sample_date', j.creatinine_sample_date,
        'creatinine_value', j.creatinine_value,
        'creatinine_unit', j.creatinine_unit,
        'creatinine_umol_l', j.creatinine_umol_l,
        'age_at_sample', j.age_at_sample,
        'sex', j.sex,
        'weight_kg', j.weight_kg,
        'weight_date', j.weight_date,
        'bsa_m2', j.bsa_m2,
        'bsa_measure_date', j.bsa_measure_date,
        'melphalan_mg_m2_given', j.dose_mg_m2,
        'melphalan_mg_m2_expected', j.expected_mg_m2,
        'dose_given', j.dose_text
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
