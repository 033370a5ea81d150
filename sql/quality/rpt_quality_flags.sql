-- Per indicator × reporting unit (national, region, hospital, department, as in
-- indicator_summary): did the indicator's inputs fail a blocking (error) expectation, and is
-- any variable it depends on below the completeness threshold (rpt_completeness)?
-- A failing row counts for the unit of its patient (drugs: the course's patient; departments:
-- the department itself); every failure counts nationally, attributable or not.
with indicator_inputs as (
    -- the staging tables each indicator reads (pipelines/indicators/build.py indicator_inputs)
    select unnest(i.tables) as table_name, i.indicator_id
    from (select unnest(getvariable('indicator_inputs'), recursive := true)) as i
),

units as (
    select 1 as level_order, 'national' as level, 'Danmark' as unit
    union
    select distinct 2, 'region', region from qa_patient_units
    union
    select distinct 3, 'hospital', hospital from qa_patient_units
    union
    select distinct 4, 'department', department_code from qa_patient_units
),

failed_rows as (
    select
        f.table_name,
        f.expectation,
        coalesce(u.department_code, dep.department_code) as department_code
    from qa_failing_rows as f
    left join stg_treatment_courses as c on f.table_name = 'stg_drugs' and c.course_id = f.row_id
    left join qa_patient_units as u
           on u.pseudonym = case when f.table_name = 'stg_drugs' then c.pseudonym
                                 when f.table_name <> 'stg_departments' then f.row_id end
    left join stg_departments as dep on f.table_name = 'stg_departments' and dep.department_code = f.row_id
    where f.severity = 'error'
),

failed_by_unit as (
    -- nationally every failed error expectation counts, also one without listed rows
    select 'national' as level, 'Danmark' as unit, table_name, expectation, failing_rows as n
    from qa_expectation_results
    where severity = 'error' and not success
    union all
    select level, unit, table_name, expectation, count(*)
    from (
        select 'region' as level, coalesce(dep.region, 'ukendt') as unit, f.table_name, f.expectation
        from failed_rows as f left join stg_departments as dep on dep.department_code = f.department_code
        where f.department_code is not null
        union all
        select 'hospital', coalesce(dep.hospital, 'ukendt'), f.table_name, f.expectation
        from failed_rows as f left join stg_departments as dep on dep.department_code = f.department_code
        where f.department_code is not null
        union all
        select 'department', f.department_code, f.table_name, f.expectation
        from failed_rows as f
        where f.department_code is not null
    )
    group by all
),

blocking as (
    select i.indicator_id, f.level, f.unit,
           string_agg(f.table_name || '.' || f.expectation || ' (' || f.n || ')', '; '
                      order by f.table_name, f.expectation) as blocking_checks
    from failed_by_unit as f
    join indicator_inputs as i on i.table_name = f.table_name
    group by all
),

incomplete as (
    select indicator_id, level, unit,
           string_agg(variable || ' ' || round(100 * share)::integer || '%', '; ' order by variable) as incomplete_variables
    from (select unnest(indicator_ids) as indicator_id, level, unit, variable, share
          from rpt_completeness where below_threshold)
    group by all
)

select
    i.indicator_id,
    u.level,
    u.unit,
    b.blocking_checks is not null                                 as failed_blocking_check,
    b.blocking_checks,
    n.incomplete_variables is not null                            as below_completeness,
    n.incomplete_variables,
    b.blocking_checks is not null or n.incomplete_variables is not null as quality_flag
from (select distinct indicator_id from indicator_inputs) as i
cross join units as u
left join blocking as b on b.indicator_id = i.indicator_id and b.level = u.level and b.unit = u.unit
left join incomplete as n on n.indicator_id = i.indicator_id and n.level = u.level and n.unit = u.unit
order by i.indicator_id, u.level_order, u.unit
