-- Procedures: harvest, transplant (ASCT = HDT day 0), rehabilitation referral.
select
    _line, _record, pseudonym,
    parse_date(procedure_date) as procedure_date,
    code(procedure)            as procedure,
    upper(na(sks_code))        as sks_code,
    coalesce(
        {common_rules},
        rule(bad_date(procedure_date), 'INVALID_DATE', 'procedure_date ' || shown(procedure_date) || ' is not a valid date'),
        rule(bad_code(procedure, ['leukaferese', 'asct', 'rehabilitering']), 'INVALID_CODE',
             'procedure ' || shown(procedure) || ' is not leukaferese/asct/rehabilitering')
    ) as _rule
from raw_procedures
