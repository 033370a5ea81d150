-- MM14 Alive 100 days after HDT (Rec 4, A: "HDT er dog en relativ toksisk behandling").
-- Index date: first asct. Population: in-scope patients with an asct. Met: no death within
-- mm14_window_days after the asct. Not met: died on day 0 to mm14_window_days
-- (DIED_WITHIN_100_DAYS, final at once). Pending: alive while the window is open.
with population as (
    select d.pseudonym, d.department_code, d.death_date, t.first_asct_date as index_date
    from int_index_diagnosis as d
    join int_transplants as t on t.pseudonym = d.pseudonym
    where t.first_asct_date is not null
),

described as (
    select *, death_date <= index_date + getvariable('mm14_window_days') as died_in_window
    from population
)

select pseudonym, department_code, index_date,
    case when not coalesce(died_in_window, false) then index_date + getvariable('mm14_window_days') end
                                                                        as pending_until,
    case
        when died_in_window then outcome('not_met', 'DIED_WITHIN_100_DAYS',
            'død ' || dato(death_date) || ', dag ' || (death_date - index_date) || ' efter HDT ' || dato(index_date),
            'died ' || iso(death_date) || ', day ' || (death_date - index_date) || ' after ASCT ' || iso(index_date))
        when days_to_extract(index_date) >= getvariable('mm14_window_days') then outcome('met', 'MET',
            'i live ' || getvariable('mm14_window_days') || ' dage efter HDT ' || dato(index_date)
                || coalesce(' (død ' || dato(death_date) || ', dag ' || (death_date - index_date) || ')', ''),
            'alive ' || getvariable('mm14_window_days') || ' days after ASCT ' || iso(index_date)
                || coalesce(' (died ' || iso(death_date) || ', day ' || (death_date - index_date) || ')', ''))
        else outcome('unknown', 'SURVIVAL_UNKNOWN',
            'i live ved udtrækket, dag ' || days_to_extract(index_date) || ' efter HDT ' || dato(index_date),
            'alive at the extract, day ' || days_to_extract(index_date) || ' after ASCT ' || iso(index_date))
    end                                                                 as o,
    {
        'death_date': death_date,
        'days_to_death': death_date - index_date,
        'days_to_extract': days_to_extract(index_date)
    }                                                                   as drill_down
from described
