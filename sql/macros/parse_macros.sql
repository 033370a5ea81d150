-- Parsing the delivery's text fields (extract-format.md, "File conventions").
-- A parse_* macro returns NULL both for a missing value and for one that does not parse;
-- bad_* tells the two apart, so a row rule can quarantine what did not parse.

create or replace macro na(s) as
    case when lower(trim(s)) in ('', 'na', '.', 'uoplyst') then null else trim(s) end;

create or replace macro parse_date(s) as
    coalesce(try_strptime(na(s), '%d-%m-%Y'), try_strptime(na(s), '%Y-%m-%d'))::date;

create or replace macro bad_date(s) as
    na(s) is not null and (parse_date(s) is null or not regexp_full_match(na(s), '\d{1,2}-\d{1,2}-\d{4}|\d{4}-\d{1,2}-\d{1,2}'));

-- Decimal comma or point, and E notation as R's write.csv2 and SAS write small numbers
-- (1e-05, 1E-5, 1,5E-06; extract-format.md v2).
create or replace macro parse_dec(s) as
    case when regexp_full_match(na(s), '[+-]?([0-9]+([.,][0-9]+)?|[.,][0-9]+)([eE][+-]?[0-9]{1,3})?')
         then replace(na(s), ',', '.')::double end;

create or replace macro bad_dec(s) as na(s) is not null and parse_dec(s) is null;

create or replace macro parse_int(s) as
    case when regexp_full_match(na(s), '[+-]?[0-9]{1,9}') then na(s)::integer end;

create or replace macro bad_int(s) as na(s) is not null and parse_int(s) is null;

create or replace macro parse_bool(s) as
    case when upper(na(s)) in ('J', '1') then true when upper(na(s)) in ('N', '0') then false end;

create or replace macro bad_bool(s) as na(s) is not null and parse_bool(s) is null;

-- A code from a value set, compared without regard to case or surrounding blanks.
create or replace macro code(s) as lower(na(s));

create or replace macro bad_code(s, allowed) as na(s) is not null and not list_contains(allowed, lower(na(s)));

-- One row rule: NULL when the row passes, else its reason. A file's rules are listed in
-- coalesce(...): the first that fires is the row's reason, and later ones are not evaluated.
create or replace macro rule(hit, reason_code, reason_text) as
    case when hit then {'code': reason_code, 'text': reason_text} end;


-- Quote a delivered value for a reason text (never used for cpr).
create or replace macro shown(s) as '''' || left(trim(s), 40) || '''';

-- Administration days within a cycle: '1-21' → 21, '1,4,8,11' → 4, '1-2,8' → 3 (day numbers of
-- at most three digits: a cycle is never longer than 365 days).
create or replace macro days_valid(s) as
    regexp_full_match(replace(na(s), ' ', ''), '[0-9]{1,3}(-[0-9]{1,3})?(,[0-9]{1,3}(-[0-9]{1,3})?)*')
    and list_bool_and(list_transform(string_split(replace(na(s), ' ', ''), ','),
        lambda part: not contains(part, '-')
                     or try_cast(split_part(part, '-', 2) as integer) >= try_cast(split_part(part, '-', 1) as integer)));

create or replace macro days_count(s) as
    case when days_valid(s) then list_sum(list_transform(string_split(replace(na(s), ' ', ''), ','),
        lambda part: case when contains(part, '-')
                          then try_cast(split_part(part, '-', 2) as integer) - try_cast(split_part(part, '-', 1) as integer) + 1
                          else 1 end))::integer end;
