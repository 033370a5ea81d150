-- Diagnoses: ICD-10 in SKS form (DC900), codes lower-case, J/N as booleans.
select
    _line, _record, pseudonym,
    parse_date(diagnosis_date) as diagnosis_date,
    case when upper(replace(na(icd10), '.', '')) like 'C%' then 'D' else '' end
        || upper(replace(na(icd10), '.', '')) as icd10,
    na(department_code)             as department_code,
    parse_int(ecog_ps)              as ecog_ps,
    code(comorbidity)               as comorbidity,
    parse_int(iss_stage)            as iss_stage,
    code(extramedullary)            as extramedullary,
    parse_bool(hdt_evaluated)       as hdt_evaluated,
    parse_date(hdt_evaluation_date) as hdt_evaluation_date,
    parse_bool(hdt_candidate)       as hdt_candidate,
    code(hdt_not_candidate_reason)  as hdt_not_candidate_reason,
    coalesce(
        {common_rules},
        rule(bad_date(diagnosis_date), 'INVALID_DATE', 'diagnosis_date ' || shown(diagnosis_date) || ' is not a valid date'),
        rule(bad_date(hdt_evaluation_date), 'INVALID_DATE', 'hdt_evaluation_date ' || shown(hdt_evaluation_date) || ' is not a valid date'),
        rule(bad_int(ecog_ps), 'INVALID_NUMBER', 'ecog_ps ' || shown(ecog_ps) || ' is not a whole number'),
        rule(bad_int(iss_stage), 'INVALID_NUMBER', 'iss_stage ' || shown(iss_stage) || ' is not a whole number'),
        rule(parse_int(ecog_ps) not between 0 and 4, 'INVALID_CODE', 'ecog_ps ' || shown(ecog_ps) || ' is not 0-4'),
        rule(parse_int(iss_stage) not between 1 and 3, 'INVALID_CODE', 'iss_stage ' || shown(iss_stage) || ' is not 1-3'),
        rule(bad_code(comorbidity, ['ingen', 'let', 'betydelig']), 'INVALID_CODE',
             'comorbidity ' || shown(comorbidity) || ' is not ingen/let/betydelig'),
        rule(bad_code(extramedullary, ['nej', 'paraossøs', 'ekstraossøs']), 'INVALID_CODE',
             'extramedullary ' || shown(extramedullary) || ' is not nej/paraossøs/ekstraossøs'),
        rule(bad_bool(hdt_evaluated), 'INVALID_CODE', 'hdt_evaluated ' || shown(hdt_evaluated) || ' is not J/N'),
        rule(bad_bool(hdt_candidate), 'INVALID_CODE', 'hdt_candidate ' || shown(hdt_candidate) || ' is not J/N'),
        rule(bad_code(hdt_not_candidate_reason, ['alder', 'komorbiditet', 'performance', 'patientens_valg', 'mrd_strategi', 'andet']),
             'INVALID_CODE', 'hdt_not_candidate_reason ' || shown(hdt_not_candidate_reason) || ' is not in the value set'),
        rule(parse_date(hdt_evaluation_date) < parse_date(diagnosis_date) - interval 365 day, 'OUT_OF_RANGE',
             'hdt_evaluation_date ' || shown(hdt_evaluation_date) || ' is more than a year before diagnosis_date')
    ) as _rule
from raw_diagnoses
