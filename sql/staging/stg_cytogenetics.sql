-- FISH / mutation results, one row per aberration tested.
select
    _line, _record, pseudonym,
    parse_date(sample_date)        as sample_date,
    code(aberration)               as aberration,
    code(result)                   as result,
    parse_dec(clonal_fraction_pct) as clonal_fraction_pct,
    coalesce(
        {common_rules},
        rule(bad_date(sample_date), 'INVALID_DATE', 'sample_date ' || shown(sample_date) || ' is not a valid date'),
        rule(bad_dec(clonal_fraction_pct), 'INVALID_NUMBER', 'clonal_fraction_pct ' || shown(clonal_fraction_pct) || ' is not a number'),
        rule(bad_code(aberration, ['del17p', 't4_14', 't14_16', 't14_20', 'gain1q', 'amp1q', 'del1p', 'del1p_biallelic', 'tp53_mut']),
             'INVALID_CODE', 'aberration ' || shown(aberration) || ' is not in the value set'),
        rule(bad_code(result, ['pos', 'neg']), 'INVALID_CODE', 'result ' || shown(result) || ' is not pos/neg'),
        rule(parse_dec(clonal_fraction_pct) not between 0 and 100, 'OUT_OF_RANGE',
             'clonal_fraction_pct ' || shown(clonal_fraction_pct) || ' is outside 0-100')
    ) as _rule
from raw_cytogenetics
