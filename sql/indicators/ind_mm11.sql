-- MM11 Rehabilitation after HDT (Rec 10, D). Index date: first asct. Population: in-scope
-- patients with an asct. Met: a rehabilitering referral from the diagnosis date up to
-- mm11_window_days after the asct (a referral before HDT counts). Excluded: died within the
-- window without a referral (DIED). Not met: NO_REHABILITATION; pending while the window is open.
with population as (
    select d.pseudonym, d.department_code, d.diagnosis_date, d.death_date, t.first_asct_date as index_date
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
        and r.procedure_date between p.diagnosis_date and p.index_date + getvariable('mm11_window_days')
    group by p.pseudonym
)

select p.pseudonym, p.department_code, p.index_date,
    p.index_date + getvariable('mm11_window_days')                      as pending_until,
    case
        when r.referral_date is null and p.death_date <= p.index_date + getvariable('mm11_window_days')
            then outcome('excluded', 'DIED',
                'død ' || dato(p.death_date) || ' (dag ' || (p.death_date - p.index_date) || ' efter HDT '
                    || dato(p.index_date) || ') uden henvisning til rehabilitering: ekskluderet',
                'died ' || iso(p.death_date) || ' (day ' || (p.death_date - p.index_date) || ' after ASCT '
                    || iso(p.index_date) || ') without a rehabilitation referral: excluded')
        when r.referral_date is not null then outcome('met', 'MET',
            'henvisning til rehabilitering ' || dato(r.referral_date) || ', dag ' || (r.referral_date - p.index_date)
                || ' i forhold til HDT ' || dato(p.index_date),
            'rehabilitation referral ' || iso(r.referral_date) || ', day ' || (r.referral_date - p.index_date)
                || ' relative to ASCT ' || iso(p.index_date))
        else outcome('not_met', 'NO_REHABILITATION',
            'ingen henvisning til rehabilitering fra diagnosen ' || dato(p.diagnosis_date) || ' til '
                || getvariable('mm11_window_days') || ' dage efter HDT ' || dato(p.index_date),
            'no rehabilitation referral from diagnosis ' || iso(p.diagnosis_date) || ' up to '
                || getvariable('mm11_window_days') || ' days after ASCT ' || iso(p.index_date))
    end                                                                 as o,
    {
        'referral_date': r.referral_date,
        'days_after_index': r.referral_date - p.index_date,
        'death_date': p.death_date,
        'days_to_extract': days_to_extract(p.index_date)
    }                                                                   as drill_down
from population as p
left join referral as r on r.pseudonym = p.pseudonym
