-- Procedures: harvest, transplant (ASCT = HDT day 0), rehabilitation referral.
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select *, to_date(t_procedure_date) as procedure_date, lower(t_procedure) as procedure, upper(t_sks_code) as sks_code
    from fields
)

select
    _line, pseudonym, procedure_date, procedure, sks_code,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('procedure_date') }},
        {{ r.bad_code('procedure', 'is not ' ~ value_sets.procedure | join('/')) }}
    ) as _rule
from typed
