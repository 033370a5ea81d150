-- The indicator catalogue (pipelines/indicators/catalogue.py) as a table: one row per
-- indicator with its recommendation labels for reason texts (Danish and English), its
-- standard (NULL: informational), and the date its valid-from guideline version came into force.
with catalogue as (
    select unnest(getvariable('indicator_catalogue'), recursive := true)
)

select
    c.indicator_id,
    c.title_da,
    c.title_en,
    c.recommendations,
    c.grade,
    'Anbefaling ' || replace(c.recommendations, ', ', ' og ') || ' (' || c.grade || ')' as label_da,
    'Rec ' || c.recommendations || ' (' || c.grade || ')'                              as label_en,
    c.index_date_da,
    c.index_date_description,
    c.decision_date_da,
    c.decision_date_en,
    c.valid_from_version,
    v.valid_from                                                                       as in_force_from,
    c.standard,
    c.standard is null                                                                 as informational,
    c.table_name,
    c.sql_file
from catalogue as c
left join ref_guideline_versions as v on v.version = c.valid_from_version
order by c.indicator_id
