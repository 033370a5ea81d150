-- MM12 CD38-antibody induction uptake (Rec 6, A; v2.0; informational, no standard: the
-- treatment is not recommended by Medicinrådet, guideline note ●●). Index date: first asct.
-- Population: in-scope patients with an asct; the induction as in MM02 (int_induction).
-- Excluded before the catalogue's valid-from version (GUIDELINE_VERSION). Met: induction
-- quadruplet_cd38 or quintuplet_cd38. Not met: NO_CD38_INDUCTION.
with population as (
    select
        d.pseudonym,
        d.department_code,
        t.first_asct_date                                                  as index_date,
        i.regimen_category,
        i.regimen_text,
        coalesce(t.first_leukaferese_date, t.first_asct_date)              as harvest_cutoff_date,
        case when t.first_leukaferese_date is not null then 'leukaferese' else 'asct' end as harvest_cutoff_event
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_induction as i on i.pseudonym = d.pseudonym
    where t.first_asct_date is not null
),

judged as (
    select
        p.*,
        c.label,
        false as is_open,
        'induction ' || coalesce(p.regimen_text, 'none before ' || p.harvest_cutoff_event || ' '
                                                 || p.harvest_cutoff_date) as facts,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version || ' (in force from '
                || c.in_force_from || '), the version that introduced this recommendation')
            when p.regimen_category in ('quadruplet_cd38', 'quintuplet_cd38') then outcome('met', 'MET', facts)
            else outcome('not_met', 'NO_CD38_INDUCTION', facts || '; no CD38 antibody-based induction')
        end as o
    from population as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM12'
)

select
    j.pseudonym,
    'MM12'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'category', j.regimen_category,
        'induction_cutoff', j.harvest_cutoff_event,
        'induction_cutoff_date', j.harvest_cutoff_date
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
