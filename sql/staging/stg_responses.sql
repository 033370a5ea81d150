-- IMWG responses; response spelled as IMWG writes it (sCR, CR, VGPR, PR, SD, PD).
select
    _line, _record, pseudonym,
    parse_date(assessment_date) as assessment_date,
    code(timepoint)             as timepoint,
    case code(response) when 'scr' then 'sCR' when 'cr' then 'CR' when 'vgpr' then 'VGPR'
                        when 'pr' then 'PR' when 'sd' then 'SD' when 'pd' then 'PD' end as response,
    code(mrd)                   as mrd,
    parse_dec(mrd_sensitivity)  as mrd_sensitivity,
    coalesce(
        {common_rules},
        rule(bad_date(assessment_date), 'INVALID_DATE', 'assessment_date ' || shown(assessment_date) || ' is not a valid date'),
        rule(bad_dec(mrd_sensitivity), 'INVALID_NUMBER', 'mrd_sensitivity ' || shown(mrd_sensitivity) || ' is not a number'),
        rule(bad_code(timepoint, ['efter_induktion', 'efter_asct', 'efter_konsolidering', 'andet']), 'INVALID_CODE',
             'timepoint ' || shown(timepoint) || ' is not in the value set'),
        rule(bad_code(response, ['scr', 'cr', 'vgpr', 'pr', 'sd', 'pd']), 'INVALID_CODE',
             'response ' || shown(response) || ' is not an IMWG response (sCR, CR, VGPR, PR, SD, PD)'),
        rule(bad_code(mrd, ['neg', 'pos']), 'INVALID_CODE', 'mrd ' || shown(mrd) || ' is not neg/pos'),
        rule(parse_dec(mrd_sensitivity) <= 0 or parse_dec(mrd_sensitivity) >= 1, 'OUT_OF_RANGE',
             'mrd_sensitivity ' || shown(mrd_sensitivity) || ' is not between 0 and 1')
    ) as _rule
from raw_responses
