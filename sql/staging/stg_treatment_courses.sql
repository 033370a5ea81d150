-- Treatment courses; the free-text regimen is kept for display only.
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select
        *,
        t_course_id                    as course_id,
        lower(t_phase)                 as phase,
        t_regimen                      as regimen,
        to_date(t_start_date)          as start_date,
        to_date(t_end_date)            as end_date,
        to_int(t_cycles)               as cycles,
        to_int(t_cycle_length_days)    as cycle_length_days
    from fields
)

select
    _line, pseudonym, course_id, phase, regimen, start_date, end_date, cycles, cycle_length_days,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('start_date') }},
        {{ r.bad_date('end_date') }},
        {{ r.bad_number('cycles', 'int') }},
        {{ r.bad_number('cycle_length_days', 'int') }},
        {{ r.bad_code('phase') }},
        {{ r.out_of_range('cycles', 'is outside ' ~ range_text('cycles')) }},
        {{ r.out_of_range('cycle_length_days', 'is outside ' ~ range_text('cycle_length_days')) }}
    ) as _rule
from typed
