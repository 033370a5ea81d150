-- MM07 Lenalidomide maintenance dose (Rec 5, A). Index date: start of the first vedligehold
-- course with lenalidomide after the last asct. Population: such in-scope patients
-- (maintenance without a transplant is outside the guideline).
-- Met: lenalidomide mm07_dose_mg mg per administration, days mm07_days, cycle length
-- mm07_cycle_length_days. Justified (RENAL_DOSE_REDUCTION): a dose below mm07_dose_mg mg with
-- CrCl < mm07_renal_crcl_ml_min at the course start (int_creatinine_clearance; unknown CrCl
-- justifies nothing); the schedule is then not judged. Not met: DOSE, then SCHEDULE (the dose
-- is judged first; a dose in another unit than mg is another dose). Unknown: DOSE_UNKNOWN,
-- SCHEDULE_UNKNOWN — only while the missing values could still make the row met or justified:
-- a known wrong schedule (days 1-28 without a cycle length) is SCHEDULE whatever the dose,
-- unless the dose is missing and CrCl < mm07_renal_crcl_ml_min (a renal reduction is then
-- still possible: DOSE_UNKNOWN). The days compare as the set of days they name.
with first_course as (
    select d.pseudonym, d.department_code, r.course_id, r.start_date as index_date, r.cycle_length_days,
           t.last_asct_date
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    join int_course_regimens as r
        on r.pseudonym = d.pseudonym and r.phase = 'vedligehold' and r.has_lenalidomide
        and r.start_date > t.last_asct_date
    qualify row_number() over (partition by d.pseudonym order by r.start_date, r._line) = 1
),

lenalidomide_rows as (
    select course_id, dose, dose_unit, days
    from int_drug_exposures
    where substance = 'lenalidomide'
      and course_id in (select course_id from first_course)  -- only the courses judged
),

-- the days a text names, worked out once per distinct text (a handful) rather than per row
day_lists as (
    select days, day_numbers(days) as day_list
    from (select distinct days from lenalidomide_rows where days is not null)
),

lenalidomide as (
    select
        course_id,
        bool_or(dose is null or dose_unit is null)                                        as dose_missing,
        bool_and(dose_unit = 'mg' and abs(dose - getvariable('mm07_dose_mg')) < 1e-9)     as dose_ok,
        bool_and(dose_unit = 'mg' and dose < getvariable('mm07_dose_mg') - 1e-9)          as dose_below,
        case when count(days) = count(*) then string_agg(days, ',' order by days) end     as days,
        case when count(days) = count(*)
             then list_sort(list_distinct(flatten(list(day_list)))) end                   as day_list,
        string_agg(num_da(dose, 2) || ' ' || coalesce(unit_text(dose_unit), '(enhed mangler)'), ' + ' order by days)
                                                                                          as dose_da,
        string_agg(num_en(dose, 2) || ' ' || coalesce(unit_text(dose_unit), '(unit missing)'), ' + ' order by days)
                                                                                          as dose_en
    from lenalidomide_rows
    left join day_lists using (days)
    group by course_id
),

described as (
    select
        p.*,
        l.* exclude (course_id, day_list),
        l.day_list,
        k.crcl_ml_min,
        k.crcl_ml_min < getvariable('mm07_renal_crcl_ml_min')                             as renal_reduction,
        -- false when a known part is wrong, NULL when none is wrong but one is missing
        l.day_list = day_numbers(getvariable('mm07_days'))
            and p.cycle_length_days = getvariable('mm07_cycle_length_days')               as schedule_ok,
        'lenalidomid ' || coalesce(l.dose_da, 'dosis mangler') || ', dag ' || coalesce(l.days, '(mangler)')
            || ', serier à ' || coalesce(p.cycle_length_days::varchar, '(mangler)') || ' dage (forløb startet '
            || dato(p.index_date) || ', dag ' || (p.index_date - p.last_asct_date) || ' efter HDT)'   as facts_da,
        'lenalidomide ' || coalesce(l.dose_en, 'dose missing') || ', days ' || coalesce(l.days, '(missing)')
            || ', ' || coalesce(p.cycle_length_days::varchar, '(missing)') || '-day cycles (course started '
            || iso(p.index_date) || ', day ' || (p.index_date - p.last_asct_date) || ' after ASCT)'   as facts_en,
        getvariable('mm07_dose_mg') || ' mg dag ' || getvariable('mm07_days') || ' i serier à '
            || getvariable('mm07_cycle_length_days') || ' dage forventet'                  as expected_da,
        getvariable('mm07_dose_mg') || ' mg, days ' || getvariable('mm07_days') || ', '
            || getvariable('mm07_cycle_length_days') || '-day cycles expected'             as expected_en,
        -- unknown: the lookback counts back from the course start, as MM04's from the conditioning
        crcl_text_da(k, getvariable('mm07_renal_crcl_ml_min'))
            || case when k.crcl_ml_min is null then ' før forløbsstart ' || dato(p.index_date) else '' end as crcl_da,
        crcl_text_en(k, getvariable('mm07_renal_crcl_ml_min'))
            || case when k.crcl_ml_min is null then ' before the course start ' || iso(p.index_date) else '' end as crcl_en
    from first_course as p
    join lenalidomide as l on l.course_id = p.course_id
    left join int_creatinine_clearance as k on k.course_id = p.course_id
)

select pseudonym, department_code, index_date,
    case
        when dose_ok and schedule_ok then outcome('met', 'MET', facts_da, facts_en)
        when not dose_missing and dose_below and renal_reduction then outcome('justified', 'RENAL_DOSE_REDUCTION',
            facts_da || '; ' || crcl_da || ': dosisreduktion pga. nyrefunktion',
            facts_en || '; ' || crcl_en || ': renal dose reduction')
        when not dose_missing and not dose_ok then outcome('not_met', 'DOSE',
            facts_da || '; ' || expected_da || case when dose_below then '; ' || crcl_da else '' end,
            facts_en || '; ' || expected_en || case when dose_below then '; ' || crcl_en else '' end)
        -- a known wrong schedule decides, unless a missing dose could still be a renal reduction
        when not schedule_ok and not (dose_missing and coalesce(renal_reduction, false)) then outcome('not_met', 'SCHEDULE',
            facts_da || '; ' || expected_da, facts_en || '; ' || expected_en)
        when dose_missing then outcome('unknown', 'DOSE_UNKNOWN', facts_da || '; dosis kan ikke vurderes',
            facts_en || '; the dose cannot be judged')
        else outcome('unknown', 'SCHEDULE_UNKNOWN', facts_da || '; behandlingsplan kan ikke vurderes',
            facts_en || '; the schedule cannot be judged')
    end                                                                 as o,
    {
        'maintenance_course': course_id,
        'lenalidomide_dose': dose_en,
        'days': days,
        'cycle_length_days': cycle_length_days,
        'crcl_ml_min': crcl_ml_min,
        'dose_expected_mg': getvariable('mm07_dose_mg'),
        'days_expected': getvariable('mm07_days'),
        'cycle_length_days_expected': getvariable('mm07_cycle_length_days')
    }                                                                   as drill_down
from described
