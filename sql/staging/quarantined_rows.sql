-- The end of staging for one file (the files in the format's order, after every file is
-- judged): quarantined rows join the quarantine with the record as delivered (CPR already
-- pseudonymised); the counts reconcile.

-- the record is made from the raw table for the quarantined rows only: carried through the
-- typed and judged tables, the longest text of every row was written twice more
{%- import 'raw/_record.sql' as raw %}
insert into stg_quarantine
select '{{ name }}.csv', c._line, c._reason, c._reason_text, {{ raw.record('r', fields) }}
from staging_work.chk_{{ name }} as c
join raw_{{ name }} as r using (_line)
where c._reason is not null;

insert into stg_reconciliation
select '{{ name }}.csv',
       count(*),
       count(*) filter (where _reason is null and not _duplicate),
       count(*) filter (where _reason is not null),
       count(*) filter (where _reason is null and _duplicate)
from staging_work.chk_{{ name }};
