-- One delivery file's raw table from the frame the reader made of it (registered as
-- raw_frame): its text columns as delivered (CPR pseudonymised), the physical line number and
-- the record where it is not the fields joined by ';' (raw/_record.sql makes every record).
create or replace table {{ table }} as select * from raw_frame;

comment on column {{ table }}._record_kept is
    'The line as delivered (CPR pseudonymised) where it is not the fields joined by '';'' in the format''s order '
    '(the cpr as its pseudonym): a malformed or quoted line, or every line of a file with other columns or '
    'another order; NULL where it is. sql/raw/_record.sql makes the record of every line.';
