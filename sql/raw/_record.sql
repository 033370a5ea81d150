{#- The line as delivered (CPR pseudonymised) of a raw table's row `r`: kept whole by the
    reader where it is not the file's fields joined by ';' (`_record_kept`), else made from
    them (`fields`: the file's raw columns in the format's order, DeliveryFile.raw_columns).
    Not stored for every line: it held each line a second time, and only the quarantine
    reads it. At 1,000,000 patients, summed over the files: reading 26-31 → 21-22 s, writing
    the raw tables 19-20 → 12 s, the raw tables on disk 810 → 296 MB. -#}
{% macro record(r, fields) -%}
coalesce({{ r }}._record_kept, {% for c in fields %}{{ r }}.{{ c }}{% if not loop.last %} || ';' || {% endif %}{% endfor %})
{%- endmacro %}
