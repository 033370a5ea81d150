-- Departments (reference): code kept as text with its leading zeros.
select
    _line, _record,
    na(department_code) as department_code,
    na(department_name) as department_name,
    na(hospital)        as hospital,
    na(region)          as region,
    coalesce(
        {common_rules},
        rule(na(region) is not null and na(region) not in ('Hovedstaden', 'Sjælland', 'Syddanmark', 'Midtjylland', 'Nordjylland'),
             'INVALID_CODE', 'region ' || shown(region) || ' is not one of the five Danish regions')
    ) as _rule
from raw_departments
