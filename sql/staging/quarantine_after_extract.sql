-- Any date after the extract date quarantines its row (a course end_date is exempt).
update {chk}
set _reason = 'DATE_AFTER_EXTRACT',
    _reason_text = '{column} ' || strftime({column}, '%d-%m-%Y') || ' is after the extract date '
                   || strftime(getvariable('extract_date'), '%d-%m-%Y')
where _reason is null and {column} > getvariable('extract_date');
