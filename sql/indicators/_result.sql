-- The result shape every indicator shares (indicators.md §1 "Statuses", "Guideline version in
-- force", §3). The loader puts one ind_ file's judged rows in the temp view `judged`
-- (pseudonym, department_code, index_date, o, drill_down; decision_date when it is not the
-- index date, with decision_label_da/_en where a row's decision date is another date than the
-- catalogue names (MM08, MM12 without induction: the first asct); pending_until when the
-- indicator has a window: the first day it is closed) and
-- the indicator's id in the variable indicator_id; this file turns them into the result:
-- excluded / GUIDELINE_VERSION when the decision date lies before the version that introduced
-- the indicator (exclusions come first); pending / WINDOW_OPEN in place of not_met or unknown
-- while the extract date is before pending_until (NULL: never pending), keeping the underlying
-- reason in the text; the recommendation label before every text; the guideline version in
-- force at the decision date.
{%- macro label(lang) -%}
{%- if 'decision_label_' ~ lang in columns -%}coalesce(j.decision_label_{{ lang }}, c.decision_date_{{ lang }})
{%- else -%}c.decision_date_{{ lang }}{%- endif -%}
{%- endmacro %}
with catalogue as (
    select *
    from ref_indicator_catalogue
    where indicator_id = getvariable('indicator_id')
),

decided as (
    select
        j.pseudonym,
        c.indicator_id,
        j.index_date,
        j.department_code,
        j.drill_down,
        v.version                                                                        as guideline_version,
        c.label_da,
        c.label_en,
        coalesce(getvariable('extract_date') < j.pending_until, false)                   as is_open,
        j.pending_until,
        (j.pending_until - j.index_date)::integer                                       as window_days,
        case when j.decision_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                 {{ label('da') }} || ' ' || dato(j.decision_date) || ' ligger før retningslinje '
                 || c.valid_from_version || ' (gældende fra ' || dato(c.in_force_from)
                 || '), som indførte den del af anbefalingen, indikatoren måler: ekskluderet',
                 {{ label('en') }} || ' ' || iso(j.decision_date) || ' is before guideline '
                 || c.valid_from_version || ' (in force from ' || iso(c.in_force_from)
                 || '), which introduced the part of the recommendation the indicator measures: excluded')
             else j.o end                                                                as o
    from (
        select
            *{% if 'decision_date' not in columns %}, index_date as decision_date{% endif %}
            {%- if 'pending_until' not in columns %}, null::date as pending_until{% endif %}
        from judged
    ) as j
    cross join catalogue as c
    join ref_guideline_versions as v on j.decision_date >= v.valid_from and j.decision_date < v.valid_to
),

pending as (
    select *, is_open and o.status in ('not_met', 'unknown') as is_pending
    from decided
)

select
    pseudonym,
    indicator_id,
    case when is_pending then 'pending' else o.status end                               as status,
    case when is_pending then 'WINDOW_OPEN' else o.reason_code end                      as reason_code,
    label_da || ': '
        || case when is_pending then 'afventer, vinduet lukker ' || dato(pending_until)
                     || ' (dag ' || days_to_extract(index_date) || ' af ' || window_days || '); foreløbig: '
                else '' end
        || o.text_da                                                                     as reason_text,
    index_date,
    guideline_version,
    department_code,
    to_json(drill_down)::varchar                                                         as values_json,
    label_en || ': '
        || case when is_pending then 'pending, the window closes ' || iso(pending_until)
                     || ' (day ' || days_to_extract(index_date) || ' of ' || window_days || '); so far: '
                else '' end
        || o.text_en                                                                     as reason_text_en
from pending
