-- MM15 Cytogenetic risk assessed before induction (Rec 9, B). Index date: start of the
-- patient's first induktion course. Population: MM01's population less its exclusions (age
-- ≤ hdt_age_limit at diagnosis; not ECOG PS ≥ 2 nor significant comorbidity) whose first
-- induktion course starts on or after the diagnosis date.
-- Met: del17p, t4_14 and gain1q or amp1q each have a result (pos or neg) sampled up to the
-- index date, inclusive. Not met: none of them (RISK_NOT_ASSESSED), some (RISK_PARTIALLY_ASSESSED,
-- naming what is missing).
with population as (
    select d.pseudonym, d.department_code, f.first_induction_date as index_date
    from int_index_diagnosis as d
    join int_first_induction as f on f.pseudonym = d.pseudonym
    where d.age_at_diagnosis <= getvariable('hdt_age_limit')
      and not coalesce(d.ecog_ps >= 2, false)
      and coalesce(d.comorbidity, '') <> 'betydelig'
      and f.first_induction_date >= d.diagnosis_date
),

tested as (
    select
        p.*,
        coalesce(bool_or(g.aberration = 'del17p'), false)                 as del17p,
        coalesce(bool_or(g.aberration = 't4_14'), false)                  as t4_14,
        coalesce(bool_or(g.aberration in ('gain1q', 'amp1q')), false)     as chr1q
    from population as p
    left join stg_cytogenetics as g on g.pseudonym = p.pseudonym and g.sample_date <= p.index_date
    group by all
),

described as (
    select
        *,
        list_filter(['del(17p)', 't(4;14)', 'gain(1q)/amp(1q)'],
                    lambda a: (a = 'del(17p)' and not del17p) or (a = 't(4;14)' and not t4_14)
                              or (a = 'gain(1q)/amp(1q)' and not chr1q))             as missing
    from tested
)

select pseudonym, department_code, index_date,
    case
        when len(missing) = 0 then outcome('met', 'MET',
            'del(17p), t(4;14) og 1q undersøgt senest ved induktionsstart ' || dato(index_date),
            'del(17p), t(4;14) and 1q tested by the induction start ' || iso(index_date))
        when len(missing) = 3 then outcome('not_met', 'RISK_NOT_ASSESSED',
            'ingen FISH for del(17p), t(4;14) eller 1q senest ved induktionsstart ' || dato(index_date),
            'no FISH for del(17p), t(4;14) or 1q by the induction start ' || iso(index_date))
        else outcome('not_met', 'RISK_PARTIALLY_ASSESSED',
            'cytogenetisk risikovurdering ufuldstændig ved induktionsstart ' || dato(index_date)
                || '; mangler: ' || array_to_string(missing, ', '),
            'cytogenetic risk assessment incomplete by the induction start ' || iso(index_date)
                || '; missing: ' || array_to_string(missing, ', '))
    end                                                                 as o,
    {
        'del17p_tested': del17p,
        't4_14_tested': t4_14,
        'gain1q_or_amp1q_tested': chr1q
    }                                                                   as drill_down
from described
