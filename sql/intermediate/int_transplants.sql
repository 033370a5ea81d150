-- Stem-cell harvest and transplant milestones per patient (indicators.md, "Transplants"):
-- the first leukaferese, the first asct, and a tandem when the next asct follows the first
-- within tandem_max_days; "the last asct" is then that second one (later ones are ignored),
-- otherwise the first.
with asct as (
    select
        pseudonym,
        procedure_date,
        row_number() over (partition by pseudonym order by procedure_date) as asct_number
    from stg_procedures
    where procedure = 'asct'
),

asct_per_patient as (
    select
        pseudonym,
        max(procedure_date) filter (where asct_number = 1) as first_asct_date,
        max(procedure_date) filter (where asct_number = 2) as next_asct_date,
        count(*)                                           as n_asct
    from asct
    group by pseudonym
),

harvest as (
    select pseudonym, min(procedure_date) as first_leukaferese_date
    from stg_procedures
    where procedure = 'leukaferese'
    group by pseudonym
),

milestones as (
    select
        coalesce(a.pseudonym, h.pseudonym)                  as pseudonym,
        h.first_leukaferese_date,
        a.first_asct_date,
        a.next_asct_date,
        coalesce(a.n_asct, 0)                               as n_asct,
        coalesce(a.next_asct_date - a.first_asct_date <= getvariable('tandem_max_days'), false)
                                                            as is_tandem
    from asct_per_patient as a
    full join harvest as h on h.pseudonym = a.pseudonym
)

select
    pseudonym,
    first_leukaferese_date,
    first_asct_date,
    is_tandem,
    case when is_tandem then next_asct_date end                      as tandem_asct_date,
    case when is_tandem then next_asct_date else first_asct_date end as last_asct_date,
    n_asct
from milestones
