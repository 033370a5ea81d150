{#- Jinja macros shared by the staging files (extract-format.md, "File conventions", "Keys and
    required columns"). A file's rows are first read as text once: `t_<column>` is the value
    trimmed, NULL when missing (empty, NA, ., uoplyst); the typed columns and the row rules are
    then written over those. -#}

{% macro fields(f) -%}
select
    _line, _malformed{% if f.has_cpr %}, _cpr_status, pseudonym{% endif %}
    {%- for c in f.columns if c != 'cpr' %},
    na({{ c }}) as t_{{ c }}
    {%- endfor %}
from {{ f.raw_table }}
{%- endmacro %}

{#- The rules every file shares, first in its coalesce(...): malformed line, missing required
    values, invalid CPR. -#}
{% macro common_rules(f) -%}
rule(_malformed, 'MALFORMED_ROW', 'the line does not have the header''s number of fields')
{%- for c in f.required %},
        {% if c == 'cpr' -%}
        rule(_cpr_status = 'missing', 'MISSING_REQUIRED', 'cpr is empty')
        {%- else -%}
        rule(t_{{ c }} is null, 'MISSING_REQUIRED', '{{ c }} is empty')
        {%- endif %}
{%- endfor %}
{%- if f.has_cpr %},
        rule(_cpr_status = 'invalid', 'INVALID_CPR',
             'cpr is not 10 digits (DDMMYYXXXX or DDMMYY-XXXX) with a real date in the first six')
{%- endif %}
{%- endmacro %}

{#- A code as the format spells it (compared in lower case); NULL outside its value set. -#}
{% macro spelt(column) -%}
case lower(t_{{ column }}) {% for v in value_sets[column] %}when {{ sql_literal(v | lower) }} then {{ sql_literal(v) }} {% endfor %}end
{%- endmacro %}

{#- A code outside its value set (compared in lower case). -#}
{% macro bad_code(column, says='is not in the value set', value_set=None) -%}
rule(t_{{ column }} is not null and not list_contains({{ sql_list(value_sets[value_set or column] | map('lower')) }}, lower(t_{{ column }})),
             'INVALID_CODE', '{{ column }} ' || shown(t_{{ column }}) || ' {{ says }}')
{%- endmacro %}

{% macro bad_date(column) -%}
rule(t_{{ column }} is not null and {{ column }} is null, 'INVALID_DATE', '{{ column }} ' || shown(t_{{ column }}) || ' is not a valid date')
{%- endmacro %}

{% macro bad_number(column, kind='number') -%}
rule(t_{{ column }} is not null and {{ column }} is null, 'INVALID_NUMBER', '{{ column }} ' || shown(t_{{ column }}) || ' is not a {{ 'whole number' if kind == 'int' else 'number' }}')
{%- endmacro %}

{% macro out_of_range(column, says) -%}
rule(not {{ in_range(column, column) }}, 'OUT_OF_RANGE', '{{ column }} ' || shown(t_{{ column }}) || ' {{ says }}')
{%- endmacro %}
