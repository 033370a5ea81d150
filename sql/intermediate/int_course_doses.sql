-- Dose per cycle of each drug in each course (indicators.md, "Course dose"): the sum over the
-- drug's rows of dose per administration × administration days, and the same per m²:
-- g/m2 × 1000, mg/m2 as is, mg ÷ BSA, mg/kg × weight ÷ BSA. The weight for mg/kg is the one
-- the course's BSA was computed from (the same anthropometrics row).
-- dose_mg_m2 is NULL unless every row converts; dose_unknown_reason says why:
-- DOSE_UNKNOWN (dose, unit or days missing) before BSA_UNKNOWN (mg or mg/kg without a BSA).
-- dose_mg_m2_at_least: the rows that convert, summed: every dose is positive, so the course
-- dose is at least that much even when a row cannot be converted (known values decide).
-- Only the alkylators, whose dose per m² the indicators judge (cyclophosphamide priming,
-- MM03; melphalan conditioning, MM04): the other half million drug rows of a national
-- delivery need no per-m² dose.
with drug_rows as (
    select
        e.*,
        b.bsa_m2,
        b.bsa_measure_date,
        b.height_cm,
        b.weight_kg,
        e.dose is null or e.dose_unit is null or e.n_days is null as dose_missing,
        e.dose_unit in ('mg', 'mg/kg') and b.bsa_m2 is null       as bsa_missing,
        case e.dose_unit
            when 'g/m2'  then e.dose * 1000
            when 'mg/m2' then e.dose
            when 'mg'    then e.dose / b.bsa_m2
            when 'mg/kg' then e.dose * b.weight_kg / b.bsa_m2
        end * e.n_days                                              as row_mg_m2,
        num_da(e.dose, 2) || ' ' || coalesce(unit_text(e.dose_unit), '(enhed mangler)')
            || ' × ' || coalesce(e.n_days || case when e.n_days = 1 then ' dag' else ' dage' end, '(dage mangler)')
                                                                    as row_text_da,
        num_en(e.dose, 2) || ' ' || coalesce(unit_text(e.dose_unit), '(unit missing)')
            || ' × ' || coalesce(e.n_days::varchar || ' d', '(days missing)')           as row_text_en
    from int_drug_exposures as e
    left join int_body_surface_area as b on b.course_id = e.course_id
    where e.drug_class = 'alkylator'
)

select
    pseudonym,
    course_id,
    phase,
    start_date,
    atc,
    substance,
    drug_class,
    count(*)                                                         as n_rows,
    -- list + list_sort rather than ordered/distinct string_agg: the same text, several times faster
    array_to_string(list_transform(list_sort(list({'days': days, 'text': row_text_da})), lambda r: r.text), ' + ')
                                                                     as dose_text_da,
    array_to_string(list_transform(list_sort(list({'days': days, 'text': row_text_en})), lambda r: r.text), ' + ')
                                                                     as dose_text_en,
    array_to_string(list_sort(list_distinct(list(dose_unit))), ', ') as dose_units,
    case when not bool_or(row_mg_m2 is null) then sum(row_mg_m2) end as dose_mg_m2,
    coalesce(sum(row_mg_m2), 0)                                      as dose_mg_m2_at_least,
    case when bool_or(dose_missing) then 'DOSE_UNKNOWN'
         when bool_or(bsa_missing) then 'BSA_UNKNOWN' end            as dose_unknown_reason,
    -- the dose text the indicators show beside a dose per m²: with the BSA (and weight) a dose in
    -- mg or mg/kg was converted with (the drill-down shows those as values of their own)
    dose_text_da || case when bool_or(dose_unit in ('mg', 'mg/kg')) and any_value(bsa_m2) is not null then
        '; BSA ' || num_da(any_value(bsa_m2), 2) || ' m² ' || dato(any_value(bsa_measure_date))
        || case when bool_or(dose_unit = 'mg/kg') then ', vægt ' || num_da(any_value(weight_kg), 2) || ' kg' else '' end
        else '' end                                                  as dose_shown_da,
    dose_text_en || case when bool_or(dose_unit in ('mg', 'mg/kg')) and any_value(bsa_m2) is not null then
        '; BSA ' || num_en(any_value(bsa_m2), 2) || ' m² ' || iso(any_value(bsa_measure_date))
        || case when bool_or(dose_unit = 'mg/kg') then ', weight ' || num_en(any_value(weight_kg), 2) || ' kg' else '' end
        else '' end                                                  as dose_shown_en,
    -- the dose text where its dose per m² is unknown, with why (MM03, MM04)
    dose_text_da || case dose_unknown_reason when 'BSA_UNKNOWN' then no_bsa_da()
                                             when 'DOSE_UNKNOWN' then ': dosis pr. m² ukendt' else '' end
                                                                     as dose_unconverted_da,
    dose_text_en || case dose_unknown_reason when 'BSA_UNKNOWN' then no_bsa_en()
                                             when 'DOSE_UNKNOWN' then ': dose per m² unknown' else '' end
                                                                     as dose_unconverted_en,
    any_value(bsa_m2)                                                as bsa_m2,
    any_value(bsa_measure_date)                                      as bsa_measure_date,
    any_value(height_cm)                                             as height_cm,
    any_value(weight_kg)                                             as weight_kg
from drug_rows
group by pseudonym, course_id, phase, start_date, atc, substance, drug_class
