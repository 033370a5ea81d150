-- MM02 Induction regimen and cycles before harvest (Recs 2 and 6, A). Index date: first asct.
-- Population: in-scope patients with an asct. The induction: int_induction (induktion
-- courses before the first leukaferese, else before the first asct; pooled).
-- Met: category quintuplet_cd38, quadruplet_cd38, triplet_pi_imid or vcd and cycles total
-- mm02_cycles, or mm02_cycles_long when every induction course has cycles of
-- ≥ mm02_long_cycle_min_days. Not met: NO_INDUCTION, REGIMEN_NOT_RECOMMENDED, INDUCTION_CYCLES.
-- Unknown: CYCLES_UNKNOWN. A recommended regimen with mm02_cycles_long cycles whose cycle
-- length is missing for a course (none known to be shorter) cannot be judged: CYCLES_UNKNOWN.
with population as (
    select
        d.pseudonym,
        d.department_code,
        t.first_asct_date as index_date,
        i.cutoff_event,
        i.cutoff_date,
        i.course_ids,
        i.regimen_category,
        i.regimen_text,
        i.cycles_total,
        i.min_cycle_length_days,
        i.max_cycle_length_days,
        i.cycle_length_missing,
        case when i.min_cycle_length_days < getvariable('mm02_long_cycle_min_days') then false
             when i.cycle_length_missing then null
             else true end                                                    as all_cycles_long,
        coalesce(t.first_leukaferese_date, t.first_asct_date)                 as harvest_cutoff_date,
        case when t.first_leukaferese_date is not null then 'leukaferese' else 'asct' end as harvest_cutoff_event
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_induction as i on i.pseudonym = d.pseudonym
    where t.first_asct_date is not null
),

described as (
    select
        *,
        regimen_category in ('quintuplet_cd38', 'quadruplet_cd38', 'triplet_pi_imid', 'vcd') as recommended,
        'induction ' || regimen_text || ', '
            || coalesce(cycles_total || ' cycles', 'number of cycles missing')
            || case when cycle_length_missing then ', cycle length missing'
                    when min_cycle_length_days = max_cycle_length_days then ' of ' || min_cycle_length_days || ' days'
                    else ' of ' || min_cycle_length_days || '–' || max_cycle_length_days || ' days' end
            || ', before ' || harvest_cutoff_event || ' ' || harvest_cutoff_date                as facts,
        getvariable('mm02_cycles') || ' cycles expected (' || getvariable('mm02_cycles_long')
            || ' when every cycle is ≥ ' || getvariable('mm02_long_cycle_min_days') || ' days)' as expected
    from population
),

judged as (
    select
        p.*,
        c.label,
        false as is_open,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when p.recommended
                 and (p.cycles_total = getvariable('mm02_cycles')
                      or (p.cycles_total = getvariable('mm02_cycles_long') and p.all_cycles_long))
                then outcome('met', 'MET', p.facts)
            when p.regimen_category is null then outcome('not_met', 'NO_INDUCTION',
                'no induktion course started before ' || p.harvest_cutoff_event || ' ' || p.harvest_cutoff_date)
            when not p.recommended then outcome('not_met', 'REGIMEN_NOT_RECOMMENDED',
                p.facts || '; not a recommended induction (quintuplet_cd38, quadruplet_cd38, triplet_pi_imid or vcd)')
            when p.cycles_total is null then outcome('unknown', 'CYCLES_UNKNOWN',
                p.facts || ' (courses ' || p.course_ids || ')')
            when p.cycles_total = getvariable('mm02_cycles_long') and p.all_cycles_long is null
                then outcome('unknown', 'CYCLES_UNKNOWN',
                    p.facts || '; cycle length missing, so the ' || getvariable('mm02_cycles_long')
                    || '-cycle rule cannot be judged')
            else outcome('not_met', 'INDUCTION_CYCLES', p.facts || '; ' || p.expected)
        end as o
    from described as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM02'
)

select
    j.pseudonym,
    'MM02'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'induction_courses', j.course_ids,
        'induction_cutoff', j.harvest_cutoff_event,
        'induction_cutoff_date', j.harvest_cutoff_date,
        'category', j.regimen_category,
        'cycles', j.cycles_total,
        'cycle_length_days_min', j.min_cycle_length_days,
        'cycle_length_days_max', j.max_cycle_length_days
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
