-- Labs (long): unit spelling standardised (umol/L = µmol/L); value_std puts every analysis in
-- its first unit (creatinine mg/dL × 88,4 = µmol/L) so every later step reads one unit per
-- analysis. Units and plausible ranges: pipelines/lib/extract_format.py (LAB_UNITS, RANGES).
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select
        *,
        to_date(t_sample_date)   as sample_date,
        lower(t_analysis)        as analysis,
        to_dec(t_value)          as value,
        case lower(t_unit) when 'µmol/l' then 'µmol/L' when 'umol/l' then 'µmol/L' when 'μmol/l' then 'µmol/L'
                           when 'mg/dl' then 'mg/dL' when 'mg/l' then 'mg/L' when 'u/l' then 'U/L'
                           when 'g/l' then 'g/L' else t_unit end as unit
    from fields
),

standardised as (
    select
        *,
        case when analysis = 'kreatinin' and unit = 'mg/dL'
             then value * getvariable('creatinine_umol_per_mg_dl') else value end        as value_std,
        case analysis {% for a, units in lab_units.items() %}when {{ sql_literal(a) }} then {{ sql_literal(units[0]) }} {% endfor %}end
                                                                                          as unit_std,
        case analysis {% for a, units in lab_units.items() %}when {{ sql_literal(a) }} then {{ sql_list(units) }} {% endfor %}end
                                                                                          as allowed_units,
        case analysis {% for a in lab_units %}when {{ sql_literal(a) }} then {{ in_range('value_std', a) }} {% endfor %}end
                                                                                          as plausible,
        case analysis {% for a in lab_units %}when {{ sql_literal(a) }} then {{ sql_literal(range_text(a)) }} {% endfor %}end
                                                                                          as plausible_text
    from typed
)

select
    _line, pseudonym, sample_date, analysis, value, unit, value_std,
    case when allowed_units is null then unit else unit_std end as unit_std,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('sample_date') }},
        {{ r.bad_number('value') }},
        rule(allowed_units is null, 'INVALID_CODE', 'analysis ' || shown(t_analysis) || ' is not in the value set'),
        rule(not list_contains(allowed_units, unit), 'UNIT_MISMATCH',
             'unit ' || shown(t_unit) || ' does not belong to analysis ' || analysis),
        rule(not plausible, 'OUT_OF_RANGE',
             analysis || ' ' || shown(t_value) || ' ' || unit || ' is outside the plausible range '
             || plausible_text || ' ' || unit_std)
    ) as _rule
from standardised
