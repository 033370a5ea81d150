-- The start of each patient's earliest induktion course, even a one-cycle bridging course
-- (indicators.md): the decision date of MM08 and MM12 (the regimen was chosen then), the
-- index date of MM15 and the end of the high-risk window.
select pseudonym, min(start_date) as first_induction_date
from stg_treatment_courses
where phase = 'induktion'
group by pseudonym
