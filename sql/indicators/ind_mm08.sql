-- MM08 Carfilzomib quadruplet or quintuplet induction for high risk (Rec 9, B; v2.0).
-- Index date: first asct. Population: in-scope patients with an asct and risk high; the
-- induction as in MM02 (int_induction). Excluded before the catalogue's valid-from version
-- (GUIDELINE_VERSION). Met: a carfilzomib-based quadruplet_cd38, or any quintuplet_cd38.
-- Not met: HIGH_RISK_INDUCTION, naming the category.
with population as (
    select
        d.pseudonym,
        d.department_code,
        t.first_asct_date                                                  as index_date,
        k.risk_rules,
        i.regimen_category,
        i.regimen_text,
        i.carfilzomib_based,
        coalesce(t.first_leukaferese_date, t.first_asct_date)              as harvest_cutoff_date,
        case when t.first_leukaferese_date is not null then 'leukaferese' else 'asct' end as harvest_cutoff_event
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    join int_risk as k on k.pseudonym = d.pseudonym
    left join int_induction as i on i.pseudonym = d.pseudonym
    where t.first_asct_date is not null and k.risk = 'high'
),

judged as (
    select
        p.*,
        c.label,
        false as is_open,
        'high risk (rules ' || p.risk_rules || '), induction '
            || coalesce(p.regimen_text || case when p.carfilzomib_based then ', carfilzomib-based' else '' end,
                        'none before ' || p.harvest_cutoff_event || ' ' || p.harvest_cutoff_date) as facts,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version || ' (in force from '
                || c.in_force_from || '), the version that introduced this recommendation')
            when p.regimen_category = 'quintuplet_cd38'
                 or (p.regimen_category = 'quadruplet_cd38' and p.carfilzomib_based)
                then outcome('met', 'MET', facts)
            else outcome('not_met', 'HIGH_RISK_INDUCTION',
                facts || '; a carfilzomib-based quadruplet or a quintuplet expected')
        end as o
    from population as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM08'
)

select
    j.pseudonym,
    'MM08'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'risk_rules', j.risk_rules,
        'category', j.regimen_category,
        'carfilzomib_based', j.carfilzomib_based,
        'induction_cutoff', j.harvest_cutoff_event,
        'induction_cutoff_date', j.harvest_cutoff_date
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
