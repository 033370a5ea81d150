-- The first maintenance (vedligehold) course starting after the last asct, per patient
-- (indicators.md, MM06 and MM09), with the day it started after that asct and what it
-- contains. One row per patient with such a course.
select
    t.pseudonym,
    t.last_asct_date,
    r.course_id,
    r.start_date,
    r.start_date - t.last_asct_date                                      as days_after_asct,
    r.cycles,
    r.cycle_length_days,
    r.has_lenalidomide,
    r.has_cd38,
    r.substances
from int_transplants as t
join int_course_regimens as r
    on r.pseudonym = t.pseudonym
    and r.phase = 'vedligehold'
    and r.start_date > t.last_asct_date
where t.last_asct_date is not null
qualify row_number() over (partition by t.pseudonym order by r.start_date, r._line) = 1
