-- High-risk myeloma per in-scope patient (indicators.md, "High-risk myeloma"; guideline text
-- on Rec 9 after IMS/IMWG 2025), from results sampled up to and including the first
-- induction start, or diagnosis + risk_no_induction_days without induction. The cut-off
-- applies to every result used, the creatinine paired with a B2M sample included.
-- risk_rules lists every rule that fired ('1;3'; '' when none); risk_text_da/_en name what
-- fired as clinicians do ("højrisiko: del(17p) 34 %; t(4;14) + gain(1q)"), never by number.
-- Rule 3 counts the literal codes del17p, t4_14, t14_16, t14_20, gain1q/amp1q (one HRCA)
-- and del1p; del1p_biallelic is rule 2's own code and is not counted again under rule 3.
with patients as (
    select d.pseudonym, d.diagnosis_date, d.extramedullary, i.first_induction_date
    from int_index_diagnosis as d
    left join int_first_induction as i on i.pseudonym = d.pseudonym
),

cutoffs as (
    select
        *,
        coalesce(first_induction_date, diagnosis_date + getvariable('risk_no_induction_days')) as risk_cutoff_date
    from patients
),

cytogenetics as (
    select
        g.pseudonym,
        g.aberration,
        g.result,
        g.clonal_fraction_pct,
        case when g.aberration in ('gain1q', 'amp1q') then '1q' else g.aberration end as hrca
    from stg_cytogenetics as g
    join cutoffs as c on c.pseudonym = g.pseudonym and g.sample_date <= c.risk_cutoff_date
),

cytogenetic_findings as (
    select
        pseudonym,
        bool_or(aberration = 'del17p' and result = 'pos'
                and clonal_fraction_pct >= getvariable('risk_del17p_min_clone_pct'))   as del17p_large_clone,
        max(clonal_fraction_pct) filter (where aberration = 'del17p' and result = 'pos') as del17p_clone_pct,
        bool_or(aberration = 'tp53_mut' and result = 'pos')                            as tp53_mutated,
        bool_or(aberration = 'del1p_biallelic' and result = 'pos')                     as del1p_biallelic,
        -- a flag per HRCA, not list(distinct … order by …): the same list, and at 1,000,000 patients
        -- the whole table 5.2 → 4.0 CPU-s
        list_filter([
            case when bool_or(hrca = 'del17p' and result = 'pos') then 'del17p' end,
            case when bool_or(hrca = 't4_14' and result = 'pos') then 't4_14' end,
            case when bool_or(hrca = 't14_16' and result = 'pos') then 't14_16' end,
            case when bool_or(hrca = 't14_20' and result = 'pos') then 't14_20' end,
            case when bool_or(hrca = '1q' and result = 'pos') then '1q' end,
            case when bool_or(hrca = 'del1p' and result = 'pos') then 'del1p' end
        ], lambda h: h is not null)                                                    as positive_hrcas,
        bool_or(aberration = 'amp1q' and result = 'pos')                               as amp1q_positive,
        bool_or(aberration = 'del17p')                                                 as del17p_tested,
        bool_or(aberration = 't4_14')                                                  as t4_14_tested,
        bool_or(hrca = '1q')                                                           as gain1q_tested
    from cytogenetics
    group by pseudonym
),

labs as (
    select l.pseudonym, l.sample_date, l.analysis, l.value_std
    from stg_labs as l
    join cutoffs as c on c.pseudonym = l.pseudonym and l.sample_date <= c.risk_cutoff_date
),

-- Rule 4: each B2M sample with the creatinine sample nearest to it within
-- risk_b2m_creatinine_max_days either side (ties: the earlier creatinine).
b2m_with_creatinine as (
    select
        b.pseudonym,
        b.sample_date                                                  as b2m_date,
        b.value_std                                                    as b2m_mg_l,
        k.sample_date                                                  as creatinine_date,
        k.value_std / getvariable('creatinine_umol_per_mg_dl')         as creatinine_mg_dl
    from labs as b
    left join labs as k
        on k.pseudonym = b.pseudonym
        and k.analysis = 'kreatinin'
        and abs(k.sample_date - b.sample_date) <= getvariable('risk_b2m_creatinine_max_days')
    where b.analysis = 'b2m'
    qualify row_number() over (
        partition by b.pseudonym, b.sample_date
        order by abs(k.sample_date - b.sample_date), k.sample_date
    ) = 1
),

b2m_judged as (
    select
        *,
        coalesce(b2m_mg_l >= getvariable('risk_b2m_min_mg_l')
                 and creatinine_mg_dl < getvariable('risk_normal_creatinine_max_mg_dl'), false) as fired
    from b2m_with_creatinine
),

-- The B2M sample shown: one that fired, else the highest.
b2m_finding as (
    select pseudonym, b2m_date, b2m_mg_l, creatinine_date, creatinine_mg_dl, fired as b2m_rule
    from b2m_judged
    qualify row_number() over (partition by pseudonym order by fired desc, b2m_mg_l desc, b2m_date) = 1
),

circulating_plasma_cells as (
    select pseudonym, max(value_std) as cpc_max_pct
    from labs
    where analysis = 'cirk_plasmaceller'
    group by pseudonym
),

rules as (
    select
        c.pseudonym,
        c.diagnosis_date,
        c.first_induction_date,
        c.risk_cutoff_date,
        coalesce(g.del17p_large_clone or g.tp53_mutated, false)                    as rule_1,
        coalesce(g.del1p_biallelic, false)                                          as rule_2,
        coalesce(len(g.positive_hrcas) >= 2, false)                                 as rule_3,
        coalesce(b.b2m_rule, false)                                                 as rule_4,
        coalesce(p.cpc_max_pct > getvariable('risk_cpc_min_pct'), false)           as rule_5,
        coalesce(c.extramedullary = 'ekstraossøs', false)                          as rule_6,
        coalesce(g.del17p_tested and g.t4_14_tested and g.gain1q_tested, false)    as core_tested,
        coalesce(g.del17p_large_clone, false)                                       as del17p_large_clone,
        g.del17p_clone_pct,
        coalesce(g.tp53_mutated, false)                                             as tp53_mutated,
        coalesce(g.positive_hrcas, [])                                              as positive_hrcas,
        coalesce(g.del17p_tested, false)                                            as del17p_tested,
        coalesce(g.t4_14_tested, false)                                             as t4_14_tested,
        coalesce(g.gain1q_tested, false)                                            as gain1q_tested,
        b.b2m_date,
        b.b2m_mg_l,
        b.creatinine_date                                                           as b2m_creatinine_date,
        b.creatinine_mg_dl                                                          as b2m_creatinine_mg_dl,
        coalesce(g.amp1q_positive, false)                                           as amp1q_positive,
        p.cpc_max_pct,
        c.extramedullary
    from cutoffs as c
    left join cytogenetic_findings as g on g.pseudonym = c.pseudonym
    left join b2m_finding as b on b.pseudonym = c.pseudonym
    left join circulating_plasma_cells as p on p.pseudonym = c.pseudonym
),

fired as (
    select
        *,
        list_filter([
            case when rule_1 then '1' end, case when rule_2 then '2' end, case when rule_3 then '3' end,
            case when rule_4 then '4' end, case when rule_5 then '5' end, case when rule_6 then '6' end
        ], lambda r: r is not null) as fired_rules,
        -- each positive HRCA as written in a FISH report (gain/amp(1q) as found)
        list_transform(positive_hrcas, lambda h: case h
            when 'del17p' then 'del(17p)' when 't4_14' then 't(4;14)' when 't14_16' then 't(14;16)'
            when 't14_20' then 't(14;20)' when 'del1p' then 'del(1p)'
            when '1q' then case when amp1q_positive then 'amp(1q)' else 'gain(1q)' end end) as hrca_names,
        list_filter(['del(17p)', 't(4;14)', '1q'], lambda a:
            (a = 'del(17p)' and not del17p_tested) or (a = 't(4;14)' and not t4_14_tested)
            or (a = '1q' and not gain1q_tested))                                        as untested
    from rules
),

described as (
    select
        *,
        list_filter([
            case when rule_1 then concat_ws(' + ',
                case when del17p_large_clone then 'del(17p) ' || num_da(del17p_clone_pct, 1) || ' %' end,
                case when tp53_mutated then 'TP53-mutation' end) end,
            case when rule_2 then 'bialleisk del(1p)' end,
            case when rule_3 then array_to_string(hrca_names, ' + ') end,
            case when rule_4 then 'β2-mikroglobulin ' || num_da(b2m_mg_l, 1) || ' mg/L med normal nyrefunktion (kreatinin '
                                  || num_da(b2m_creatinine_mg_dl * getvariable('creatinine_umol_per_mg_dl'), 0) || ' µmol/L)' end,
            case when rule_5 then 'cirkulerende plasmaceller ' || num_da(cpc_max_pct, 2) || ' %' end,
            case when rule_6 then 'ekstramedullær sygdom (ekstraossøs)' end
        ], lambda f: f is not null)                                                   as findings_da,
        list_filter([
            case when rule_1 then concat_ws(' + ',
                case when del17p_large_clone then 'del(17p) ' || num_en(del17p_clone_pct, 1) || ' %' end,
                case when tp53_mutated then 'TP53 mutation' end) end,
            case when rule_2 then 'biallelic del(1p)' end,
            case when rule_3 then array_to_string(hrca_names, ' + ') end,
            case when rule_4 then 'beta-2 microglobulin ' || num_en(b2m_mg_l, 1) || ' mg/L with normal renal function (creatinine '
                                  || num_en(b2m_creatinine_mg_dl * getvariable('creatinine_umol_per_mg_dl'), 0) || ' µmol/L)' end,
            case when rule_5 then 'circulating plasma cells ' || num_en(cpc_max_pct, 2) || ' %' end,
            case when rule_6 then 'extramedullary disease (extraosseous)' end
        ], lambda f: f is not null)                                                   as findings_en
    from fired
)

select
    pseudonym,
    case when len(fired_rules) > 0 then 'high'
         when core_tested then 'standard'
         else 'unknown' end                   as risk,
    array_to_string(fired_rules, ';')         as risk_rules,
    case when len(fired_rules) > 0 then 'højrisiko (' || array_to_string(findings_da, '; ') || ')'
         when core_tested then 'standardrisiko'
         else 'risiko uoplyst (ikke undersøgt: ' || array_to_string(untested, ', ') || ')' end as risk_text_da,
    case when len(fired_rules) > 0 then 'high risk (' || array_to_string(findings_en, '; ') || ')'
         when core_tested then 'standard risk'
         else 'risk unknown (not tested: ' || array_to_string(untested, ', ') || ')' end     as risk_text_en,
    * exclude (pseudonym, fired_rules, findings_da, findings_en)
from described
