-- MM02 Induction regimen and cycles before harvest (Recs 2 and 6, A). Index date: first asct.
-- Population: in-scope patients with an asct. The induction: int_treatment_phases (induktion
-- courses before the first leukaferese, else before the first asct; category of the
-- predominant course, cycles summed).
-- Met: quintuplet_cd38, quadruplet_cd38, triplet_pi_imid or vcd with mm02_cycles cycles, or
-- mm02_cycles_long when every induction course has cycles of ≥ mm02_long_cycle_min_days.
-- Not met: NO_INDUCTION, REGIMEN_NOT_RECOMMENDED, INDUCTION_CYCLES. Unknown: CYCLES_UNKNOWN.
-- Known values decide: a course without cycles counts as at least one, so known cycles plus
-- one per such course above mm02_cycles is INDUCTION_CYCLES; mm02_cycles_long cycles with a
-- cycle length missing (none known to be shorter) could still be met: CYCLES_UNKNOWN.
with population as (
    select
        d.pseudonym, d.department_code, t.first_asct_date as index_date,
        coalesce(t.first_leukaferese_date, t.first_asct_date)                 as cutoff_date,
        i.course_ids,
        i.regimen_category,
        i.regimen_name,
        i.regimen_text_da, i.regimen_text_en,
        i.cycles_text_da,
        i.cycles_text_en,
        i.cycles_total,
        i.cycles_at_least,
        i.cycle_length_min,
        i.cycle_length_max,
        case when i.cycle_length_min < getvariable('mm02_long_cycle_min_days') then false
             when i.cycle_length_missing then null
             else true end                                                    as all_cycles_long,
        i.regimen_category in ('quintuplet_cd38', 'quadruplet_cd38', 'triplet_pi_imid', 'vcd') as recommended,
        case when t.first_leukaferese_date is not null then 'første leukaferese' else 'første HDT' end as cutoff_da,
        case when t.first_leukaferese_date is not null then 'the first leukapheresis' else 'the first ASCT' end as cutoff_en
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_treatment_phases as i on i.pseudonym = d.pseudonym and i.phase = 'induction'
    where t.first_asct_date is not null
),

described as (
    select
        *,
        'induktion før ' || cutoff_da || ' ' || dato(cutoff_date) || ': ' || regimen_text_da || ', ' || cycles_text_da
            as facts_da,
        'induction before ' || cutoff_en || ' ' || iso(cutoff_date) || ': ' || regimen_text_en || ', ' || cycles_text_en
            as facts_en,
        getvariable('mm02_cycles') || ' serier forventet (' || getvariable('mm02_cycles_long')
            || ' eller ' || getvariable('mm02_cycles') || ' når alle serier er ≥ '
            || getvariable('mm02_long_cycle_min_days') || ' dage)'                             as expected_da,
        getvariable('mm02_cycles') || ' cycles expected (' || getvariable('mm02_cycles_long')
            || ' or ' || getvariable('mm02_cycles') || ' when every cycle is ≥ '
            || getvariable('mm02_long_cycle_min_days') || ' days)'                             as expected_en
    from population
)

select pseudonym, department_code, index_date,
    case
        when recommended and (cycles_total = getvariable('mm02_cycles')
                              or (cycles_total = getvariable('mm02_cycles_long') and all_cycles_long))
            then outcome('met', 'MET', facts_da, facts_en)
        when regimen_category is null then outcome('not_met', 'NO_INDUCTION',
            'intet induktionsforløb startet før ' || cutoff_da || ' ' || dato(cutoff_date),
            'no induction course started before ' || cutoff_en || ' ' || iso(cutoff_date))
        when not recommended then outcome('not_met', 'REGIMEN_NOT_RECOMMENDED',
            facts_da || '; ikke et anbefalet induktionsregime (femstofs-, firstofs- eller trestofs-regime eller VCd)',
            facts_en || '; not a recommended induction (quintuplet, quadruplet, triplet or VCd)')
        when cycles_at_least > getvariable('mm02_cycles')
             or (cycles_total is not null and not (cycles_total = getvariable('mm02_cycles_long') and all_cycles_long is null))
            then outcome('not_met', 'INDUCTION_CYCLES',
                facts_da || case when cycles_total is null then '; mindst ' || cycles_at_least || ' serier givet' else '' end
                    || '; ' || expected_da,
                facts_en || case when cycles_total is null then '; at least ' || cycles_at_least || ' cycles given' else '' end
                    || '; ' || expected_en)
        else outcome('unknown', 'CYCLES_UNKNOWN',
            facts_da || case when cycles_total is null then ' (forløb ' || course_ids || ')'
                             else '; serielængde mangler, så reglen om ' || getvariable('mm02_cycles_long')
                                  || ' serier kan ikke vurderes' end,
            facts_en || case when cycles_total is null then ' (courses ' || course_ids || ')'
                             else '; cycle length missing, so the ' || getvariable('mm02_cycles_long')
                                  || '-cycle rule cannot be judged' end)
    end                                                                 as o,
    {
        'induction_courses': course_ids,
        'induction_cutoff_date': cutoff_date,
        'category': regimen_category,
        'regimen': regimen_name,
        'cycles': cycles_total,
        'cycle_length_days_min': cycle_length_min,
        'cycle_length_days_max': cycle_length_max
    }                                                                   as drill_down
from described
