-- A dated row before the patient's birth or after the patient's death (patient rows that
-- passed their own rules); a course end_date is exempt.
update {chk} c
set _reason = case when c.{column} < p.birth_date then 'BEFORE_BIRTH' else 'AFTER_DEATH' end,
    _reason_text = '{column} ' || strftime(c.{column}, '%d-%m-%Y') || case when c.{column} < p.birth_date
        then ' is before the patient''s birth date ' || strftime(p.birth_date, '%d-%m-%Y')
        else ' is after the patient''s death date ' || strftime(p.death_date, '%d-%m-%Y') end
from chk_patients p
where c._reason is null and not c._duplicate
  and p._reason is null and not p._duplicate
  and p.pseudonym = c.pseudonym
  and (c.{column} < p.birth_date or c.{column} > p.death_date);
