-- Labs (long): unit spelling standardised (umol/L = µmol/L); value_std puts creatinine
-- in µmol/L (mg/dL × 88,4) so every later step reads one unit per analysis.
with typed as (
    select
        raw_labs.*,
        code(analysis)   as analysis_code,
        parse_dec(value) as value_num,
        case when lower(na(unit)) in ('µmol/l', 'umol/l', 'μmol/l') then 'µmol/L'
             when lower(na(unit)) = 'mg/dl' then 'mg/dL'
             when lower(na(unit)) = 'mg/l'  then 'mg/L'
             when lower(na(unit)) = 'u/l'   then 'U/L'
             when lower(na(unit)) = 'g/l'   then 'g/L'
             else na(unit) end as unit_code
    from raw_labs
),
standardised as (
    select *,
        case when analysis_code = 'kreatinin' and unit_code = 'mg/dL'
             then value_num * getvariable('creatinine_umol_per_mg_dl') else value_num end as value_std,
        case when analysis_code = 'kreatinin' then 'µmol/L' else unit_code end as unit_std,
        case analysis_code when 'kreatinin' then ['µmol/L', 'mg/dL'] when 'b2m' then ['mg/L'] when 'ldh' then ['U/L']
                           when 'albumin' then ['g/L'] when 'cirk_plasmaceller' then ['%'] end as allowed_units,
        case analysis_code when 'kreatinin' then [10, 3000] when 'b2m' then [0, 200] when 'ldh' then [1, 20000]
                           when 'albumin' then [1, 80] when 'cirk_plasmaceller' then [0, 100] end as plausible
    from typed
)
select
    _line, _record, pseudonym,
    parse_date(sample_date) as sample_date,
    analysis_code           as analysis,
    value_num               as value,
    unit_code               as unit,
    value_std, unit_std,
    coalesce(
        {common_rules},
        rule(bad_date(sample_date), 'INVALID_DATE', 'sample_date ' || shown(sample_date) || ' is not a valid date'),
        rule(bad_dec(value), 'INVALID_NUMBER', 'value ' || shown(value) || ' is not a number'),
        rule(allowed_units is null, 'INVALID_CODE', 'analysis ' || shown(analysis) || ' is not in the value set'),
        rule(not list_contains(allowed_units, unit_code), 'UNIT_MISMATCH',
             'unit ' || shown(unit) || ' does not belong to analysis ' || analysis_code),
        rule(value_std not between plausible[1] and plausible[2], 'OUT_OF_RANGE',
             analysis_code || ' ' || shown(value) || ' ' || unit_code || ' is outside the plausible range '
             || plausible[1] || '-' || plausible[2] || ' ' || unit_std)
    ) as _rule
from standardised
