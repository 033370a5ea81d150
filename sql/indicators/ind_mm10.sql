-- MM10 Tandem transplant only with benefit but without CR (Rec 9; A in the recommendation
-- list, B in the evidence section). Index date: the second asct of a tandem. Population:
-- in-scope patients with a tandem (int_transplants). The response after the first asct: the
-- latest efter_asct response dated from the first transplant up to the second (both days
-- included). Met: risk high and that response VGPR or PR. Not met, in this order:
-- TANDEM_DESPITE_CR (CR, sCR), TANDEM_WITHOUT_BENEFIT (SD, PD), TANDEM_STANDARD_RISK.
-- Unknown: RESPONSE_UNKNOWN, then RISK_UNKNOWN. Known values decide: standard risk is a
-- deviation whatever the missing response would have been.
with population as (
    select
        d.pseudonym,
        d.department_code,
        t.first_asct_date,
        t.tandem_asct_date  as index_date,
        k.risk,
        k.risk_text_da,
        k.risk_text_en
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
        and r.assessment_date between p.first_asct_date and p.index_date
    qualify row_number() over (partition by p.pseudonym order by r.assessment_date desc, r._line) = 1
),

described as (
    select
        p.*,
        r.assessment_date,
        r.response,
        'tandemtransplantation ' || dato(p.index_date) || ' efter HDT ' || dato(p.first_asct_date) || '; respons efter første HDT: '
            || coalesce(r.response || ' ' || dato(r.assessment_date), 'ikke registreret') || '; ' || p.risk_text_da as facts_da,
        'tandem ASCT ' || iso(p.index_date) || ' after ASCT ' || iso(p.first_asct_date) || '; response after the first: '
            || coalesce(r.response || ' on ' || iso(r.assessment_date), 'none recorded') || '; ' || p.risk_text_en as facts_en
    from population as p
    left join response as r on r.pseudonym = p.pseudonym
)

select pseudonym, department_code, index_date,
    case
        when risk = 'high' and response in ('VGPR', 'PR') then outcome('met', 'MET',
            facts_da || ': gavn uden CR', facts_en || ': benefit without CR')
        when response in ('CR', 'sCR') then outcome('not_met', 'TANDEM_DESPITE_CR',
            facts_da || ': tandemtransplantation trods CR', facts_en || ': tandem despite CR')
        when response in ('SD', 'PD') then outcome('not_met', 'TANDEM_WITHOUT_BENEFIT',
            facts_da || ': tandemtransplantation uden gavn af første HDT', facts_en || ': tandem without benefit from the first ASCT')
        when risk = 'standard' then outcome('not_met', 'TANDEM_STANDARD_RISK',
            facts_da || ': tandemtransplantation ved standardrisiko', facts_en || ': tandem for standard risk')
        when response is null then outcome('unknown', 'RESPONSE_UNKNOWN',
            facts_da || ': ingen respons registreret mellem transplantationerne',
            facts_en || ': no response recorded between the transplants')
        else outcome('unknown', 'RISK_UNKNOWN',
            facts_da || ': risikoen kunne ikke vurderes', facts_en || ': risk could not be classified')
    end                                                                 as o,
    {
        'first_asct_date': first_asct_date,
        'days_between_transplants': index_date - first_asct_date,
        'response': response,
        'response_date': assessment_date,
        'risk': risk
    }                                                                   as drill_down
from described
