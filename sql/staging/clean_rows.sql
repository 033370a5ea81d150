-- One file's clean rows become stg_{{ name }} (as soon as the file is judged: beside the next
-- file's judging).
create or replace table stg_{{ name }} as
select _line, {{ columns | join(', ') }}
from staging_work.chk_{{ name }}
where _reason is null and not _duplicate
order by _line;
