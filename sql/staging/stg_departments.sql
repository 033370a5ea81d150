-- Departments (reference): code kept as text with its leading zeros; the region compared in
-- lower case, as every code of the format is, and spelt as the format spells it. The
-- region's official name is read as the region ('Region Syddanmark' is Syddanmark).
{% import 'staging/_rules.sql' as r -%}
select
    _line,
    t_department_code as department_code,
    t_department_name as department_name,
    t_hospital        as hospital,
    {{ r.spelt('region') }} as region,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_code('region', 'is not one of the five Danish regions') }}
    ) as _rule
from (select * replace (regexp_replace(t_region, '^region\s+', '', 'i') as t_region) from fields) as fields
