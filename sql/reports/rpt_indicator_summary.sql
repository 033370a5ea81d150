-- Indicator summary (indicators.md §3, indicator_summary.csv), unsuppressed: per indicator ×
-- year of index date × level (national, region, hospital, department) × unit, the status
-- counts, numerator = met, denominator = met + not_met + unknown, the proportion with its
-- Wilson 95 % interval (NULL without a denominator), the catalogue's standard and whether
-- the proportion reaches it (NULL without standard or denominator), then met / (met +
-- not_met) as proportion_known. Units: 'Danmark'; region and hospital names; the department
-- code (its name in unit_name). A department missing from departments.csv: region and
-- hospital 'ukendt'.
with results as (
    select
        r.indicator_id,
        year(r.index_date)::integer                         as year,
        r.status,
        r.department_code,
        coalesce(dep.department_name, r.department_code)    as department_name,
        coalesce(dep.hospital, 'ukendt')                    as hospital,
        coalesce(dep.region, 'ukendt')                      as region
    from rpt_patient_results as r
    left join stg_departments as dep on dep.department_code = r.department_code
),

by_unit as (
    select indicator_id, year, 1 as level_order, 'national' as level, 'Danmark' as unit, 'Danmark' as unit_name, status
    from results
    union all
    select indicator_id, year, 2, 'region', region, region, status from results
    union all
    select indicator_id, year, 3, 'hospital', hospital, hospital, status from results
    union all
    select indicator_id, year, 4, 'department', department_code, department_name, status from results
),

counts as (
    select
        indicator_id,
        year,
        level_order,
        level,
        unit,
        any_value(unit_name)                              as unit_name,
        count(*) filter (where status = 'met')::integer        as met,
        count(*) filter (where status = 'not_met')::integer    as not_met,
        count(*) filter (where status = 'unknown')::integer    as unknown,
        count(*) filter (where status = 'justified')::integer  as justified,
        count(*) filter (where status = 'excluded')::integer   as excluded,
        count(*) filter (where status = 'pending')::integer    as pending
    from by_unit
    group by indicator_id, year, level_order, level, unit
),

proportions as (
    select
        *,
        met                                                      as numerator,
        met + not_met + unknown                                  as denominator,
        case when met + not_met + unknown > 0 then met / (met + not_met + unknown) end as proportion,
        wilson_low(met, met + not_met + unknown)                 as ci_low,
        wilson_high(met, met + not_met + unknown)                as ci_high,
        case when met + not_met > 0 then met / (met + not_met) end as proportion_known
    from counts
)

select
    p.indicator_id,
    p.year,
    p.level,
    p.unit,
    p.met,
    p.not_met,
    p.unknown,
    p.justified,
    p.excluded,
    p.pending,
    p.numerator,
    p.denominator,
    p.proportion,
    p.ci_low,
    p.ci_high,
    c.standard,
    case when c.standard is not null and p.denominator > 0 then p.proportion >= c.standard end as standard_met,
    p.proportion_known,
    p.unit_name
from proportions as p
join ref_indicator_catalogue as c on c.indicator_id = p.indicator_id
order by p.indicator_id, p.year, p.level_order, p.unit
