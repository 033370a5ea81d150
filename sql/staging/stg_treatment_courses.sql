-- Treatment courses; the free-text regimen is kept for display only.
select
    _line, _record, pseudonym,
    na(course_id)                as course_id,
    code(phase)                  as phase,
    na(regimen)                  as regimen,
    parse_date(start_date)       as start_date,
    parse_date(end_date)         as end_date,
    parse_int(cycles)            as cycles,
    parse_int(cycle_length_days) as cycle_length_days,
    coalesce(
        {common_rules},
        rule(bad_date(start_date), 'INVALID_DATE', 'start_date ' || shown(start_date) || ' is not a valid date'),
        rule(bad_date(end_date), 'INVALID_DATE', 'end_date ' || shown(end_date) || ' is not a valid date'),
        rule(bad_int(cycles), 'INVALID_NUMBER', 'cycles ' || shown(cycles) || ' is not a whole number'),
        rule(bad_int(cycle_length_days), 'INVALID_NUMBER', 'cycle_length_days ' || shown(cycle_length_days) || ' is not a whole number'),
        rule(bad_code(phase, ['induktion', 'mobilisering', 'konditionering', 'konsolidering', 'vedligehold', 'andet']),
             'INVALID_CODE', 'phase ' || shown(phase) || ' is not in the value set'),
        rule(parse_int(cycles) not between 1 and 400, 'OUT_OF_RANGE', 'cycles ' || shown(cycles) || ' is outside 1-400'),
        rule(parse_int(cycle_length_days) not between 1 and 365, 'OUT_OF_RANGE',
             'cycle_length_days ' || shown(cycle_length_days) || ' is outside 1-365'),
        rule(parse_date(end_date) < parse_date(start_date), 'END_BEFORE_START',
             'end_date ' || shown(end_date) || ' is before start_date ' || shown(start_date))
    ) as _rule
from raw_treatment_courses
