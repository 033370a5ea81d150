select indicator_id, year, level, unit, met, not_met, unknown, justified, excluded, pending,
       numerator, denominator, proportion, ci_low, ci_high, standard, standard_met
from rpt_indicator_summary
order by indicator_id, year, case level when 'national' then 1 when 'region' then 2 when 'hospital' then 3 else 4 end, unit
