-- Diagnoses: ICD-10 in SKS form (DC900), codes lower-case, J/N as booleans.
{% import 'staging/_rules.sql' as r -%}
with typed as (
    select
        *,
        to_date(t_diagnosis_date)                                   as diagnosis_date,
        case when icd10_code(t_icd10) like 'C%' then 'D' else '' end
            || icd10_code(t_icd10)                                  as icd10,
        t_department_code                                           as department_code,
        to_int(t_ecog_ps)                                           as ecog_ps,
        lower(t_comorbidity)                                        as comorbidity,
        to_int(t_iss_stage)                                         as iss_stage,
        lower(t_extramedullary)                                     as extramedullary,
        to_bool(t_hdt_evaluated)                                    as hdt_evaluated,
        to_date(t_hdt_evaluation_date)                              as hdt_evaluation_date,
        to_bool(t_hdt_candidate)                                    as hdt_candidate,
        lower(t_hdt_not_candidate_reason)                           as hdt_not_candidate_reason
    from fields
)

select
    _line, pseudonym, diagnosis_date, icd10, department_code, ecog_ps, comorbidity, iss_stage,
    extramedullary, hdt_evaluated, hdt_evaluation_date, hdt_candidate, hdt_not_candidate_reason,
    coalesce(
        {{ r.common_rules(f) }},
        {{ r.bad_date('diagnosis_date') }},
        {{ r.bad_date('hdt_evaluation_date') }},
        {{ r.bad_number('ecog_ps', 'int') }},
        {{ r.bad_number('iss_stage', 'int') }},
        rule(not {{ in_range('ecog_ps', 'ecog_ps') }}, 'INVALID_CODE', 'ecog_ps ' || shown(t_ecog_ps) || ' is not {{ range_text('ecog_ps') }}'),
        rule(not {{ in_range('iss_stage', 'iss_stage') }}, 'INVALID_CODE', 'iss_stage ' || shown(t_iss_stage) || ' is not {{ range_text('iss_stage') }}'),
        {{ r.bad_code('comorbidity', 'is not ' ~ value_sets.comorbidity | join('/')) }},
        {{ r.bad_code('extramedullary', 'is not ' ~ value_sets.extramedullary | join('/')) }},
        rule(t_hdt_evaluated is not null and hdt_evaluated is null, 'INVALID_CODE', 'hdt_evaluated ' || shown(t_hdt_evaluated) || ' is not J/N'),
        rule(t_hdt_candidate is not null and hdt_candidate is null, 'INVALID_CODE', 'hdt_candidate ' || shown(t_hdt_candidate) || ' is not J/N'),
        {{ r.bad_code('hdt_not_candidate_reason') }}
    ) as _rule
from typed
