-- MM06 Lenalidomide maintenance started about 3 months after HDT (Rec 5, A). Index date: the
-- last asct. Population: in-scope patients with an asct. Judged: the first vedligehold
-- course starting after the index date (int_maintenance_after_asct), window day
-- mm06_window_start_day–mm06_window_end_day inclusive.
-- Excluded: died or a PD response on day 0 up to before day mm06_window_end_day, with no
-- maintenance started before that event (DIED, PROGRESSION; the earlier event, DIED on a tie).
-- Met: lenalidomide course in the window. Justified: CD38 antibody without lenalidomide in
-- the window (LENALIDOMIDE_ALTERNATIVE). Not met: EARLY_START, LATE_START, NO_MAINTENANCE,
-- OTHER_MAINTENANCE. Pending only while nothing has started and the window is open (the
-- spec's MM06 rule): an early start or other maintenance is final once it has happened.
with population as (
    select
        d.pseudonym,
        d.department_code,
        d.death_date,
        t.last_asct_date as index_date,
        t.is_tandem
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    where t.last_asct_date is not null
),

progression as (
    select p.pseudonym, min(r.assessment_date) as pd_date
    from population as p
    join stg_responses as r
        on r.pseudonym = p.pseudonym and r.response = 'PD' and r.assessment_date >= p.index_date
    group by p.pseudonym
),

events as (
    select
        p.*,
        m.course_id,
        m.start_date                       as maintenance_start_date,
        m.days_after_asct                  as start_day,
        m.has_lenalidomide,
        m.has_cd38,
        m.substances_text,
        g.pd_date,
        -- the first censoring event before the window's end
        case when p.death_date - p.index_date < getvariable('mm06_window_end_day')
                  and (g.pd_date is null or p.death_date <= g.pd_date) then 'DIED'
             when g.pd_date - p.index_date < getvariable('mm06_window_end_day') then 'PROGRESSION'
        end                                as event_code,
        case when p.death_date - p.index_date < getvariable('mm06_window_end_day')
                  and (g.pd_date is null or p.death_date <= g.pd_date) then p.death_date
             when g.pd_date - p.index_date < getvariable('mm06_window_end_day') then g.pd_date
        end                                as event_date
    from population as p
    left join int_maintenance_after_asct as m on m.pseudonym = p.pseudonym
    left join progression as g on g.pseudonym = p.pseudonym
),

described as (
    select
        *,
        start_day between getvariable('mm06_window_start_day') and getvariable('mm06_window_end_day') as in_window,
        'first maintenance course ' || course_id || ' (' || substances_text || ') started '
            || maintenance_start_date || ', day ' || start_day || ' after asct ' || index_date  as facts,
        ' (window day ' || getvariable('mm06_window_start_day') || '–'
            || getvariable('mm06_window_end_day') || ')'                                      as window_text
    from events
),

judged as (
    select
        p.*,
        c.label,
        p.course_id is null and window_open(p.index_date, getvariable('mm06_window_end_day')) as is_open,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when p.event_code is not null and not coalesce(p.maintenance_start_date < p.event_date, false)
                then outcome('excluded', p.event_code,
                    case p.event_code when 'DIED' then 'died ' else 'PD response ' end || p.event_date
                    || ', day ' || (p.event_date - p.index_date) || ' after asct ' || p.index_date
                    || ', before any maintenance: excluded')
            when p.in_window and p.has_lenalidomide then outcome('met', 'MET', p.facts || p.window_text)
            when p.in_window and p.has_cd38 then outcome('justified', 'LENALIDOMIDE_ALTERNATIVE',
                p.facts || p.window_text || ': CD38 antibody without lenalidomide (daratumumab when '
                || 'lenalidomide is not tolerated)')
            when p.start_day < getvariable('mm06_window_start_day') then outcome('not_met', 'EARLY_START',
                p.facts || ', before day ' || getvariable('mm06_window_start_day') || p.window_text)
            when p.start_day > getvariable('mm06_window_end_day') then outcome('not_met', 'LATE_START',
                p.facts || ', after day ' || getvariable('mm06_window_end_day') || p.window_text)
            when p.in_window then outcome('not_met', 'OTHER_MAINTENANCE',
                p.facts || p.window_text || ': neither lenalidomide nor a CD38 antibody')
            else outcome('not_met', 'NO_MAINTENANCE',
                'no maintenance course started by day ' || getvariable('mm06_window_end_day')
                || ' after asct ' || p.index_date)
        end as o
    from described as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM06'
)

select
    j.pseudonym,
    'MM06'                                                                                     as indicator_id,
    result_status(j.o, j.is_open)                                                              as status,
    result_code(j.o, j.is_open)                                                                as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, getvariable('mm06_window_end_day'))    as reason_text,
    j.index_date,
    v.version                                                                                  as guideline_version,
    j.department_code,
    json_object(
        'tandem', j.is_tandem,
        'maintenance_course', j.course_id,
        'maintenance_start_date', j.maintenance_start_date,
        'days_after_index', j.start_day,
        'maintenance_drugs', j.substances_text,
        'death_date', j.death_date,
        'pd_date', j.pd_date,
        'days_to_extract', days_to_extract(j.index_date)
    )::varchar                                                                                 as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
