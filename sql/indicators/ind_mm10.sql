-- MM10 Tandem transplant only with benefit but without CR (Rec 9; A in the recommendation
-- list, B in the evidence section). Index date: the second asct of a tandem. Population:
-- in-scope patients with a tandem (int_transplants). The response after the first asct: the
-- latest efter_asct response assessed strictly between the two transplants.
-- Met: risk high and that response VGPR or PR. Not met, in this order: TANDEM_DESPITE_CR
-- (CR, sCR), TANDEM_WITHOUT_BENEFIT (SD, PD), TANDEM_STANDARD_RISK. Unknown: RESPONSE_UNKNOWN,
-- then RISK_UNKNOWN. The not_met rules come before the unknown ones: standard risk is a
-- deviation whatever the missing response would have been.
with population as (
    select
        d.pseudonym,
        d.department_code,
        t.first_asct_date,
        t.tandem_asct_date  as index_date,
        k.risk,
        k.risk_rules
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    join int_risk as k on k.pseudonym = d.pseudonym
    where t.is_tandem
),

response as (
    select p.pseudonym, r.assessment_date, r.response
    from population as p
    join stg_responses as r
        on r.pseudonym = p.pseudonym
        and r.timepoint = 'efter_asct'
        and r.assessment_date > p.first_asct_date
        and r.assessment_date < p.index_date
    qualify row_number() over (partition by p.pseudonym order by r.assessment_date desc) = 1
),

judged as (
    select
        p.*,
        r.assessment_date,
        r.response,
        c.label,
        false as is_open,
        'tandem asct ' || p.index_date || ' after asct ' || p.first_asct_date || '; response after the first: '
            || coalesce(r.response || ' on ' || r.assessment_date, 'none recorded') || '; risk ' || p.risk
            || case when p.risk = 'high' then ' (rules ' || p.risk_rules || ')' else '' end      as facts,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when p.risk = 'high' and r.response in ('VGPR', 'PR') then outcome('met', 'MET',
                facts || ': benefit without CR')
            when r.response in ('CR', 'sCR') then outcome('not_met', 'TANDEM_DESPITE_CR',
                facts || ': tandem despite CR')
            when r.response in ('SD', 'PD') then outcome('not_met', 'TANDEM_WITHOUT_BENEFIT',
                facts || ': tandem without benefit from the first asct')
            when p.risk = 'standard' then outcome('not_met', 'TANDEM_STANDARD_RISK',
                facts || ': tandem for standard risk')
            when r.response is null then outcome('unknown', 'RESPONSE_UNKNOWN',
                facts || ': no efter_asct response between the transplants')
            else outcome('unknown', 'RISK_UNKNOWN', facts || ': risk could not be classified')
        end as o
    from population as p
    left join response as r on r.pseudonym = p.pseudonym
    join ref_indicator_catalogue as c on c.indicator_id = 'MM10'
)

select
    j.pseudonym,
    'MM10'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'first_asct_date', j.first_asct_date,
        'days_between_transplants', j.index_date - j.first_asct_date,
        'response', j.response,
        'response_date', j.assessment_date,
        'risk', j.risk,
        'risk_rules', j.risk_rules
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
