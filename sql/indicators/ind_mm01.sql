-- MM01 Evaluation for HDT (Rec 1, A). Index date: diagnosis date. Population: index
-- diagnosis, age ≤ hdt_age_limit at diagnosis. Excluded: ECOG PS ≥ 2, significant
-- comorbidity. Met: evaluated for HDT (J); N = NOT_EVALUATED, empty = EVALUATION_UNKNOWN;
-- pending while the mm01_window_days window is open.
-- A missing ECOG PS or comorbidity excludes nobody: exclusion needs the recorded value.
with population as (
    select d.*, d.diagnosis_date as index_date
    from int_index_diagnosis as d
    where d.age_at_diagnosis <= getvariable('hdt_age_limit')
),

judged as (
    select
        p.*,
        c.label,
        window_open(p.index_date, getvariable('mm01_window_days')) as is_open,
        'age ' || p.age_at_diagnosis || ' at diagnosis ' || p.index_date
            || ', ECOG PS ' || coalesce(p.ecog_ps::varchar, 'not recorded')
            || ', comorbidity ' || coalesce(p.comorbidity, 'not recorded')                as facts,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when p.ecog_ps >= 2 then outcome('excluded', 'PS_2_OR_MORE',
                'ECOG PS ' || p.ecog_ps || ' ≥ 2 at diagnosis ' || p.index_date || ': excluded')
            when p.comorbidity = 'betydelig' then outcome('excluded', 'SIGNIFICANT_COMORBIDITY',
                'significant comorbidity (betydelig) at diagnosis ' || p.index_date || ': excluded')
            when p.hdt_evaluated then outcome('met', 'MET',
                facts || ' → evaluated for HDT'
                || coalesce(' on ' || p.hdt_evaluation_date, ' (evaluation date not recorded)'))
            when not p.hdt_evaluated then outcome('not_met', 'NOT_EVALUATED',
                facts || ' → HDT evaluation expected; recorded as not evaluated (N)')
            else outcome('unknown', 'EVALUATION_UNKNOWN',
                facts || ' → HDT evaluation expected; not recorded')
        end as o
    from population as p
    join ref_indicator_catalogue as c on c.indicator_id = 'MM01'
)

select
    j.pseudonym,
    'MM01'                                                                                 as indicator_id,
    result_status(j.o, j.is_open)                                                          as status,
    result_code(j.o, j.is_open)                                                            as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, getvariable('mm01_window_days'))   as reason_text,
    j.index_date,
    v.version                                                                              as guideline_version,
    j.department_code,
    json_object(
        'age_at_diagnosis', j.age_at_diagnosis,
        'ecog_ps', j.ecog_ps,
        'comorbidity', j.comorbidity,
        'hdt_evaluated', j.hdt_evaluated,
        'hdt_evaluation_date', j.hdt_evaluation_date,
        'days_to_extract', days_to_extract(j.index_date)
    )::varchar                                                                             as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
