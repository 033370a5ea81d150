-- Height and weight; either may be missing on a row.
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select *, to_date(t_measure_date) as measure_date, to_dec(t_height_cm) as height_cm, to_dec(t_weight_kg) as weight_kg
    from fields
)

select
    _line, pseudonym, measure_date, height_cm, weight_kg,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('measure_date') }},
        {{ r.bad_number('height_cm') }},
        {{ r.bad_number('weight_kg') }},
        {{ r.out_of_range('height_cm', 'is outside ' ~ range_text('height_cm') ~ ' cm') }},
        {{ r.out_of_range('weight_kg', 'is outside ' ~ range_text('weight_kg') ~ ' kg') }}
    ) as _rule
from typed
