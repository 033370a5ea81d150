-- Drugs per course. ATC as delivered (upper-case); old codes are mapped in int_drug_exposures.
select
    _line, _record,
    na(course_id)                  as course_id,
    upper(na(atc))                 as atc,
    na(drug_name)                  as drug_name,
    parse_dec(dose)                as dose,
    code(dose_unit)                as dose_unit,
    replace(na(days), ' ', '')     as days,
    days_count(days)               as n_days,
    coalesce(
        {common_rules},
        rule(bad_dec(dose), 'INVALID_NUMBER', 'dose ' || shown(dose) || ' is not a number'),
        rule(not regexp_full_match(upper(na(atc)), '[A-Z][0-9]{{2}}[A-Z]{{2}}[0-9]{{2}}'), 'INVALID_CODE',
             'atc ' || shown(atc) || ' is not a 7-character ATC code'),
        rule(bad_code(dose_unit, ['mg', 'mg/m2', 'g/m2', 'mg/kg']), 'INVALID_CODE',
             'dose_unit ' || shown(dose_unit) || ' is not mg, mg/m2, g/m2 or mg/kg'),
        rule(na(days) is not null and not days_valid(days), 'INVALID_CODE',
             'days ' || shown(days) || ' is not a list of days like 1-21 or 1,4,8,11'),
        rule(parse_dec(dose) <= 0 or parse_dec(dose) > 100000, 'OUT_OF_RANGE', 'dose ' || shown(dose) || ' is not a positive dose')
    ) as _rule
from raw_drugs
