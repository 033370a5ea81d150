-- Treatment phases made of several courses (indicators.md, "Regimen category"), one row per
-- patient × phase (× anchor): a phase's category is that of its predominant course (never the
-- drugs pooled across courses), its cycles the sum over its courses (phase_summary).
-- induction: the induktion courses starting before the first leukaferese, before the first
--   asct when there is no harvest, every induktion course when there is neither (MM02).
-- consolidation: the konsolidering courses starting after the last asct and before the first
--   vedligehold course after it, every such course while none has started (MM06, MM13).
-- induction_before_response: per efter_induktion response with MRD negative (anchor_date),
--   the induktion courses starting before it (MM05's deferral; nothing to cut at otherwise).
-- phase_end_date: the latest course's start + its cycles × cycle length, NULL when that
-- course lacks either (MM06's consolidation end). Courses starting on the same day are ordered
-- as for the predominant course (category table, then file): the one it prefers is the latest.
-- A phase of several courses names them all in its regimen text, each with its cycles
-- ("dominerende af 2 forløb: 1 × VCd + 3 × D-VRd"): the category is the predominant course's,
-- the cycles are summed over all of them.
with mrd_negative_responses as (
    select distinct pseudonym, assessment_date
    from stg_responses
    where timepoint = 'efter_induktion' and mrd = 'neg'
),

members as (
    select 'induction' as phase, null::date as anchor_date, r.*,
           coalesce(t.first_leukaferese_date, t.first_asct_date) as cutoff_date,
           case when t.first_leukaferese_date is not null then 'leukaferese'
                when t.first_asct_date is not null then 'asct' end as cutoff_event
    from int_course_regimens as r
    left join int_transplants as t on t.pseudonym = r.pseudonym
    where r.phase = 'induktion'
      and (r.start_date < coalesce(t.first_leukaferese_date, t.first_asct_date)
           or coalesce(t.first_leukaferese_date, t.first_asct_date) is null)
    union all
    select 'consolidation', null, r.*, m.start_date, 'vedligehold'
    from int_course_regimens as r
    join int_transplants as t on t.pseudonym = r.pseudonym
    left join int_maintenance_after_asct as m on m.pseudonym = r.pseudonym
    where r.phase = 'konsolidering' and r.start_date > t.last_asct_date
      and (r.start_date < m.start_date or m.start_date is null)
    union all
    select 'induction_before_response', g.assessment_date, r.*, g.assessment_date, 'efter_induktion'
    from int_course_regimens as r
    join mrd_negative_responses as g on g.pseudonym = r.pseudonym and r.start_date < g.assessment_date
    where r.phase = 'induktion'
),

phases as (
    select
        pseudonym,
        phase,
        anchor_date,
        any_value(cutoff_date)                                                  as cutoff_date,
        any_value(cutoff_event)                                                 as cutoff_event,
        phase_summary(course_id, cycles, cycle_length_days, start_date, regimen_category, _line) as summary,
        -- arg_max_null: the latest course's end even when it is NULL (that course lacks cycles)
        arg_max_null(start_date + cycles * cycle_length_days,
                     {'start': start_date, 'table_row': -regimen_table_row(regimen_category), 'line': -_line})
                                                                                as phase_end_date
    from members
    group by pseudonym, phase, anchor_date
),

-- the courses of a phase of several, as the texts list them (in phase_summary's order of
-- course_ids: never by line, the text must not depend on the rows' order in the file)
several_courses as (
    select
        m.pseudonym,
        m.phase,
        m.anchor_date,
        count(*)                                                                as n_courses,
        string_agg(coalesce(m.cycles || ' × ', '') || coalesce(regimen_name(m.substances), '(' || drugs_da(m.substances) || ')')
                   || case when m.cycles is null then ' (antal serier mangler)' else '' end, ' + '
                   order by m.start_date, regimen_table_row(m.regimen_category), m.course_id) as courses_da,
        string_agg(coalesce(m.cycles || ' × ', '') || coalesce(regimen_name(m.substances), '(' || drugs_en(m.substances) || ')')
                   || case when m.cycles is null then ' (number of cycles missing)' else '' end, ' + '
                   order by m.start_date, regimen_table_row(m.regimen_category), m.course_id) as courses_en
    from members as m
    semi join phases as s
        on s.pseudonym = m.pseudonym and s.phase = m.phase and s.anchor_date is not distinct from m.anchor_date
           and s.summary.n_courses > 1
    group by m.pseudonym, m.phase, m.anchor_date
),

-- the texts of each regimen once: a delivery has a few dozen combinations of drugs
regimen_names as (
    select
        regimen_category,
        substances,
        regimen_name(substances)                                               as regimen_name,
        regimen_given_da(regimen_category, substances)                         as regimen_text_da,
        regimen_given_en(regimen_category, substances)                         as regimen_text_en
    from (select distinct regimen_category, substances from int_course_regimens)
)

select
    p.pseudonym,
    p.phase,
    p.anchor_date,
    p.cutoff_date,
    p.cutoff_event,
    p.summary.predominant_course_id,
    p.summary.n_courses,
    p.summary.course_ids,
    p.summary.first_start_date,
    p.summary.last_start_date,
    p.phase_end_date,
    p.summary.cycles_total,
    p.summary.cycles_known,
    p.summary.cycles_at_least,
    p.summary.cycle_length_min,
    p.summary.cycle_length_max,
    p.summary.cycle_length_missing,
    cycles_da(p.summary)                                              as cycles_text_da,
    cycles_en(p.summary)                                              as cycles_text_en,
    r.regimen_category,
    r.carfilzomib_based,
    r.substances,
    n.regimen_name,
    n.regimen_text_da || coalesce(' (dominerende af ' || c.n_courses || ' forløb: ' || c.courses_da || ')', '')
                                                                      as regimen_text_da,
    n.regimen_text_en || coalesce(' (predominant of ' || c.n_courses || ' courses: ' || c.courses_en || ')', '')
                                                                      as regimen_text_en
from phases as p
join int_course_regimens as r on r.course_id = p.summary.predominant_course_id
join regimen_names as n on n.regimen_category = r.regimen_category and n.substances = r.substances
left join several_courses as c
    on c.pseudonym = p.pseudonym and c.phase = p.phase and c.anchor_date is not distinct from p.anchor_date
