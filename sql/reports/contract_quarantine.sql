select file, line, reason_code, reason_text, record
from stg_quarantine
order by file, line
