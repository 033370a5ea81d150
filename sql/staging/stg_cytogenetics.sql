-- FISH / mutation results, one row per aberration tested.
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select *, to_date(t_sample_date) as sample_date, lower(t_aberration) as aberration, lower(t_result) as result,
           to_dec(t_clonal_fraction_pct) as clonal_fraction_pct
    from fields
)

select
    _line, pseudonym, sample_date, aberration, result, clonal_fraction_pct,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('sample_date') }},
        {{ r.bad_number('clonal_fraction_pct') }},
        {{ r.bad_code('aberration') }},
        {{ r.bad_code('result', 'is not pos/neg') }},
        {{ r.out_of_range('clonal_fraction_pct', 'is outside ' ~ range_text('clonal_fraction_pct')) }}
    ) as _rule
from typed
