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

-- Wilson score interval for k successes out of n (95 % by default); NULL when n = 0. At k = 0
-- the lower bound is 0 and at k = n the upper bound is 1 exactly, as the formula gives them
-- (in floating point it could give 0,9999999999999998).
create or replace temp macro wilson_low(k, n, z := 1.959963984540054) as
    case when n > 0 and k = 0 then 0.0 when n > 0 then greatest(0.0,
        (k::double / n + z * z / (2 * n)
         - z * sqrt(k::double / n * (1 - k::double / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n)) end;

create or replace temp macro wilson_high(k, n, z := 1.959963984540054) as
    case when n > 0 and k = n then 1.0 when n > 0 then least(1.0,
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

-- The category's row in that table (1 = quintuplet_cd38 … 5 = other): on the same start, the
-- course whose category is nearer the top of the table is the predominant one.
create or replace temp macro regimen_table_row(category) as
    list_position(['quintuplet_cd38', 'quadruplet_cd38', 'triplet_pi_imid', 'vcd', 'other'], category);

-- Texts (indicators.md §1, "Statuses"): reason_text is Danish (dates dd-mm-åååå, decimal
-- comma, thousands with a dot), reason_text_en English (ISO dates, decimal point). Numbers are
-- rounded to at most `digits` decimals without trailing zeros ("89,9", "2.000", "1,88").
-- Text only: every comparison uses the unrounded value.
create or replace temp macro dato(d) as strftime(d, '%d-%m-%Y');

create or replace temp macro iso(d) as strftime(d, '%Y-%m-%d');

create or replace temp macro num_da(value, digits) as
    case when digits = 0 then translate(format('{:,.0f}', value::double), ',.', '.,')
         else rtrim(rtrim(translate(format('{:,.{}f}', value::double, digits), ',.', '.,'), '0'), ',') end;

create or replace temp macro num_en(value, digits) as
    case when digits = 0 then format('{:.0f}', value::double)
         else rtrim(rtrim(format('{:.{}f}', value::double, digits), '0'), '.') end;

-- The decimals to show a dose per m² with, beside the targets it was judged against (one
-- target: give it twice): none, unless rounding would move it across a limit of target ±
-- tolerance; then as many as keep it on its side. 2.200,08 mg/m² is not ≈ 2.000 ± 10 %, and
-- "2.200" would read as if it were.
create or replace temp macro same_side(shown, value, target_a, target_b, tolerance) as
    near(shown, target_a, tolerance) = near(value, target_a, tolerance)
    and near(shown, target_b, tolerance) = near(value, target_b, tolerance);

create or replace temp macro judged_digits(value, target_a, target_b, tolerance) as
    case when same_side(round(value, 0), value, target_a, target_b, tolerance) then 0
         when same_side(round(value, 2), value, target_a, target_b, tolerance) then 2
         when same_side(round(value, 4), value, target_a, target_b, tolerance) then 4
         else 6 end;

-- A small number as a power of ten, as MRD sensitivities are written: 1e-05 → "10⁻⁵",
-- 1,5e-06 → "1,5 × 10⁻⁶" (Danish) / "1.5 × 10⁻⁶" (English).
create or replace temp macro power_of_ten(x) as floor(round(log10(x), 9))::integer;

create or replace temp macro sci_da(x) as
    case when abs(x / 10 ** power_of_ten(x) - 1) < 1e-9 then ''
         else num_da(x / 10 ** power_of_ten(x), 2) || ' × ' end
    || '10' || translate(power_of_ten(x)::varchar, '-0123456789', '⁻⁰¹²³⁴⁵⁶⁷⁸⁹');

create or replace temp macro sci_en(x) as
    case when abs(x / 10 ** power_of_ten(x) - 1) < 1e-9 then ''
         else num_en(x / 10 ** power_of_ten(x), 2) || ' × ' end
    || '10' || translate(power_of_ten(x)::varchar, '-0123456789', '⁻⁰¹²³⁴⁵⁶⁷⁸⁹');

-- The administration days a `days` text names, as a sorted list without repeats
-- ('1-3,8' → [1, 2, 3, 8]); staging has checked the form.
create or replace temp macro day_numbers(days) as
    list_sort(list_distinct(flatten(list_transform(string_split(days, ','), lambda part:
        range(split_part(part, '-', 1)::integer,
              coalesce(nullif(split_part(part, '-', 2), ''), split_part(part, '-', 1))::integer + 1)))));

-- A dose unit as printed: mg/m2 → mg/m².
create or replace temp macro unit_text(unit) as replace(unit, 'm2', 'm²');

-- A substance as a Danish clinician writes it (the class table's English names otherwise).
create or replace temp macro drug_da(substance) as
    case substance
        when 'thalidomide' then 'thalidomid' when 'lenalidomide' then 'lenalidomid'
        when 'pomalidomide' then 'pomalidomid' when 'dexamethasone' then 'dexamethason'
        when 'prednisolone' then 'prednisolon' when 'cyclophosphamide' then 'cyclophosphamid'
        else substance end;

create or replace temp macro drugs_da(substances) as
    coalesce(nullif(array_to_string(list_transform(substances, lambda s: drug_da(s)), ', '), ''), 'ingen lægemidler registreret');

create or replace temp macro drugs_en(substances) as
    coalesce(nullif(array_to_string(substances, ', '), ''), 'no drugs recorded');

-- The regimen as clinicians abbreviate it, from the substances of one course: the CD38
-- antibody as a prefix (D, hyphenated before three letters or more; Isa-), then one letter each
-- for the proteasome inhibitor (V, K, I), the alkylator (C, M), the IMiD (R, T, P) and the
-- steroid (d, P: VMP): VRd, KRd, VTd, VCd, KCd, Vd, Rd, DRd, D-VRd, Isa-KRd, D-VCRd. NULL where
-- a substance has no letter, two share a class, or fewer than two follow the antibody: the
-- drugs are then listed by name.
create or replace temp macro regimen_letter(s) as
    case s
        when 'bortezomib' then '1V' when 'carfilzomib' then '1K' when 'ixazomib' then '1I'
        when 'cyclophosphamide' then '2C' when 'melphalan' then '2M'
        when 'lenalidomide' then '3R' when 'thalidomide' then '3T' when 'pomalidomide' then '3P'
        when 'dexamethasone' then '4d' when 'prednisolone' then '4P'
        when 'daratumumab' then '0D' when 'isatuximab' then '0Isa'
    end;

create or replace temp macro regimen_core(substances) as
    array_to_string(list_transform(list_sort(list_filter(list_transform(substances, lambda s: regimen_letter(s)),
                                                         lambda l: l[1] <> '0')), lambda l: l[2:]), '');

create or replace temp macro regimen_name(substances) as
    case when len(list_filter(substances, lambda s: regimen_letter(s) is null)) = 0
              and len(list_distinct(list_transform(substances, lambda s: left(regimen_letter(s), 1)))) = len(substances)
              and length(regimen_core(substances)) >= 2
         then case when list_contains(substances, 'isatuximab') then 'Isa-'
                   when list_contains(substances, 'daratumumab') then
                        case when length(regimen_core(substances)) >= 3 then 'D-' else 'D' end
                   else '' end
              || regimen_core(substances)
    end;

-- A regimen category as clinicians name it (indicators.md, "Regimen category").
create or replace temp macro regimen_da(category) as
    case category
        when 'quintuplet_cd38' then 'femstofs-regime af D-VCRd-typen (CD38-antistof + proteasomhæmmer + cyclophosphamid + IMiD + dexamethason)'
        when 'quadruplet_cd38' then 'firstofs-regime af D-VRd-typen (CD38-antistof + proteasomhæmmer + IMiD + dexamethason)'
        when 'triplet_pi_imid' then 'trestofs-regime af VRd-typen (proteasomhæmmer + IMiD + dexamethason)'
        when 'vcd' then 'VCd (bortezomib + cyclophosphamid + dexamethason)'
        when 'other' then 'andet regime'
    end;

create or replace temp macro regimen_en(category) as
    case category
        when 'quintuplet_cd38' then 'D-VCRd-type quintuplet (CD38 + PI + cyclophosphamide + IMiD + dex)'
        when 'quadruplet_cd38' then 'D-VRd-type quadruplet (CD38 + PI + IMiD + dex)'
        when 'triplet_pi_imid' then 'VRd-type triplet (PI + IMiD + dex)'
        when 'vcd' then 'VCd (bortezomib + cyclophosphamide + dex)'
        when 'other' then 'other regimen'
    end;

-- The regimen given, as the texts name it: its abbreviation, the drugs, and the category
-- where the abbreviation does not say it ("KRd (carfilzomib, dexamethason, lenalidomid) –
-- trestofs-regime"); without an abbreviation the category and the drugs.
create or replace temp macro regimen_given_da(category, substances) as
    case when regimen_name(substances) is null then regimen_da(category) || ': ' || drugs_da(substances)
         else regimen_name(substances) || ' (' || drugs_da(substances) || ')' || case category
             when 'quintuplet_cd38' then ' – femstofs-regime med CD38-antistof'
             when 'quadruplet_cd38' then ' – firstofs-regime med CD38-antistof'
             when 'triplet_pi_imid' then ' – trestofs-regime (proteasomhæmmer + IMiD + dexamethason)'
             when 'other' then ' – andet regime'
             else '' end
    end;

create or replace temp macro regimen_given_en(category, substances) as
    case when regimen_name(substances) is null then regimen_en(category) || ': ' || drugs_en(substances)
         else regimen_name(substances) || ' (' || drugs_en(substances) || ')' || case category
             when 'quintuplet_cd38' then ' – CD38 quintuplet'
             when 'quadruplet_cd38' then ' – CD38 quadruplet'
             when 'triplet_pi_imid' then ' – PI + IMiD + dex triplet'
             when 'other' then ' – other regimen'
             else '' end
    end;

-- A treatment phase of several courses (indicators.md, "Regimen category"), as aggregates
-- over its courses: the predominant course is the one with the most cycles (missing = 0),
-- ties to the later start, then to the row nearer the top of the category table (the spec's
-- "same start: the row nearer the top of the table"), then, where both courses have the same
-- category, to the course nearer the top of the file; the phase's cycles are the sum over its
-- courses (NULL when a course lacks them; a course without cycles counts as at least one in
-- cycles_at_least).
create or replace temp macro phase_summary(course_id, cycles, cycle_length_days, start_date, category, line) as {
    'predominant_course_id': arg_max(course_id, {'cycles': coalesce(cycles, 0), 'start': start_date,
                                                 'table_row': -regimen_table_row(category), 'line': -line}),
    'n_courses': count(*),
    -- listed by start, then as the category table orders them, then by id: never by line
    'course_ids': array_to_string(list_transform(list_sort(list({'start': start_date, 'table_row': regimen_table_row(category),
                                                                 'id': course_id})), lambda c: c.id), ', '),
    'first_start_date': min(start_date),
    'last_start_date': max(start_date),
    'cycles_total': case when count(cycles) = count(*) then sum(cycles) end,
    'cycles_known': coalesce(sum(cycles), 0),
    'cycles_at_least': coalesce(sum(cycles), 0) + count(*) - count(cycles),
    'courses_without_cycles': count(*) - count(cycles),
    'cycle_length_min': min(cycle_length_days),
    'cycle_length_max': max(cycle_length_days),
    'cycle_length_missing': count(cycle_length_days) < count(*)
};

-- "21" or "21–28": the cycle lengths of a phase summary, in days.
create or replace temp macro cycle_lengths(s) as
    case when s.cycle_length_min = s.cycle_length_max then s.cycle_length_min::varchar
         else s.cycle_length_min || '–' || s.cycle_length_max end;

-- "4 serier à 21 dage" / "4 cycles of 21 days" for a phase summary. Where a course's number of
-- cycles is missing, the known ones are still said: "3 serier + antal serier mangler for 1
-- forløb, serielængde 21 dage" (never "antal serier mangler à 21 dage").
create or replace temp macro cycles_da(s) as
    case when s.cycles_total is not null
             then s.cycles_total::varchar || case when s.cycles_total = 1 then ' serie' else ' serier' end
         when s.cycles_known = 0 and s.courses_without_cycles = 1 then 'antal serier mangler'
         else case when s.cycles_known > 0
                   then s.cycles_known::varchar || case when s.cycles_known = 1 then ' serie' else ' serier' end || ' + '
                   else '' end
              || 'antal serier mangler for ' || s.courses_without_cycles || ' forløb' end
    || case when s.cycle_length_missing then ', serielængde mangler'
            when s.cycles_total is null then ', serielængde ' || cycle_lengths(s) || ' dage'
            else ' à ' || cycle_lengths(s) || ' dage' end;

create or replace temp macro cycles_en(s) as
    case when s.cycles_total is not null
             then s.cycles_total::varchar || case when s.cycles_total = 1 then ' cycle' else ' cycles' end
         when s.cycles_known = 0 and s.courses_without_cycles = 1 then 'number of cycles missing'
         else case when s.cycles_known > 0
                   then s.cycles_known::varchar || case when s.cycles_known = 1 then ' cycle' else ' cycles' end || ' + '
                   else '' end
              || 'number of cycles missing for ' || s.courses_without_cycles
              || case when s.courses_without_cycles = 1 then ' course' else ' courses' end end
    || case when s.cycle_length_missing then ', cycle length missing'
            when s.cycles_total is null then ', cycle length ' || cycle_lengths(s) || ' days'
            else ' of ' || cycle_lengths(s) || ' days' end;

-- A creatinine clearance (a row of int_creatinine_clearance) with the values it rests on,
-- creatinine in µmol/L. Below the threshold it is cut, not rounded, to one decimal, so that
-- 29,96 reads "29,9 < 30", never "30 < 30". Weight keeps two decimals and creatinine one
-- (trailing zeros dropped), enough to give the clearance to one decimal: 53,99 kg shown as
-- "54 kg" beside "CrCl 29,9 < 30" would not give the decision.
create or replace temp macro crcl_shown(k, threshold) as
    case when k.crcl_ml_min < threshold then floor(k.crcl_ml_min * 10) / 10 else k.crcl_ml_min end;

create or replace temp macro crcl_text_da(k, threshold) as
    case when k.crcl_ml_min is not null then
        'CrCl ' || num_da(crcl_shown(k, threshold), 1) || ' ml/min '
        || case when k.crcl_ml_min < threshold then '<' else '≥' end || ' ' || threshold
        || ' (kreatinin ' || num_da(k.creatinine_umol_l, 1) || ' µmol/L ' || dato(k.creatinine_sample_date)
        || ', alder ' || k.age_at_sample || ' år, vægt ' || num_da(k.weight_kg, 2) || ' kg ' || dato(k.weight_date) || ')'
    else 'CrCl ukendt: ' || concat_ws(' og ',
            case when k.creatinine_sample_date is null then 'ingen kreatinin' end,
            case when k.weight_date is null then 'ingen vægt' end,
            case when k.creatinine_sample_date is not null and k.weight_date is not null then 'køn ikke registreret' end)
        || ' inden for ' || getvariable('crcl_lookback_days') || ' dage' end;

create or replace temp macro crcl_text_en(k, threshold) as
    case when k.crcl_ml_min is not null then
        'CrCl ' || num_en(crcl_shown(k, threshold), 1) || ' ml/min '
        || case when k.crcl_ml_min < threshold then '<' else '≥' end || ' ' || threshold
        || ' (creatinine ' || num_en(k.creatinine_umol_l, 1) || ' µmol/L on ' || iso(k.creatinine_sample_date)
        || ', age ' || k.age_at_sample || ', weight ' || num_en(k.weight_kg, 2) || ' kg on ' || iso(k.weight_date) || ')'
    else 'CrCl unknown: ' || concat_ws(' and ',
            case when k.creatinine_sample_date is null then 'no creatinine' end,
            case when k.weight_date is null then 'no weight' end,
            case when k.creatinine_sample_date is not null and k.weight_date is not null then 'sex not recorded' end)
        || ' within ' || getvariable('crcl_lookback_days') || ' days' end;

-- A dose per m² that cannot be computed (MM03, MM04): no BSA for a dose in mg or mg/kg, or a
-- dose, unit or days missing.
create or replace temp macro no_bsa_da() as
    ', men ingen måling med både højde og vægt inden for ' || getvariable('bsa_lookback_days')
    || ' dage før forløbet: legemsoverfladeareal (BSA) ukendt';

create or replace temp macro no_bsa_en() as
    ' and no measurement of both height and weight within ' || getvariable('bsa_lookback_days')
    || ' days before the course: BSA unknown';

-- Days between an index date and the extract date (indicators.md, "Extract date").
create or replace temp macro days_to_extract(index_date) as
    getvariable('extract_date') - index_date;

-- One judged outcome: the first rule that holds, in the spec's order (excluded, met,
-- justified, then not_met / unknown), with its Danish and English text.
create or replace temp macro outcome(status, reason_code, text_da, text_en) as
    {'status': status, 'reason_code': reason_code, 'text_da': text_da, 'text_en': text_en};
