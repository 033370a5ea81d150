-- Patients: one row per pseudonymised person.
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select *, upper(t_sex) as sex, to_date(t_birth_date) as birth_date, to_date(t_death_date) as death_date
    from fields
)

select
    _line, pseudonym, sex, birth_date, death_date,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('birth_date') }},
        {{ r.bad_date('death_date') }},
        rule(t_sex is not null and not list_contains({{ sql_list(value_sets.sex) }}, sex), 'INVALID_CODE',
             'sex ' || shown(t_sex) || ' is not M or K'),
        {{ r.out_of_range('birth_date', 'is before ' ~ ranges.birth_date.low.year) }},
        rule(death_date < birth_date, 'DEATH_BEFORE_BIRTH',
             'death_date ' || shown(t_death_date) || ' is before birth_date ' || shown(t_birth_date))
    ) as _rule
from typed
