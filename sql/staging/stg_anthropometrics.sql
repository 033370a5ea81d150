-- Height and weight; either may be missing on a row.
select
    _line, _record, pseudonym,
    parse_date(measure_date) as measure_date,
    parse_dec(height_cm)     as height_cm,
    parse_dec(weight_kg)     as weight_kg,
    coalesce(
        {common_rules},
        rule(bad_date(measure_date), 'INVALID_DATE', 'measure_date ' || shown(measure_date) || ' is not a valid date'),
        rule(bad_dec(height_cm), 'INVALID_NUMBER', 'height_cm ' || shown(height_cm) || ' is not a number'),
        rule(bad_dec(weight_kg), 'INVALID_NUMBER', 'weight_kg ' || shown(weight_kg) || ' is not a number'),
        rule(parse_dec(height_cm) not between 100 and 230, 'OUT_OF_RANGE', 'height_cm ' || shown(height_cm) || ' is outside 100-230 cm'),
        rule(parse_dec(weight_kg) not between 25 and 300, 'OUT_OF_RANGE', 'weight_kg ' || shown(weight_kg) || ' is outside 25-300 kg')
    ) as _rule
from raw_anthropometrics
