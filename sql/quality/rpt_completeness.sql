-- Completeness of the inputs indicators depend on, per reporting unit (national, region,
-- hospital, department, as in indicator_summary) and variable: the share of the variable's
-- population that has the value, and whether it is below the threshold
-- (getvariable('completeness_threshold'), default 0.90). Patients are attributed to units by
-- their index diagnosis (qa_patient_units); patients out of scope are not counted.
-- Windows follow the indicator spec's parameters (defaults when the variable is not set).
with params as (
    select
        coalesce(getvariable('completeness_threshold'), 0.90)::double as threshold,
        coalesce(getvariable('hdt_age_limit'), 70)                    as hdt_age_limit,
        coalesce(getvariable('crcl_lookback_days'), 30)               as crcl_days,
        coalesce(getvariable('bsa_lookback_days'), 30)                as bsa_days,
        coalesce(getvariable('tandem_max_days'), 180)                 as tandem_days
),

first_course as (
    select *
    from stg_treatment_courses
    qualify row_number() over (partition by pseudonym, phase order by start_date, course_id) = 1
),

asct as (
    select pseudonym, procedure_date, row_number() over (partition by pseudonym order by procedure_date) as n
    from stg_procedures
    where procedure = 'asct'
),

tandem as (
    select a1.pseudonym, a1.procedure_date as first_asct_date, a2.procedure_date as second_asct_date
    from asct as a1
    join asct as a2 on a2.pseudonym = a1.pseudonym and a1.n = 1 and a2.n = 2
    where a2.procedure_date - a1.procedure_date <= (select tandem_days from params)
),

-- the index diagnosis's own variables: its row in qa_patient_units holds the patient's units
unit_items as (
    select 'ecog_ps' as variable, department_code, department_name, hospital, region, ecog_ps is not null as present
    from qa_patient_units
    union all
    select 'comorbidity', department_code, department_name, hospital, region, comorbidity is not null
    from qa_patient_units
    union all
    select 'hdt_evaluated', department_code, department_name, hospital, region, hdt_evaluated is not null
    from qa_patient_units where age_at_diagnosis <= (select hdt_age_limit from params)
    union all
    select 'hdt_candidate', department_code, department_name, hospital, region, hdt_candidate is not null
    from qa_patient_units where hdt_evaluated
    union all
    select 'sex', department_code, department_name, hospital, region, sex is not null from qa_patient_units
),

-- the other variables, per patient (attributed to the patient's units below)
items as (
    select 'creatinine_before_conditioning' as variable, c.pseudonym,
           exists (select 1 from stg_labs as l
                   where l.pseudonym = c.pseudonym and l.analysis = 'kreatinin'
                     and l.sample_date between c.start_date - (select crcl_days from params)::integer and c.start_date)
                                                                                       as present
    from first_course as c where c.phase = 'konditionering'
    union all
    select 'weight_before_conditioning', c.pseudonym,
           exists (select 1 from stg_anthropometrics as a
                   where a.pseudonym = c.pseudonym and a.weight_kg is not null
                     and a.measure_date between c.start_date - (select crcl_days from params)::integer and c.start_date)
    from first_course as c where c.phase = 'konditionering'
    union all
    select 'height_weight_before_priming', c.pseudonym,
           exists (select 1 from stg_anthropometrics as a
                   where a.pseudonym = c.pseudonym and a.weight_kg is not null and a.height_cm is not null
                     and a.measure_date between c.start_date - (select bsa_days from params)::integer and c.start_date)
    from first_course as c where c.phase = 'mobilisering'
    union all
    select 'cytogenetics_before_induction', c.pseudonym,
           (select count(distinct case when g.aberration in ('gain1q', 'amp1q') then '1q' else g.aberration end)
            from stg_cytogenetics as g
            where g.pseudonym = c.pseudonym and g.sample_date <= c.start_date
              and g.aberration in ('del17p', 't4_14', 'gain1q', 'amp1q')) = 3
    from first_course as c where c.phase = 'induktion'
    union all
    select 'induction_cycles', pseudonym, cycles is not null from stg_treatment_courses where phase = 'induktion'
    union all
    select 'induction_cycle_length', pseudonym, cycle_length_days is not null from stg_treatment_courses where phase = 'induktion'
    union all
    select 'consolidation_cycles', pseudonym, cycles is not null and cycle_length_days is not null
    from stg_treatment_courses where phase = 'konsolidering'
    union all
    select 'maintenance_cycle_length', pseudonym, cycle_length_days is not null from stg_treatment_courses where phase = 'vedligehold'
    union all
    select 'mrd_sensitivity', pseudonym, mrd_sensitivity is not null
    from stg_responses where timepoint = 'efter_induktion' and mrd = 'neg'
    union all
    select 'drug_dose', c.pseudonym, d.dose is not null and d.dose_unit is not null
    from stg_drugs as d join stg_treatment_courses as c on c.course_id = d.course_id
    where c.phase in ('mobilisering', 'konditionering', 'vedligehold')
    union all
    select 'drug_days', c.pseudonym, d.days is not null
    from stg_drugs as d join stg_treatment_courses as c on c.course_id = d.course_id
    where c.phase in ('mobilisering', 'konditionering', 'vedligehold')
    union all
    select 'response_after_first_asct_for_tandem', t.pseudonym,
           exists (select 1 from stg_responses as r
                   where r.pseudonym = t.pseudonym and r.timepoint = 'efter_asct'
                     and r.assessment_date between t.first_asct_date and t.second_asct_date)
    from tandem as t
),

variables (variable, variable_order, indicator_ids, population) as (
    values
        ('ecog_ps',                              1, ['MM01'],                         'index diagnoses'),
        ('comorbidity',                          2, ['MM01'],                         'index diagnoses'),
        ('hdt_evaluated',                        3, ['MM01'],                         'index diagnoses, age <= hdt_age_limit'),
        ('hdt_candidate',                        4, ['MM05'],                         'index diagnoses evaluated for HDT'),
        ('sex',                                  5, ['MM04'],                         'index diagnoses'),
        ('creatinine_before_conditioning',       6, ['MM04'],                         'first conditioning course (creatinine within crcl_lookback_days before start)'),
        ('weight_before_conditioning',           7, ['MM04'],                         'first conditioning course (weight within crcl_lookback_days before start)'),
        ('height_weight_before_priming',         8, ['MM03'],                         'first priming course (height and weight within bsa_lookback_days before start)'),
        ('cytogenetics_before_induction',        9, ['MM05', 'MM08', 'MM09', 'MM10', 'MM13', 'MM15'],
                                                                                      'first induction course (del17p, t4_14, gain1q/amp1q tested by its start)'),
        ('induction_cycles',                    10, ['MM02', 'MM05', 'MM13'],         'induction courses'),
        ('induction_cycle_length',              11, ['MM02'],                         'induction courses'),
        ('consolidation_cycles',                12, ['MM06', 'MM13'],                 'consolidation courses (cycles and cycle length)'),
        ('maintenance_cycle_length',            13, ['MM07'],                         'maintenance courses'),
        ('mrd_sensitivity',                     14, ['MM05'],                         'MRD-negative responses after induction'),
        ('drug_dose',                           15, ['MM03', 'MM04', 'MM07'],         'drugs of priming, conditioning and maintenance courses (dose and unit)'),
        ('drug_days',                           16, ['MM03', 'MM04', 'MM07'],         'drugs of priming, conditioning and maintenance courses'),
        ('response_after_first_asct_for_tandem', 17, ['MM10'],                        'tandem transplants (efter_asct response between the two)')
),

-- counted per department first (a few hundred rows), then summed up the levels; only the
-- variables of other tables are joined to the units (at 1M patients ≈ 6.4 of 10.5 million rows)
attributed as (
    select variable, department_code, department_name, hospital, region,
           count(*) as n, count(*) filter (where present) as n_present
    from (
        select i.variable, u.department_code, u.department_name, u.hospital, u.region, i.present
        from items as i
        join qa_patient_units as u on u.pseudonym = i.pseudonym
        union all
        select variable, department_code, department_name, hospital, region, present from unit_items
    )
    group by all
),

by_unit as (
    select 1 as level_order, 'national' as level, 'Danmark' as unit, 'Danmark' as unit_name, variable, n, n_present
    from attributed
    union all
    select 2, 'region', region, region, variable, n, n_present from attributed
    union all
    select 3, 'hospital', hospital, hospital, variable, n, n_present from attributed
    union all
    select 4, 'department', department_code, department_name, variable, n, n_present from attributed
)

select
    b.level,
    b.unit,
    any_value(b.unit_name)                                              as unit_name,
    b.variable,
    any_value(v.indicator_ids)                                          as indicator_ids,
    any_value(v.population)                                             as population,
    sum(b.n)::bigint                                                    as denominator,
    sum(b.n_present)::bigint                                            as present,
    sum(b.n_present)::bigint / sum(b.n)::bigint                         as share,
    any_value(p.threshold)                                              as threshold,
    sum(b.n_present)::bigint / sum(b.n)::bigint < any_value(p.threshold) as below_threshold
from by_unit as b
join variables as v on v.variable = b.variable
cross join params as p
group by b.level_order, b.level, b.unit, b.variable, v.variable_order
order by b.level_order, b.unit, v.variable_order
