-- MM08 Carfilzomib quadruplet or quintuplet induction for high risk (Rec 9, B; v2.0;
-- informational: not recommended by Medicinrådet, ●●). Index date: first asct; decision date
-- (guideline version): the first induction start, when the regimen was chosen (no induction:
-- the index date). Population: in-scope patients with an asct and risk high; the induction as
-- in MM02 (int_treatment_phases). Met: a carfilzomib-based quadruplet_cd38 or any
-- quintuplet_cd38. Not met: HIGH_RISK_INDUCTION, naming the regimen.
with population as (
    select
        d.pseudonym, d.department_code, t.first_asct_date as index_date,
        coalesce(f.first_induction_date, t.first_asct_date)                   as decision_date,
        f.first_induction_date,
        k.risk_text_da, k.risk_text_en,
        i.regimen_category,
        i.regimen_name,
        i.carfilzomib_based,
        i.regimen_text_da,
        i.regimen_text_en
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_first_induction as f on f.pseudonym = d.pseudonym
    join int_risk as k on k.pseudonym = d.pseudonym
    left join int_treatment_phases as i on i.pseudonym = d.pseudonym and i.phase = 'induction'
    where t.first_asct_date is not null and k.risk = 'high'
),

described as (
    select
        *,
        risk_text_da || ', induktion: ' || coalesce(regimen_text_da
            || case when carfilzomib_based then ', carfilzomib-baseret' else '' end, 'ingen registreret') as facts_da,
        risk_text_en || ', induction: ' || coalesce(regimen_text_en
            || case when carfilzomib_based then ', carfilzomib-based' else '' end, 'none recorded')       as facts_en
    from population
)

select pseudonym, department_code, index_date,
    decision_date,
    -- without induction the first asct decides the guideline version: the texts say so
    case when first_induction_date is null then 'første HDT (ingen induktion registreret)' end as decision_label_da,
    case when first_induction_date is null then 'first ASCT (no induction recorded)' end       as decision_label_en,
    case
        when regimen_category = 'quintuplet_cd38' or (regimen_category = 'quadruplet_cd38' and carfilzomib_based)
            then outcome('met', 'MET', facts_da, facts_en)
        else outcome('not_met', 'HIGH_RISK_INDUCTION',
            facts_da || '; anbefalet: firstofs-regime med carfilzomib eller femstofs-regime',
            facts_en || '; a carfilzomib-based quadruplet or a quintuplet recommended')
    end                                                                 as o,
    {
        'category': regimen_category,
        'regimen': regimen_name,
        'carfilzomib_based': carfilzomib_based,
        'first_induction_date': first_induction_date
    }                                                                   as drill_down
from described
