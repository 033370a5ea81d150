-- MM09 Dual maintenance for high risk (Rec 7, B; v2.0; informational: not recommended by
-- Medicinrådet, ●●). Index date: start of the first vedligehold course after the last asct
-- (int_maintenance_after_asct). Population: in-scope patients with risk high and such a
-- course. Met: lenalidomide + a CD38 antibody in that course. Not met: NO_DUAL_MAINTENANCE,
-- naming the drugs given.
with population as (
    select
        d.pseudonym,
        d.department_code,
        m.start_date                                                          as index_date,
        m.course_id,
        m.last_asct_date,
        m.days_after_asct,
        m.has_lenalidomide,
        m.has_cd38,
        m.substances,
        risk_text_da || ', første vedligeholdelse ' || dato(m.start_date) || ' (dag ' || m.days_after_asct
            || ' efter HDT): ' || drugs_da(m.substances)                      as facts_da,
        risk_text_en || ', first maintenance ' || iso(m.start_date) || ' (day ' || m.days_after_asct
            || ' after ASCT): ' || drugs_en(m.substances)                     as facts_en
    from int_index_diagnosis as d
    join int_risk as k on k.pseudonym = d.pseudonym
    join int_maintenance_after_asct as m on m.pseudonym = d.pseudonym
    where k.risk = 'high'
)

select pseudonym, department_code, index_date,
    case
        when has_lenalidomide and has_cd38 then outcome('met', 'MET', facts_da, facts_en)
        else outcome('not_met', 'NO_DUAL_MAINTENANCE',
            facts_da || '; lenalidomid + CD38-antistof anbefalet',
            facts_en || '; lenalidomide + a CD38 antibody recommended')
    end                                                                 as o,
    {
        'maintenance_course': course_id,
        'last_asct_date': last_asct_date,
        'days_after_asct': days_after_asct,
        'maintenance_drugs': drugs_en(substances)
    }                                                                   as drill_down
from population
