-- The end of staging for one file: clean rows become stg_{{ name }}; quarantined rows join the
-- quarantine with the record as delivered (CPR already pseudonymised); the counts reconcile.
create or replace table stg_{{ name }} as
select _line, {{ columns | join(', ') }}
from chk_{{ name }}
where _reason is null and not _duplicate
order by _line;

insert into stg_quarantine
select '{{ name }}.csv', _line, _reason, _reason_text, _record
from chk_{{ name }}
where _reason is not null;

insert into stg_reconciliation
select '{{ name }}.csv',
       count(*),
       count(*) filter (where _reason is null and not _duplicate),
       count(*) filter (where _reason is not null),
       count(*) filter (where _reason is null and _duplicate)
from chk_{{ name }};
