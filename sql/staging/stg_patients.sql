-- Patients: one row per pseudonymised person.
select
    _line, _record, pseudonym,
    upper(na(sex))         as sex,
    parse_date(birth_date) as birth_date,
    parse_date(death_date) as death_date,
    coalesce(
        {common_rules},
        rule(bad_date(birth_date), 'INVALID_DATE', 'birth_date ' || shown(birth_date) || ' is not a valid date'),
        rule(bad_date(death_date), 'INVALID_DATE', 'death_date ' || shown(death_date) || ' is not a valid date'),
        rule(na(sex) is not null and upper(na(sex)) not in ('M', 'K'), 'INVALID_CODE', 'sex ' || shown(sex) || ' is not M or K'),
        rule(parse_date(birth_date) < date '1890-01-01', 'OUT_OF_RANGE', 'birth_date ' || shown(birth_date) || ' is before 1890'),
        rule(parse_date(death_date) < parse_date(birth_date), 'DEATH_BEFORE_BIRTH',
             'death_date ' || shown(death_date) || ' is before birth_date ' || shown(birth_date))
    ) as _rule
from raw_patients
