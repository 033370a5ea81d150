-- The induction per patient (indicators.md, MM02): the induktion courses starting before the
-- first leukaferese, or before the first asct when there is no harvest; their drugs pooled
-- and their cycles summed (indicators.md, "Regimen category").
-- Without harvest and asct (MM05's deferral branch) the induction is the induktion courses
-- starting before the first efter_induktion response with MRD negative: the induction the
-- deferral rests on (guideline Rec 8, "MRD-negativitet efter fire serier induktion").
-- With none of these events every induktion course counts.
-- One row per patient with at least one such course; none = no induction.
with mrd_negative as (
    select pseudonym, min(assessment_date) as first_mrd_negative_date
    from stg_responses
    where timepoint = 'efter_induktion' and mrd = 'neg'
    group by pseudonym
),

cutoffs as (
    select
        p.pseudonym,
        case when t.first_leukaferese_date is not null then 'leukaferese'
             when t.first_asct_date is not null then 'asct'
             when m.first_mrd_negative_date is not null then 'mrd_negative_response'
             else 'none' end                                                       as cutoff_event,
        coalesce(t.first_leukaferese_date, t.first_asct_date, m.first_mrd_negative_date) as cutoff_date
    from stg_patients as p
    left join int_transplants as t on t.pseudonym = p.pseudonym
    left join mrd_negative as m on m.pseudonym = p.pseudonym
),

courses as (
    select r.*, c.cutoff_event, c.cutoff_date
    from int_course_regimens as r
    join cutoffs as c on c.pseudonym = r.pseudonym
    where r.phase = 'induktion'
      and (c.cutoff_date is null or r.start_date < c.cutoff_date)
),

pooled as (
    select
        pseudonym,
        any_value(cutoff_event)                                         as cutoff_event,
        any_value(cutoff_date)                                          as cutoff_date,
        count(*)                                                        as n_courses,
        string_agg(course_id, ', ' order by start_date, course_id)      as course_ids,
        min(start_date)                                                 as first_start_date,
        case when not bool_or(cycles is null) then sum(cycles) end      as cycles_total,
        bool_or(cycles is null)                                         as cycles_missing,
        min(cycle_length_days)                                          as min_cycle_length_days,
        max(cycle_length_days)                                          as max_cycle_length_days,
        bool_or(cycle_length_days is null)                              as cycle_length_missing,
        bool_or(has_pi)                                                 as has_pi,
        bool_or(has_imid)                                               as has_imid,
        bool_or(has_cd38)                                               as has_cd38,
        bool_or(has_dexamethasone)                                      as has_dexamethasone,
        bool_or(has_cyclophosphamide)                                   as has_cyclophosphamide,
        bool_or(has_bortezomib)                                         as has_bortezomib,
        bool_or(has_carfilzomib)                                        as has_carfilzomib,
        list_sort(list_distinct(flatten(list(substances))))             as substances
    from courses
    group by pseudonym
),

categorised as (
    select
        *,
        regimen_category(has_cd38, has_pi, has_imid, has_dexamethasone, has_cyclophosphamide, has_bortezomib)
            as regimen_category
    from pooled
)

select
    *,
    regimen_category in ('quintuplet_cd38', 'quadruplet_cd38', 'triplet_pi_imid') and has_carfilzomib
        as carfilzomib_based,
    regimen_category || ' (' || array_to_string(substances, ', ') || ')' as regimen_text
from categorised
