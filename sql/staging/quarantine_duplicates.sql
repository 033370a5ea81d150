-- Rows sharing a natural key: identical after parsing → keep the first line, count the rest;
-- any difference → quarantine every row of the key (the delivery cannot say which is right).
-- The keys that repeat are found first (cheap); only their rows are compared in full.
create or replace temp table {chk}_keys as
with repeated as (
    select {key_columns} from {chk} where _reason is null group by all having count(*) > 1
)
select {key_columns},
       count(distinct {{{signature}}}) as n_versions,
       min(_line) as first_line,
       list(_line order by _line) as lines
from {chk} as c
semi join repeated as k on {key_match}
where _reason is null
group by all;

update {chk} c
set _reason = 'CONFLICTING_DUPLICATE',
    _reason_text = 'lines ' || array_to_string(k.lines, ', ') || ' share the key ({key_columns}) but differ in other values'
from {chk}_keys k
where c._reason is null and k.n_versions > 1 and {key_match};

update {chk} c
set _duplicate = true
from {chk}_keys k
where c._reason is null and k.n_versions = 1 and c._line <> k.first_line and {key_match};

drop table {chk}_keys;
