-- The contract's columns, then the data-quality flag of the figure (issue 4): inputs that
-- failed a blocking expectation or fall under the completeness threshold for that unit.
select s.indicator_id, s.year, s.level, s.unit, s.met, s.not_met, s.unknown, s.justified, s.excluded, s.pending,
       s.numerator, s.denominator, s.proportion, s.ci_low, s.ci_high, s.standard, s.standard_met,
       coalesce(q.quality_flag, false) as quality_flag,
       concat_ws('; ', q.blocking_checks, 'completeness below threshold: ' || q.incomplete_variables) as quality_note
from rpt_indicator_summary as s
left join rpt_quality_flags as q on q.indicator_id = s.indicator_id and q.level = s.level and q.unit = s.unit
order by s.indicator_id, s.year, case s.level when 'national' then 1 when 'region' then 2 when 'hospital' then 3 else 4 end, s.unit
