-- The indicator summary for the reports: every row of rpt_indicator_summary with the display
-- name of its unit and the region and hospital above it (from rpt_report_departments), ordered
-- Danmark, then each region followed by its hospitals, each hospital by its departments.
with departments as (
    select department_code, department_name, hospital, region
    from rpt_report_departments
),

hospitals as (
    select hospital, min(region) as region
    from departments
    group by hospital
),

placed as (
    select
        s.indicator_id,
        s.year,
        s.level,
        s.unit,
        s.met,
        s.not_met,
        s.unknown,
        s.justified,
        s.excluded,
        s.pending,
        s.numerator,
        s.denominator,
        s.proportion,
        s.ci_low,
        s.ci_high,
        s.standard,
        s.standard_met,
        s.proportion_known,
        case s.level
            when 'national' then 'Danmark'
            when 'department' then coalesce(d.department_name, s.unit)
            else s.unit
        end                                                       as unit_name,
        case s.level
            when 'region' then s.unit
            when 'hospital' then h.region
            when 'department' then d.region
        end                                                       as region,
        case s.level
            when 'hospital' then s.unit
            when 'department' then d.hospital
        end                                                       as hospital,
        case s.level when 'national' then 1 when 'region' then 2 when 'hospital' then 3 else 4 end as level_order
    from rpt_indicator_summary as s
    left join departments as d on s.level = 'department' and d.department_code is not distinct from s.unit
    left join hospitals as h on s.level = 'hospital' and h.hospital = s.unit
)

select
    indicator_id,
    year,
    level,
    unit,
    unit_name,
    region,
    hospital,
    met,
    not_met,
    unknown,
    justified,
    excluded,
    pending,
    numerator,
    denominator,
    proportion,
    ci_low,
    ci_high,
    standard,
    standard_met,
    proportion_known
from placed
order by
    indicator_id,
    year,
    level_order > 1,
    region,
    level_order > 2,
    hospital,
    level_order,
    unit
