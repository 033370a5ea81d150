-- MM01 Evaluation for HDT (Rec 1, A). Index date: diagnosis date. Population: index
-- diagnosis, age ≤ hdt_age_limit at diagnosis. Excluded: ECOG PS ≥ 2 (PS_2_OR_MORE),
-- significant comorbidity (SIGNIFICANT_COMORBIDITY). Met: evaluated for HDT (J);
-- N = NOT_EVALUATED, empty = EVALUATION_UNKNOWN; pending while the mm01_window_days window
-- after diagnosis is open. A missing ECOG PS or comorbidity excludes nobody.
with population as (
    select
        *,
        'alder ' || age_at_diagnosis || ' år ved diagnosen ' || dato(diagnosis_date)
            || ', ECOG PS ' || coalesce(ecog_ps::varchar, 'ikke registreret')
            || ', ' || coalesce(comorbidity || ' komorbiditet', 'komorbiditet ikke registreret') as facts_da,
        'age ' || age_at_diagnosis || ' at diagnosis ' || iso(diagnosis_date)
            || ', ECOG PS ' || coalesce(ecog_ps::varchar, 'not recorded')
            || ', ' || coalesce(case comorbidity when 'ingen' then 'no' when 'let' then 'mild' when 'betydelig' then 'significant'
                                 end || ' comorbidity', 'comorbidity not recorded')            as facts_en
    from int_index_diagnosis
    where age_at_diagnosis <= getvariable('hdt_age_limit')
)

select pseudonym, department_code, diagnosis_date as index_date,
    diagnosis_date + getvariable('mm01_window_days')                    as pending_until,
    case
        when ecog_ps >= 2 then outcome('excluded', 'PS_2_OR_MORE',
            'ECOG PS ' || ecog_ps || ' (≥ 2) ved diagnosen ' || dato(diagnosis_date) || ': ekskluderet',
            'ECOG PS ' || ecog_ps || ' (≥ 2) at diagnosis ' || iso(diagnosis_date) || ': excluded')
        when comorbidity = 'betydelig' then outcome('excluded', 'SIGNIFICANT_COMORBIDITY',
            'betydelig komorbiditet ved diagnosen ' || dato(diagnosis_date) || ': ekskluderet',
            'significant comorbidity at diagnosis ' || iso(diagnosis_date) || ': excluded')
        when hdt_evaluated then outcome('met', 'MET',
            facts_da || ' → vurderet med henblik på HDT'
                || coalesce(' ' || dato(hdt_evaluation_date), ' (dato for vurdering ikke registreret)'),
            facts_en || ' → evaluated for HDT'
                || coalesce(' on ' || iso(hdt_evaluation_date), ' (evaluation date not recorded)'))
        when not hdt_evaluated then outcome('not_met', 'NOT_EVALUATED',
            facts_da || ' → vurdering med henblik på HDT forventet; registreret som ikke vurderet',
            facts_en || ' → HDT evaluation expected; recorded as not evaluated (N)')
        else outcome('unknown', 'EVALUATION_UNKNOWN',
            facts_da || ' → vurdering med henblik på HDT forventet; ikke registreret',
            facts_en || ' → HDT evaluation expected; not recorded')
    end                                                                 as o,
    {
        'age_at_diagnosis': age_at_diagnosis,
        'ecog_ps': ecog_ps,
        'comorbidity': comorbidity,
        'hdt_evaluated': hdt_evaluated,
        'hdt_evaluation_date': hdt_evaluation_date,
        'days_to_extract': days_to_extract(diagnosis_date)
    }                                                                   as drill_down
from population
