-- Parsing the delivery's text fields (extract-format.md, "File conventions"). Each field is
-- read once as text by na() (sql/staging/_rules.sql, fields); the to_* macros type that text
-- and return NULL for a value that does not parse, so a row rule can quarantine it.

create or replace macro na(s) as
    case when lower(trim(s)) in ('', 'na', '.', 'uoplyst') then null else trim(s) end;

-- dd-mm-yyyy or ISO yyyy-mm-dd; anything else (or an impossible date) is NULL.
create or replace macro to_date(t) as
    case when regexp_full_match(t, '\d{1,2}-\d{1,2}-\d{4}') then try_strptime(t, '%d-%m-%Y')
         when regexp_full_match(t, '\d{4}-\d{1,2}-\d{1,2}') then try_strptime(t, '%Y-%m-%d') end::date;

-- Decimal comma or point, and E notation as R's write.csv2 and SAS write small numbers
-- (1e-05, 1E-5, 1,5E-06; extract-format.md v2).
create or replace macro to_dec(t) as
    case when regexp_full_match(t, '[+-]?([0-9]+([.,][0-9]+)?|[.,][0-9]+)([eE][+-]?[0-9]{1,3})?')
         then replace(t, ',', '.')::double end;

create or replace macro to_int(t) as
    case when regexp_full_match(t, '[+-]?[0-9]{1,9}') then t::integer end;

-- An ICD-10 code upper-cased, its dot dropped only where ICD-10 puts it (C90.0, DC90.0 → C900,
-- DC900): dropped anywhere, digits on both sides of a dot could join into a CPR number that
-- the reading step, which scrubs the text as delivered, never saw (0901711.500).
create or replace macro icd10_code(t) as
    regexp_replace(upper(t), '^(D?[A-Z][0-9]{2})\.([0-9A-Z]*)$', '\1\2');

-- J/N, and 1/0.
create or replace macro to_bool(t) as
    case when upper(t) in ('J', '1') then true when upper(t) in ('N', '0') then false end;

-- One row rule: NULL when the row passes, else its reason. A file's rules are listed in
-- coalesce(...): the first that fires is the row's reason, and later ones are not evaluated.
create or replace macro rule(hit, reason_code, reason_text) as
    case when hit then {'code': reason_code, 'text': reason_text} end;

-- Quote a delivered value for a reason text (never used for cpr).
create or replace macro shown(t) as '''' || left(t, 40) || '''';

-- Administration days within a cycle: '1-21' → 21, '1,4,8,11' → 4, '1-2,8' → 3 (day numbers of
-- at most three digits: a cycle is never longer than 365 days).
create or replace macro days_valid(t) as
    regexp_full_match(t, '[0-9]{1,3}(-[0-9]{1,3})?(,[0-9]{1,3}(-[0-9]{1,3})?)*')
    and list_bool_and(list_transform(string_split(t, ','),
        lambda part: not contains(part, '-')
                     or try_cast(split_part(part, '-', 2) as integer) >= try_cast(split_part(part, '-', 1) as integer)));

create or replace macro days_count(t) as
    case when days_valid(t) then list_sum(list_transform(string_split(t, ','),
        lambda part: case when contains(part, '-')
                          then try_cast(split_part(part, '-', 2) as integer) - try_cast(split_part(part, '-', 1) as integer) + 1
                          else 1 end))::integer end;
