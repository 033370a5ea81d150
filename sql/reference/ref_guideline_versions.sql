-- Guideline versions and the index dates each one governs (indicators.md, "Guideline
-- version in force"), read from sql/reference/guideline_versions.csv: a new version is one
-- more row there. A version is in force from its valid_from (inclusive; empty = since
-- always) until the next version's valid_from (exclusive).
with versions as (
    select version, valid_from, description
    from read_csv(
        getvariable('guideline_versions_csv'),
        header = true, delim = ',', quote = '"',
        columns = {'version': 'varchar', 'valid_from': 'date', 'description': 'varchar'}
    )
)

select
    version,
    coalesce(valid_from, '-infinity'::date)                                         as valid_from,
    coalesce(lead(valid_from) over (order by valid_from nulls first), 'infinity'::date) as valid_to,
    description
from versions
order by valid_from nulls first
