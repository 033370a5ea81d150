-- The indicator catalogue (pipelines/indicators/catalogue.py) as a table: one row per
-- indicator with its recommendation label for reason texts, its standard, and the date its
-- valid-from guideline version came into force.
with catalogue as (
    select unnest(getvariable('indicator_catalogue'), recursive := true)
)

select
    c.indicator_id,
    c.title_da,
    c.title_en,
    c.recommendations,
    c.grade,
    'Rec ' || c.recommendations || ' (' || c.grade || ')' as label,
    c.index_date_description,
    c.valid_from_version,
    v.valid_from                                         as in_force_from,
    c.standard,
    c.table_name,
    c.sql_file
from catalogue as c
left join ref_guideline_versions as v on v.version = c.valid_from_version
order by c.indicator_id
