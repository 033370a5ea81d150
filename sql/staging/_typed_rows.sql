{#- One file's rows typed and judged by its own row rules: the file read as text once
    (`fields`: t_<column> trimmed, NULL when missing; staging/_rules.sql), then its
    stg_<file>.sql over that. -#}
{% import 'staging/_rules.sql' as r -%}
with fields as (
    {{ r.fields(f) }}
)
select * from (
{{ body }}
)
