-- MM13 Consolidation: at most mm13_max_cycles cycles with the induction's regimen (Recs 2
-- and 6, A). Index date: start of the first konsolidering course after the last asct and
-- before maintenance. Population: such patients. The consolidation and the induction (as in
-- MM02) from int_treatment_phases; categories compare as codes (other = other).
-- Cycle limit mm13_max_cycles, for risk high mm13_max_cycles_high_risk (risk unknown: the
-- ordinary limit). No window: the courses recorded at the extract date are judged.
-- Met: cycles within the limit and the induction's category. Not met: CONSOLIDATION_REGIMEN
-- (judged first), CONSOLIDATION_CYCLES (a course without cycles counts as at least one).
-- Unknown: CYCLES_UNKNOWN, then INDUCTION_UNKNOWN (no induction recorded).
with population as (
    select
        d.pseudonym,
        d.department_code,
        c.first_start_date                                                    as index_date,
        c.regimen_category,
        c.regimen_name,
        c.regimen_text_da, c.regimen_text_en,
        c.cycles_text_da,
        c.cycles_text_en,
        c.cycles_total,
        c.cycles_at_least,
        i.regimen_category                                                    as induction_category,
        i.regimen_name                                                        as induction_regimen,
        i.regimen_text_da                                                     as induction_text_da,
        i.regimen_text_en                                                     as induction_text_en,
        k.risk,
        case when k.risk = 'high' then getvariable('mm13_max_cycles_high_risk')
             else getvariable('mm13_max_cycles') end                          as max_cycles
    from int_index_diagnosis as d
    join int_treatment_phases as c on c.pseudonym = d.pseudonym and c.phase = 'consolidation'
    left join int_treatment_phases as i on i.pseudonym = d.pseudonym and i.phase = 'induction'
    left join int_risk as k on k.pseudonym = d.pseudonym
),

described as (
    select
        *,
        'konsolidering: ' || regimen_text_da || ', ' || cycles_text_da || '; induktion: '
            || coalesce(induction_text_da, 'ingen registreret')                             as facts_da,
        'consolidation: ' || regimen_text_en || ', ' || cycles_text_en || '; induction: '
            || coalesce(induction_text_en, 'none recorded')                                  as facts_en,
        'højst ' || max_cycles || ' serier'
            || case when risk = 'high' then ' ved højrisiko'
                    when risk = 'unknown' then ' (risiko uoplyst: grænsen for standardrisiko)' else '' end as limit_da,
        'at most ' || max_cycles || ' cycles'
            || case when risk = 'high' then ' for high risk'
                    when risk = 'unknown' then ' (risk unknown: the standard-risk limit)' else '' end      as limit_en
    from population
)

select pseudonym, department_code, index_date,
    case
        when regimen_category = induction_category and cycles_total <= max_cycles
            then outcome('met', 'MET', facts_da || ' (' || limit_da || ')', facts_en || ' (' || limit_en || ')')
        when regimen_category <> induction_category then outcome('not_met', 'CONSOLIDATION_REGIMEN',
            facts_da || ': konsolidering med et andet regime end induktionen',
            facts_en || ': consolidation with another regimen than the induction')
        when cycles_at_least > max_cycles then outcome('not_met', 'CONSOLIDATION_CYCLES',
            facts_da || case when cycles_total is null then '; mindst ' || cycles_at_least || ' konsolideringsserier givet'
                                 else '' end || ': ' || limit_da,
            facts_en || case when cycles_total is null then '; at least ' || cycles_at_least || ' consolidation cycles given'
                                 else '' end || ': ' || limit_en)
        when cycles_total is null then outcome('unknown', 'CYCLES_UNKNOWN',
            facts_da || ': antal konsolideringsserier mangler (' || limit_da || ')',
            facts_en || ': number of consolidation cycles missing (' || limit_en || ')')
        else outcome('unknown', 'INDUCTION_UNKNOWN',
            facts_da || ': ingen induktion registreret at sammenligne med',
            facts_en || ': no induction recorded to compare with')
    end                                                                 as o,
    {
        'category': regimen_category,
        'regimen': regimen_name,
        'induction_category': induction_category,
        'induction_regimen': induction_regimen,
        'cycles': cycles_total,
        'max_cycles': max_cycles,
        'risk': risk
    }                                                                   as drill_down
from described
