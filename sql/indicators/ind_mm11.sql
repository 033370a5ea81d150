-- MM11 Rehabilitation after HDT (Rec 10, D). Index date: first asct. Population: in-scope
-- patients with an asct. Met: a rehabilitering referral on day 0 to mm11_window_days after
-- the asct. Excluded: died within the window without a referral (DIED). Not met:
-- NO_REHABILITATION; pending while the window is open.
with population as (
    select d.pseudonym, d.department_code, d.death_date, t.first_asct_date as index_date
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    where t.first_asct_date is not null
),

referral as (
    select p.pseudonym, min(r.procedure_date) as referral_date
    from population as p
    join stg_procedures as r
        on r.pseudonym = p.pseudonym
        and r.procedure = 'rehabilitering'
        and r.procedure_date between p.index_date and p.index_date + getvariable('mm11_window_days')
    group by p.pseudonym
),

judged as (
    select
        p.*,
        r.referral_date,
        r.referral_date - p.index_date as referral_day,
        c.label,
        window_open(p.index_date, getvariable('mm11_window_days')) as is_open,
        case
            when p.index_date < c.in_force_from then outcome('excluded', 'GUIDELINE_VERSION',
                'index date ' || p.index_date || ' is before ' || c.valid_from_version)
            when r.referral_date is null and p.death_date <= p.index_date + getvariable('mm11_window_days')
                then outcome('excluded', 'DIED',
                    'died ' || p.death_date || ' (day ' || (p.death_date - p.index_date) || ' after asct '
                    || p.index_date || ') without a rehabilitation referral: excluded')
            when r.referral_date is not null then outcome('met', 'MET',
                'rehabilitation referral ' || r.referral_date || ', day ' || (r.referral_date - p.index_date)
                || ' after asct ' || p.index_date)
            else outcome('not_met', 'NO_REHABILITATION',
                'no rehabilitation referral within ' || getvariable('mm11_window_days') || ' days after asct '
                || p.index_date)
        end as o
    from population as p
    left join referral as r on r.pseudonym = p.pseudonym
    join ref_indicator_catalogue as c on c.indicator_id = 'MM11'
)

select
    j.pseudonym,
    'MM11'                                                                                 as indicator_id,
    result_status(j.o, j.is_open)                                                          as status,
    result_code(j.o, j.is_open)                                                            as reason_code,
    result_text(j.o, j.is_open, j.label, j.index_date, getvariable('mm11_window_days'))   as reason_text,
    j.index_date,
    v.version                                                                              as guideline_version,
    j.department_code,
    json_object(
        'referral_date', j.referral_date,
        'days_after_index', j.referral_day,
        'death_date', j.death_date,
        'days_to_extract', days_to_extract(j.index_date)
    )::varchar                                                                             as values_json
from judged as j
join ref_guideline_versions as v on j.index_date >= v.valid_from and j.index_date < v.valid_to
