-- Functions shared by the intermediate, indicator and report layers (indicators.md §1).
-- Temporary macros: pipelines/indicators/build.py creates them in every session that builds
-- those layers, so they never collide with, or linger beside, the staging layer's macros.

-- Completed years on a date: year difference, minus 1 before the birthday. A person born
-- 29 Feb is still the younger age on 28 Feb of a non-leap year (0228 < 0229).
create or replace temp macro age_years(birth_date, on_date) as
    year(on_date) - year(birth_date)
    - case when month(on_date) * 100 + day(on_date) < month(birth_date) * 100 + day(birth_date)
           then 1 else 0 end;

-- Body-surface area, Mosteller: sqrt(height_cm × weight_kg / 3600), m².
create or replace temp macro bsa_mosteller(height_cm, weight_kg) as
    sqrt(height_cm * weight_kg / 3600);

-- Creatinine clearance, Cockcroft–Gault with actual body weight, ml/min; creatinine in mg/dL.
-- Unknown sex gives an unknown clearance (the factor 0,85 cannot be decided).
create or replace temp macro crcl_cockcroft_gault(age, weight_kg, sex, creatinine_mg_dl) as
    (140 - age) * weight_kg * case sex when 'K' then 0.85 when 'M' then 1.0 end
    / (72 * creatinine_mg_dl);

-- Wilson score interval for k successes out of n (95 % by default); NULL when n = 0.
create or replace temp macro wilson_low(k, n, z := 1.959963984540054) as
    case when n > 0 then greatest(0.0,
        (k::double / n + z * z / (2 * n)
         - z * sqrt(k::double / n * (1 - k::double / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n)) end;

create or replace temp macro wilson_high(k, n, z := 1.959963984540054) as
    case when n > 0 then least(1.0,
        (k::double / n + z * z / (2 * n)
         + z * sqrt(k::double / n * (1 - k::double / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n)) end;

-- "≈ target": within ± tolerance (a fraction) of the target. Never rounds.
create or replace temp macro near(value, target, tolerance) as
    abs(value - target) <= tolerance * target;

-- Regimen category of a course, or of pooled courses, from what it contains
-- (indicators.md, "Regimen category"): the first matching row of the table wins.
create or replace temp macro regimen_category(has_cd38, has_pi, has_imid, has_dexamethasone,
                                              has_cyclophosphamide, has_bortezomib) as
    case
        when has_cd38 and has_pi and has_cyclophosphamide and has_imid and has_dexamethasone
            then 'quintuplet_cd38'
        when has_cd38 and has_pi and has_imid and has_dexamethasone then 'quadruplet_cd38'
        when has_pi and has_imid and has_dexamethasone then 'triplet_pi_imid'
        when has_bortezomib and has_cyclophosphamide and has_dexamethasone and not has_imid then 'vcd'
        else 'other'
    end;

-- A number for a reason text: rounded to at most `digits` decimals, decimal comma, no
-- trailing zeros ("89,9", "200", "1,88"). Text only: comparisons use the unrounded value.
create or replace temp macro num_text(value, digits) as
    case when digits = 0 then format('{:.0f}', value::double)
         else rtrim(rtrim(replace(format('{:.{}f}', value::double, digits), '.', ','), '0'), ',') end;

-- Days between an index date and the extract date, and whether a window of n days after the
-- index date is still open there (indicators.md, "Extract date").
create or replace temp macro days_to_extract(index_date) as
    getvariable('extract_date') - index_date;

create or replace temp macro window_open(index_date, window_days) as
    getvariable('extract_date') - index_date < window_days;

-- One judged outcome: the first rule that holds, in the spec's order
-- (excluded, met, justified, then not_met / unknown).
create or replace temp macro outcome(status, reason_code, reason_text) as
    {'status': status, 'reason_code': reason_code, 'reason_text': reason_text};

-- `pending` replaces a not_met or unknown outcome while the indicator's window is open.
create or replace temp macro result_status(o, is_open) as
    case when is_open and o.status in ('not_met', 'unknown') then 'pending' else o.status end;

create or replace temp macro result_code(o, is_open) as
    case when is_open and o.status in ('not_met', 'unknown') then 'WINDOW_OPEN' else o.reason_code end;

-- The reason text: the recommendation label, then the rule's text; a pending row says how
-- far the window has run and keeps the underlying reason.
create or replace temp macro result_text(o, is_open, label, index_date, window_days) as
    label || ': '
    || case when is_open and o.status in ('not_met', 'unknown')
            then 'window open at the extract date (day ' || days_to_extract(index_date) || ' of '
                 || window_days || '), so far ' || o.reason_code || ': ' || o.reason_text
            else o.reason_text end;
