-- One delivery file's rows judged by every rule of the format, in the spec's order
-- (extract-format.md, *Bad input*): the file's own row rules (stg_<file>.sql), dates after the
-- extract date (a course end_date is exempt), rows sharing the natural key (one version: the
-- first line is kept and the rest counted as exact duplicates; several: every row of the key
-- is quarantined), then dates before the patient's birth or after the death, and rows without
-- a valid parent (patient; for drugs, treatment course). Parents are judged before their
-- children (patients, then treatment courses before drugs).
{%- set key_match = [] %}{% for c in key %}{% do key_match.append('k.' ~ c ~ ' is not distinct from t.' ~ c) %}{% endfor %}
create or replace temp table typed_{{ f.name }} as
select
    * exclude (_rule),
    coalesce(_rule
    {%- for c in date_columns %},
        rule({{ c }} > getvariable('extract_date'), 'DATE_AFTER_EXTRACT', '{{ c }} ' || strftime({{ c }}, '%d-%m-%Y')
             || ' is after the extract date ' || strftime(getvariable('extract_date'), '%d-%m-%Y'))
    {%- endfor %}) as _rule
from (
{{ typed }}
);

-- The keys more than one row shares (cheap to find); only their rows are compared in full.
create or replace temp table keys_{{ f.name }} as
with repeated as (
    select {{ key | join(', ') }} from typed_{{ f.name }} where _rule is null group by all having count(*) > 1
)
select
    {{ key | join(', ') }},
    count(distinct { {%- for c in columns %}{{ c }}: {{ c }}{% if not loop.last %}, {% endif %}{% endfor -%} }) as n_versions,
    min(_line)                          as first_line,
    list(_line order by _line)          as lines
from typed_{{ f.name }} as t
semi join repeated as k on {{ key_match | join(' and ') }}
where _rule is null
group by all;

-- the judged rows are read by the child files' judging, which may run on another connection:
-- they live in the step's in-memory database staging_work (pipelines/ingest/staging.py)
create or replace table staging_work.chk_{{ f.name }} as
with deduplicated as (
    select
        t.* exclude (_rule),
        coalesce(t._rule, case when k.n_versions > 1 then {'code': 'CONFLICTING_DUPLICATE', 'text': 'lines '
            || array_to_string(k.lines, ', ') || ' share the key ({{ key | join(", ") }}) but differ in other values'} end)
                                                                                      as _rule,
        coalesce(t._rule is null and k.n_versions = 1 and t._line <> k.first_line, false) as _duplicate
    from typed_{{ f.name }} as t
    left join keys_{{ f.name }} as k on t._rule is null and {{ key_match | join(' and ') }}
)
{%- if parent %},

-- the parent rows that survived their own rules, and the first quarantined one of each key
valid_parents as (
    select {{ parent.key }}{% if parent.key == 'pseudonym' %}, birth_date, death_date{% endif %}
    from staging_work.chk_{{ parent.name }}
    where _reason is null and not _duplicate
),

quarantined_parents as (
    select {{ parent.key }}, min(_line) as line, arg_min(_reason, _line) as reason
    from staging_work.chk_{{ parent.name }}
    where _reason is not null
    group by {{ parent.key }}
),

with_parent as (
    select
        d.* exclude (_rule),
        coalesce(d._rule, case when not d._duplicate then coalesce(
            {%- if parent.key == 'pseudonym' %}{% for c in date_columns %}
            rule(d.{{ c }} < p.birth_date, 'BEFORE_BIRTH', '{{ c }} ' || strftime(d.{{ c }}, '%d-%m-%Y')
                 || ' is before the patient''s birth date ' || strftime(p.birth_date, '%d-%m-%Y')),
            rule(d.{{ c }} > p.death_date, 'AFTER_DEATH', '{{ c }} ' || strftime(d.{{ c }}, '%d-%m-%Y')
                 || ' is after the patient''s death date ' || strftime(p.death_date, '%d-%m-%Y')),
            {%- endfor %}{% endif %}
            rule(p.{{ parent.key }} is null, 'ORPHAN', coalesce(
                'the {{ parent.label }} row for this {{ parent.key_label }} was quarantined ({{ parent.name }}.csv line '
                || q.line || ': ' || q.reason || ')', 'no {{ parent.label }} row with this {{ parent.key_label }}'))
        ) end)                                                                        as _rule
    from deduplicated as d
    left join valid_parents as p on p.{{ parent.key }} = d.{{ parent.key }}
    left join quarantined_parents as q on q.{{ parent.key }} = d.{{ parent.key }}
)
{%- endif %}

select * exclude (_rule), _rule.code as _reason, _rule.text as _reason_text
from {{ 'with_parent' if parent else 'deduplicated' }};

drop table typed_{{ f.name }};
drop table keys_{{ f.name }};
