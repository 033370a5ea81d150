-- MM05 HDT carried out for candidates (Rec 4, A; Rec 8, A). Index date: diagnosis date.
-- Population: age ≤ hdt_age_limit at diagnosis and HDT candidate, or not a candidate with
-- reason mrd_strategi. Excluded: died within mm05_window_days without asct (DIED). Met: an
-- asct on day 0 to mm05_window_days after diagnosis.
-- Justified (MRD_NEGATIVE_DEFERRAL, Rec 8): mrd_strategi, guideline v2.0 at diagnosis, risk
-- standard, and an efter_induktion response with MRD negative at a sensitivity of
-- mm05_mrd_max_sensitivity or deeper (not reported: fails) after at least
-- mm05_mrd_min_induction_cycles induction cycles, the induction being the induktion courses
-- started before that response (int_treatment_phases, induction_before_response; a course
-- without cycles counts 0) with a quadruplet_cd38/quintuplet_cd38 predominant course.
-- Not met: NO_HDT; for mrd_strategi always DEFERRAL_NOT_SUPPORTED, naming what failed.
-- Pending while the window is open (an asct in it would have been met).
with population as (
    select
        d.pseudonym,
        d.department_code,
        d.diagnosis_date                                                   as index_date,
        d.age_at_diagnosis,
        d.death_date,
        d.hdt_candidate,
        d.hdt_not_candidate_reason,
        coalesce(not d.hdt_candidate and d.hdt_not_candidate_reason = 'mrd_strategi', false) as mrd_strategy,
        t.first_asct_date,
        t.first_asct_date - d.diagnosis_date                               as asct_day,
        k.risk,
        k.risk_text_da, k.risk_text_en,
        coalesce(d.diagnosis_date >= v20.valid_from, false)                as v20_at_diagnosis
    from int_index_diagnosis as d
    left join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_risk as k on k.pseudonym = d.pseudonym
    left join ref_guideline_versions as v20 on v20.version = 'v2.0'
    where d.age_at_diagnosis <= getvariable('hdt_age_limit')
      and (d.hdt_candidate or (not d.hdt_candidate and d.hdt_not_candidate_reason = 'mrd_strategi'))
),

-- every efter_induktion response with MRD negative, judged by the deferral's MRD conditions
mrd_responses as (
    select
        r.pseudonym,
        r.assessment_date,
        r.mrd_sensitivity,
        coalesce(r.mrd_sensitivity <= getvariable('mm05_mrd_max_sensitivity'), false)      as deep_enough,
        coalesce(i.cycles_known, 0)                                                        as cycles_before,
        coalesce(i.cycles_known >= getvariable('mm05_mrd_min_induction_cycles'), false)    as after_enough_cycles,
        coalesce(i.regimen_category in ('quadruplet_cd38', 'quintuplet_cd38'), false)      as cd38_induction,
        i.regimen_text_da,
        i.regimen_text_en
    from stg_responses as r
    left join int_treatment_phases as i
        on i.pseudonym = r.pseudonym and i.phase = 'induction_before_response' and i.anchor_date = r.assessment_date
    where r.timepoint = 'efter_induktion' and r.mrd = 'neg'
),

-- the response the deferral rests on: one meeting every condition, else the one nearest to it
best_response as (
    select *
    from mrd_responses
    qualify row_number() over (
        partition by pseudonym
        order by deep_enough and after_enough_cycles and cd38_induction desc,
                 deep_enough and after_enough_cycles desc, deep_enough desc, assessment_date desc
    ) = 1
),

described as (
    select
        p.*,
        m.assessment_date                                                   as mrd_negative_date,
        m.mrd_sensitivity,
        m.cycles_before,
        m.regimen_text_da                                                   as induction_text_da,
        m.regimen_text_en                                                   as induction_text_en,
        coalesce(m.deep_enough and m.after_enough_cycles and m.cd38_induction, false) as mrd_conditions_met,
        -- the deferral's conditions that fail, in the spec's order
        concat_ws('; ',
            case when not p.v20_at_diagnosis then 'retningslinje v2.0 var ikke gældende ved diagnosen' end,
            case when p.risk is distinct from 'standard' then coalesce(p.risk_text_da, 'risiko uoplyst') || ', ikke standardrisiko' end,
            case when m.pseudonym is null then 'intet MRD-negativt svar efter induktion'
                 when not m.cd38_induction then 'induktion før MRD-svaret ' || dato(m.assessment_date) || ': '
                      || coalesce(m.regimen_text_da, 'ingen') || ', ikke et firstofs- eller femstofs-regime med CD38-antistof' end,
            case when m.pseudonym is not null and not m.deep_enough
                 then 'MRD-negativ ' || dato(m.assessment_date) || ' ved sensitivitet '
                      || coalesce(sci_da(m.mrd_sensitivity), 'ikke angivet') || ' (' || sci_da(getvariable('mm05_mrd_max_sensitivity'))
                      || ' eller dybere kræves)' end,
            case when m.pseudonym is not null and not m.after_enough_cycles
                 then 'MRD-negativ efter kun ' || m.cycles_before || case when m.cycles_before = 1 then ' induktionsserie' else ' induktionsserier' end || ' (mindst '
                      || getvariable('mm05_mrd_min_induction_cycles') || ' kræves)' end
        )                                                                   as failures_da,
        concat_ws('; ',
            case when not p.v20_at_diagnosis then 'guideline v2.0 was not in force at diagnosis' end,
            case when p.risk is distinct from 'standard' then coalesce(p.risk_text_en, 'risk unknown') || ', not standard risk' end,
            case when m.pseudonym is null then 'no MRD-negative response after induction'
                 when not m.cd38_induction then 'induction before the MRD response ' || iso(m.assessment_date) || ': '
                      || coalesce(m.regimen_text_en, 'none') || ', not a CD38 quadruplet or quintuplet' end,
            case when m.pseudonym is not null and not m.deep_enough
                 then 'MRD negative ' || iso(m.assessment_date) || ' at sensitivity '
                      || coalesce(sci_en(m.mrd_sensitivity), 'not reported') || ' (' || sci_en(getvariable('mm05_mrd_max_sensitivity'))
                      || ' or deeper required)' end,
            case when m.pseudonym is not null and not m.after_enough_cycles
                 then 'MRD negative after only ' || m.cycles_before || ' induction cycles (at least '
                      || getvariable('mm05_mrd_min_induction_cycles') || ' required)' end
        )                                                                   as failures_en
    from population as p
    left join best_response as m on m.pseudonym = p.pseudonym
)

select pseudonym, department_code, index_date,
    index_date + getvariable('mm05_window_days')                        as pending_until,
    case
        when death_date <= index_date + getvariable('mm05_window_days')
             and not coalesce(first_asct_date <= death_date, false) then outcome('excluded', 'DIED',
            'død ' || dato(death_date) || ' (dag ' || (death_date - index_date) || ' efter diagnosen) uden HDT: ekskluderet',
            'died ' || iso(death_date) || ' (day ' || (death_date - index_date) || ' after diagnosis) without ASCT: excluded')
        when first_asct_date between index_date and index_date + getvariable('mm05_window_days') then outcome('met', 'MET',
            'HDT (ASCT) ' || dato(first_asct_date) || ', dag ' || asct_day || ' efter diagnosen ' || dato(index_date)
                || ' (inden for ' || getvariable('mm05_window_days') || ' dage)',
            'ASCT ' || iso(first_asct_date) || ', day ' || asct_day || ' after diagnosis ' || iso(index_date)
                || ' (within ' || getvariable('mm05_window_days') || ' days)')
        when mrd_strategy and failures_da = '' then outcome('justified', 'MRD_NEGATIVE_DEFERRAL',
            'HDT udskudt (MRD-strategi): standardrisiko, MRD-negativ ' || dato(mrd_negative_date) || ' ved '
                || sci_da(mrd_sensitivity) || ' efter ' || cycles_before || ' induktionsserier: ' || induction_text_da,
            'HDT deferred (MRD strategy): standard risk, MRD negative ' || iso(mrd_negative_date) || ' at '
                || sci_en(mrd_sensitivity) || ' after ' || cycles_before || ' induction cycles: ' || induction_text_en)
        when mrd_strategy then outcome('not_met', 'DEFERRAL_NOT_SUPPORTED',
            'HDT udskudt (MRD-strategi) uden retningslinjens betingelser: ' || failures_da
                || '; ingen HDT inden for ' || getvariable('mm05_window_days') || ' dage efter diagnosen ' || dato(index_date),
            'HDT deferred (MRD strategy) without the guideline''s conditions: ' || failures_en
                || '; no ASCT within ' || getvariable('mm05_window_days') || ' days after diagnosis ' || iso(index_date))
        else outcome('not_met', 'NO_HDT',
            'HDT-kandidat uden HDT inden for ' || getvariable('mm05_window_days') || ' dage efter diagnosen ' || dato(index_date)
                || coalesce(' (første HDT ' || dato(first_asct_date) || ', dag ' || asct_day || ')', ''),
            'HDT candidate, no ASCT within ' || getvariable('mm05_window_days') || ' days after diagnosis ' || iso(index_date)
                || coalesce(' (first ASCT ' || iso(first_asct_date) || ', day ' || asct_day || ')', ''))
    end                                                                 as o,
    {
        'age_at_diagnosis': age_at_diagnosis,
        'hdt_candidate': hdt_candidate,
        'hdt_not_candidate_reason': hdt_not_candidate_reason,
        'first_asct_date': first_asct_date,
        'days_after_index': asct_day,
        'death_date': death_date,
        'risk': risk,
        'mrd_negative_date': mrd_negative_date,
        'mrd_sensitivity': mrd_sensitivity,
        'induction_cycles_before_mrd': cycles_before,
        'days_to_extract': days_to_extract(index_date)
    }                                                                   as drill_down
from described
