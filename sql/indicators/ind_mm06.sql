-- MM06 Lenalidomide maintenance started about 3 months after HDT (Rec 5, A). Index date: the
-- last asct. Population: in-scope patients with an asct. Judged: the first vedligehold
-- course starting after the index date (int_maintenance_after_asct).
-- Window: day mm06_window_start_day–mm06_window_end_day (both included). After consolidation
-- (int_treatment_phases: konsolidering courses after the index date and before the judged
-- course) from the first consolidation start to mm06_days_after_consolidation days after the
-- consolidation's end (the latest consolidation course's start + cycles × cycle length). End
-- unknown: a course started by day mm06_window_end_day is judged with the window ending then;
-- otherwise CONSOLIDATION_END_UNKNOWN, with the earliest possible end (latest start + 1 day)
-- for pending and excluded.
-- Excluded: died or a PD response on or after the index date and before the window's end,
-- with no maintenance started before it (DIED, PROGRESSION; both: DIED, listed first).
-- Met: lenalidomide in the window. Justified: a CD38 antibody without lenalidomide in the
-- window (LENALIDOMIDE_ALTERNATIVE). Not met: EARLY_START, LATE_START, NO_MAINTENANCE,
-- OTHER_MAINTENANCE. Pending only while nothing has started and the window is open.
with population as (
    select
        d.pseudonym,
        d.department_code,
        d.death_date,
        t.last_asct_date                                                  as index_date,
        t.is_tandem,
        m.course_id,
        m.start_date                                                      as maintenance_start_date,
        m.days_after_asct                                                 as start_day,
        coalesce(m.has_lenalidomide, false)                               as has_lenalidomide,
        coalesce(m.has_cd38, false)                                       as has_cd38,
        m.substances,
        c.first_start_date                                                as consolidation_start_date,
        c.last_start_date                                                 as consolidation_last_start_date,
        c.phase_end_date                                                  as consolidation_end_date,
        c.pseudonym is not null                                           as consolidated
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    left join int_maintenance_after_asct as m on m.pseudonym = d.pseudonym
    left join int_treatment_phases as c on c.pseudonym = d.pseudonym and c.phase = 'consolidation'
    where t.last_asct_date is not null
),

progression as (
    select p.pseudonym, min(r.assessment_date) as pd_date
    from population as p
    join stg_responses as r
        on r.pseudonym = p.pseudonym and r.response = 'PD' and r.assessment_date >= p.index_date
    group by p.pseudonym
),

windows as (
    select
        p.*,
        g.pd_date,
        consolidated and consolidation_end_date is null
            and not coalesce(start_day <= getvariable('mm06_window_end_day'), false)  as end_unknown,
        case when consolidated then consolidation_start_date
             else index_date + getvariable('mm06_window_start_day') end              as window_start,
        case when not consolidated then index_date + getvariable('mm06_window_end_day')
             when consolidation_end_date is not null
                 then consolidation_end_date + getvariable('mm06_days_after_consolidation')
             when start_day <= getvariable('mm06_window_end_day')
                 then index_date + getvariable('mm06_window_end_day')
             else consolidation_last_start_date + 1 + getvariable('mm06_days_after_consolidation')
        end                                                                           as window_end
    from population as p
    left join progression as g on g.pseudonym = p.pseudonym
),

-- each event excludes when it falls before the window's end with no maintenance started before
-- it; when both do, DIED (listed first)
events as (
    select
        *,
        case when death_date < window_end and not coalesce(maintenance_start_date < death_date, false) then 'DIED'
             when pd_date < window_end and not coalesce(maintenance_start_date < pd_date, false) then 'PROGRESSION'
        end                                                                           as event_code
    from windows
),

described as (
    select
        *,
        maintenance_start_date between window_start and window_end                   as in_window,
        case event_code when 'DIED' then death_date when 'PROGRESSION' then pd_date end as event_date,
        case when consolidated then 'konsolidering fra ' || dato(consolidation_start_date)
                 || coalesce(' til ' || dato(consolidation_end_date), ' (afslutning ukendt)') || ', '
             else '' end
            || 'vindue ' || dato(window_start) || '–' || dato(window_end) || ' (dag '
            || (window_start - index_date) || '–' || (window_end - index_date) || ' efter sidste HDT '
            || dato(index_date) || ')'                                                 as window_da,
        case when consolidated then 'consolidation from ' || iso(consolidation_start_date)
                 || coalesce(' to ' || iso(consolidation_end_date), ' (end unknown)') || ', '
             else '' end
            || 'window ' || iso(window_start) || '–' || iso(window_end) || ' (day '
            || (window_start - index_date) || '–' || (window_end - index_date) || ' after the last ASCT '
            || iso(index_date) || ')'                                                  as window_en,
        'første vedligeholdelse (' || drugs_da(substances) || ') startet ' || dato(maintenance_start_date)
            || ', dag ' || start_day                                                   as started_da,
        'first maintenance (' || drugs_en(substances) || ') started ' || iso(maintenance_start_date)
            || ', day ' || start_day                                                   as started_en
    from events
)

select pseudonym, department_code, index_date,
    case when course_id is null then window_end end                     as pending_until,
    case
        when event_code is not null then outcome('excluded', event_code,
                case event_code when 'DIED' then 'død ' else 'progression (PD) ' end || dato(event_date)
                    || ', dag ' || (event_date - index_date) || ' efter sidste HDT, før vedligeholdelse; '
                    || window_da || ': ekskluderet',
                case event_code when 'DIED' then 'died ' else 'PD response ' end || iso(event_date)
                    || ', day ' || (event_date - index_date) || ' after the last ASCT, before any maintenance; '
                    || window_en || ': excluded')
        when end_unknown then outcome('unknown', 'CONSOLIDATION_END_UNKNOWN',
            'konsolideringens afslutning ukendt (serier eller serielængde mangler på sidste konsolideringsforløb '
                || dato(consolidation_last_start_date) || ')'
                || coalesce('; ' || started_da || ', efter dag ' || getvariable('mm06_window_end_day')
                            || ', så vurderingen afhænger af, hvornår konsolideringen sluttede', '; ingen vedligeholdelse startet'),
            'end of consolidation unknown (cycles or cycle length missing on the last consolidation course '
                || iso(consolidation_last_start_date) || ')'
                || coalesce('; ' || started_en || ', after day ' || getvariable('mm06_window_end_day')
                            || ', so the judgement depends on when consolidation ended', '; no maintenance started'))
        when in_window and has_lenalidomide then outcome('met', 'MET',
            started_da || '; ' || window_da, started_en || '; ' || window_en)
        when in_window and has_cd38 then outcome('justified', 'LENALIDOMIDE_ALTERNATIVE',
            started_da || '; ' || window_da || ': CD38-antistof uden lenalidomid (retningslinjen: daratumumab ved intolerans over for lenalidomid)',
            started_en || '; ' || window_en || ': CD38 antibody without lenalidomide (the guideline: daratumumab when lenalidomide is not tolerated)')
        when maintenance_start_date < window_start then outcome('not_met', 'EARLY_START',
            started_da || ', før vinduet; ' || window_da, started_en || ', before the window; ' || window_en)
        when maintenance_start_date > window_end then outcome('not_met', 'LATE_START',
            started_da || ', efter vinduet; ' || window_da, started_en || ', after the window; ' || window_en)
        when in_window then outcome('not_met', 'OTHER_MAINTENANCE',
            started_da || '; ' || window_da || ': hverken lenalidomid eller CD38-antistof',
            started_en || '; ' || window_en || ': neither lenalidomide nor a CD38 antibody')
        else outcome('not_met', 'NO_MAINTENANCE',
            'ingen vedligeholdelse startet efter sidste HDT; ' || window_da,
            'no maintenance started after the last ASCT; ' || window_en)
    end                                                                 as o,
    {
        'tandem': is_tandem,
        'maintenance_course': course_id,
        'maintenance_start_date': maintenance_start_date,
        'days_after_index': start_day,
        'maintenance_drugs': drugs_en(substances),
        'consolidation_start_date': consolidation_start_date,
        'consolidation_end_date': consolidation_end_date,
        'window_start_date': window_start,
        'window_end_date': window_end,
        'death_date': death_date,
        'pd_date': pd_date,
        'days_to_extract': days_to_extract(index_date)
    }                                                                   as drill_down
from described
