-- MM05 HDT carried out for candidates (Rec 4, A; Rec 8, A). Index date: diagnosis date.
-- Population: age ≤ hdt_age_limit at diagnosis and HDT candidate, or not a candidate with
-- reason mrd_strategi. Excluded: died within mm05_window_days without asct (DIED). Met: an
-- asct within mm05_window_days after diagnosis. Justified (MRD_NEGATIVE_DEFERRAL): mrd_strategi
-- under guideline v2.0 or later, risk standard, induction quadruplet_cd38/quintuplet_cd38
-- (int_induction) and an efter_induktion response with MRD negative. Not met: NO_HDT;
-- DEFERRAL_NOT_SUPPORTED naming every condition that failed. Pending while the window is
-- open and no asct has been done.
with population as (
    select
        d.pseudonym,
        d.department_code,
        d.diagnosis_date                                   as index_date,
        d.age_at_diagnosis,
        d.death_date,
        d.hdt_candidate,
        d.hdt_not_candidate_reason,
        coalesce(d.hdt_not_candidate_reason = 'mrd_strategi' and not d.hdt_candidate, false) as mrd_strategy,
        t.first_asct_date,
        t.first_asct_date - d.diagnosis_date               as asct_day,
        k.risk,
        k.risk_rules,
        i.regimen_category                                 as induction_category,
        i.regimen_text                                     as induction_text,
        m.first_mrd_negative_date
    from int_index_diagnosis as d
    left join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_risk as k on k.pseudonym = d.pseudonym
    left join int_induction as i on i.pseudonym = d.pseudonym
    left join (
        select pseudonym, min(assessment_date) as first_mrd_negative_date
        from stg_responses
        where timepoint = 'efter_induktion' and mrd = 'neg'
        group by pseudonym
    ) as m on m.pseudonym = d.pseudonym
    where d.age_at_diagnosis <= getvariable('hdt_age_limit')
      and (d.hdt_candidate or (not d.hdt_candidate and d.hdt_not_candidate_reason = 'mrd_strategi'))
),

described as (
    select
        p.*,
        p.first_asct_date between p.index_date and p.index_date + getvariable('mm05_window_days') as asct_in_window,
        p.death_date <= p.index_date + getvariable('mm05_window_days')                           as died_in_window,
        -- the conditions of the deferral branch that fail, in the spec's order
        concat_ws('; ',
            case when not coalesce(p.index_date >= v20.valid_from, false)
                 then 'guideline v2.0 not in force at diagnosis ' || p.index_date end,
            case when p.risk is distinct from 'standard'
                 then 'risk ' || coalesce(p.risk, 'unknown') || ', not standard' end,
            case when p.induction_category is null then 'no induction recorded'
                 when p.induction_category not in ('quadruplet_cd38', 'quintuplet_cd38')
                 then 'induction ' || p.induction_text || ', not quadruplet_cd38 or quintuplet_cd38' end,
            case when p.first_mrd_negative_date is null
                 then 'no efter_induktion response with MRD negative' end
        )                                                                                         as deferral_failures
    from population as p
    left join ref_guideline_versions as v20 on v20.version = 'v2.0'
),

judged as (
    select
        p.*,
        c.label,
        p.first_asct_date is null and window_open(p.index_date, getvariable('mm05_window_days')) as is_open,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when p.died_in_window and not coalesce(p.first_asct_date <= p.death_date, false)
                then outcome('excluded', 'DIED',
                    'died ' || p.death_date || ' (day ' || (p.death_date - p.index_date)
                    || ' after diagnosis) without asct: excluded')
            when p.asct_in_window then outcome('met', 'MET',
                'asct ' || p.first_asct_date || ', day ' || p.asct_day || ' after diagnosis ' || p.index_date
                || ' (within ' || getvariable('mm05_window_days') || ' days)')
            when p.mrd_strategy and p.deferral_failures = '' then outcome('justified', 'MRD_NEGATIVE_DEFERRAL',
                'HDT deferred (mrd_strategi): risk standard, induction ' || p.induction_text
                || ', MRD negative after induction on ' || p.first_mrd_negative_date)
            when p.mrd_strategy then outcome('not_met', 'DEFERRAL_NOT_SUPPORTED',
                'HDT deferred (mrd_strategi) without the guideline''s conditions: ' || p.deferral_failures
                || '; no asct within ' || getvariable('mm05_window_days') || ' days after diagnosis '
                || p.index_date)
            else outcome('not_met', 'NO_HDT',
                'HDT candidate, no asct within ' || getvariable('mm05_window_days') || ' days after diagnosis '
                || p.index_date || coalesce(' (first asct ' || p.first_asct_date || ', day ' || p.asct_day || ')', ''))
        end as o
    from described as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM05'
)

select
    j.pseudonym,
    'MM05'                                                                                 as indicator_id,
    result_status(j.o, j.is_open)                                                          as status,
    result_code(j.o, j.is_open)                                                            as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, getvariable('mm05_window_days'))   as reason_text,
    j.index_date,
    v.version                                                                              as guideline_version,
    j.department_code,
    json_object(
        'age_at_diagnosis', j.age_at_diagnosis,
        'hdt_candidate', j.hdt_candidate,
        'hdt_not_candidate_reason', j.hdt_not_candidate_reason,
        'first_asct_date', j.first_asct_date,
        'days_after_index', j.asct_day,
        'death_date', j.death_date,
        'risk', j.risk,
        'risk_rules', j.risk_rules,
        'induction_category', j.induction_category,
        'mrd_negative_after_induction_date', j.first_mrd_negative_date,
        'days_to_extract', days_to_extract(j.index_date)
    )::varchar                                                                             as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
