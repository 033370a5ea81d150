-- Rows whose parent (the {parent_label} row with this {key_label}) did not survive its own
-- rules, or never existed. The text names the parent row's line and reason when there is one.
create or replace temp table {chk}_orphans as
select c._line,
       coalesce('the {parent_label} row for this {key_label} was quarantined ({parent_file} line '
                || arg_min(p._line, p._line) || ': ' || arg_min(p._reason, p._line) || ')',
                'no {parent_label} row with this {key_label}') as reason_text
from {chk} c
left join {parent_chk} p on p.{parent_key} = c.{parent_key} and p._reason is not null
where c._reason is null and not c._duplicate
  and c.{parent_key} not in (select {parent_key} from {parent_chk} where _reason is null and not _duplicate)
group by c._line;

update {chk} c
set _reason = 'ORPHAN', _reason_text = o.reason_text
from {chk}_orphans o
where c._line = o._line;

drop table {chk}_orphans;
