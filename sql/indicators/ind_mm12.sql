-- MM12 CD38-antibody induction uptake (Rec 6, A; v2.0; informational: not recommended by
-- Medicinrådet, ●●). Index date: first asct; decision date (guideline version): the first
-- induction start (no induction: the index date). Population: in-scope patients with an
-- asct; the induction as in MM02 (int_treatment_phases). Met: quadruplet_cd38 or
-- quintuplet_cd38. Not met: NO_CD38_INDUCTION, naming the regimen.
with population as (
    select
        d.pseudonym, d.department_code, t.first_asct_date as index_date,
        coalesce(f.first_induction_date, t.first_asct_date)                   as decision_date,
        f.first_induction_date,
        i.regimen_category,
        i.regimen_name,
        'induktion: ' || coalesce(i.regimen_text_da, 'ingen registreret')     as facts_da,
        'induction: ' || coalesce(i.regimen_text_en, 'none recorded')         as facts_en
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_first_induction as f on f.pseudonym = d.pseudonym
    left join int_treatment_phases as i on i.pseudonym = d.pseudonym and i.phase = 'induction'
    where t.first_asct_date is not null
)

select pseudonym, department_code, index_date,
    decision_date,
    -- without induction the first asct decides the guideline version: the texts say so
    case when first_induction_date is null then 'første HDT (ingen induktion registreret)' end as decision_label_da,
    case when first_induction_date is null then 'first ASCT (no induction recorded)' end       as decision_label_en,
    case
        when regimen_category in ('quadruplet_cd38', 'quintuplet_cd38') then outcome('met', 'MET', facts_da, facts_en)
        else outcome('not_met', 'NO_CD38_INDUCTION',
            facts_da || '; ingen induktion med CD38-antistof', facts_en || '; no CD38-antibody induction')
    end                                                                 as o,
    {
        'category': regimen_category,
        'regimen': regimen_name,
        'first_induction_date': first_induction_date
    }                                                                   as drill_down
from population
