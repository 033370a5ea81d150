-- Departments (reference): code kept as text with its leading zeros.
{% import 'staging/_rules.sql' as r -%}
select
    _line,
    t_department_code as department_code,
    t_department_name as department_name,
    t_hospital        as hospital,
    t_region          as region,
    coalesce(
        {{ r.common_rules(f) }},
        rule(t_region is not null and not list_contains({{ sql_list(value_sets.region) }}, t_region),
             'INVALID_CODE', 'region ' || shown(t_region) || ' is not one of the five Danish regions')
    ) as _rule
from fields
