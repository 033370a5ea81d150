-- IMWG responses; response spelled as IMWG writes it (sCR, CR, VGPR, PR, SD, PD).
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select
        *,
        to_date(t_assessment_date)      as assessment_date,
        lower(t_timepoint)              as timepoint,
        {{ r.spelt('response') }}       as response,
        lower(t_mrd)                    as mrd,
        to_dec(t_mrd_sensitivity)       as mrd_sensitivity
    from fields
)

select
    _line, pseudonym, assessment_date, timepoint, response, mrd, mrd_sensitivity,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('assessment_date') }},
        {{ r.bad_number('mrd_sensitivity') }},
        {{ r.bad_code('timepoint') }},
        {{ r.bad_code('response', 'is not an IMWG response (' ~ value_sets.response | join(', ') ~ ')') }},
        {{ r.bad_code('mrd', 'is not neg/pos') }},
        {{ r.out_of_range('mrd_sensitivity', 'is not between 0 and 1') }}
    ) as _rule
from typed
