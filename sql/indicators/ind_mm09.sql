-- MM09 Dual maintenance for high risk (Rec 7, B; v2.0). Index date: start of the first
-- vedligehold course after the last asct (int_maintenance_after_asct). Population: in-scope
-- patients with risk high and such a course. Excluded before the catalogue's valid-from
-- version (GUIDELINE_VERSION). Met: lenalidomide + a CD38 antibody in that course.
-- Not met: SINGLE_AGENT_MAINTENANCE (whatever else the course holds).
with population as (
    select
        d.pseudonym,
        d.department_code,
        m.start_date        as index_date,
        m.course_id,
        m.last_asct_date,
        m.days_after_asct,
        m.has_lenalidomide,
        m.has_cd38,
        m.substances_text,
        k.risk_rules
    from int_index_diagnosis as d
    join int_risk as k on k.pseudonym = d.pseudonym
    join int_maintenance_after_asct as m on m.pseudonym = d.pseudonym
    where k.risk = 'high'
),

judged as (
    select
        p.*,
        c.label,
        false as is_open,
        'high risk (rules ' || p.risk_rules || '), first maintenance course ' || p.course_id || ' from '
            || p.index_date || ' (day ' || p.days_after_asct || ' after asct ' || p.last_asct_date
            || ') with ' || coalesce(nullif(p.substances_text, ''), 'no drugs recorded')          as facts,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version || ' (in force from '
                || c.in_force_from || '), the version that introduced this recommendation')
            when p.has_lenalidomide and p.has_cd38 then outcome('met', 'MET', facts)
            else outcome('not_met', 'SINGLE_AGENT_MAINTENANCE',
                facts || '; lenalidomide + a CD38 antibody expected')
        end as o
    from population as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM09'
)

select
    j.pseudonym,
    'MM09'                                                          as indicator_id,
    result_status(j.o, j.is_open)                                   as status,
    result_code(j.o, j.is_open)                                     as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, null)       as reason_text,
    j.index_date,
    v.version                                                       as guideline_version,
    j.department_code,
    json_object(
        'risk_rules', j.risk_rules,
        'maintenance_course', j.course_id,
        'last_asct_date', j.last_asct_date,
        'days_after_asct', j.days_after_asct,
        'maintenance_drugs', j.substances_text
    )::varchar                                                      as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
