-- Regimen category of every treatment course, from its drugs and never from the free-text
-- regimen (indicators.md, "Regimen category"): which classes and key substances the course
-- contains, and the first matching category. A course without drug rows is 'other'.
-- A course is carfilzomib-based when it is a quadruplet, quintuplet or triplet containing
-- carfilzomib. _line (the course's line in the delivered file) breaks the last tie between
-- courses of the same category when a phase's predominant course is chosen.
with contents as (
    select
        course_id,
        bool_or(drug_class = 'proteasome_inhibitor')       as has_pi,
        bool_or(drug_class = 'imid')                       as has_imid,
        bool_or(drug_class = 'cd38_antibody')              as has_cd38,
        bool_or(atc = 'H02AB02')                           as has_dexamethasone,
        bool_or(substance = 'cyclophosphamide')            as has_cyclophosphamide,
        bool_or(substance = 'bortezomib')                  as has_bortezomib,
        bool_or(substance = 'carfilzomib')                 as has_carfilzomib,
        bool_or(substance = 'lenalidomide')                as has_lenalidomide,
        bool_or(substance = 'melphalan')                   as has_melphalan,
        list_sort(list_distinct(list(coalesce(substance, lower(drug_name), atc))))
                                                           as substances
    from int_drug_exposures
    group by course_id
),

flags as (
    select
        c.pseudonym,
        c.course_id,
        c._line,
        c.phase,
        c.regimen,
        c.start_date,
        c.end_date,
        c.cycles,
        c.cycle_length_days,
        coalesce(k.has_pi, false)               as has_pi,
        coalesce(k.has_imid, false)             as has_imid,
        coalesce(k.has_cd38, false)             as has_cd38,
        coalesce(k.has_dexamethasone, false)    as has_dexamethasone,
        coalesce(k.has_cyclophosphamide, false) as has_cyclophosphamide,
        coalesce(k.has_bortezomib, false)       as has_bortezomib,
        coalesce(k.has_carfilzomib, false)      as has_carfilzomib,
        coalesce(k.has_lenalidomide, false)     as has_lenalidomide,
        coalesce(k.has_melphalan, false)        as has_melphalan,
        coalesce(k.substances, [])              as substances
    from stg_treatment_courses as c
    left join contents as k on k.course_id = c.course_id
)

select
    *,
    regimen_category(has_cd38, has_pi, has_imid, has_dexamethasone, has_cyclophosphamide, has_bortezomib)
        as regimen_category,
    regimen_category(has_cd38, has_pi, has_imid, has_dexamethasone, has_cyclophosphamide, has_bortezomib)
        in ('quintuplet_cd38', 'quadruplet_cd38', 'triplet_pi_imid') and has_carfilzomib
        as carfilzomib_based
from flags
