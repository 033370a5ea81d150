-- One row per drug row of a treatment course: the ATC code mapped to its current code (the
-- pre-2021/2022 codes, indicators.md "Drug classes by ATC"), the substance and drug class.
-- Codes outside the class table keep substance and class NULL: they count as "anything else".
with atc_renamed (atc_old, atc_new) as (
    values
        ('L01XX32', 'L01XG01'),  -- bortezomib
        ('L01XX45', 'L01XG02'),  -- carfilzomib
        ('L01XX50', 'L01XG03'),  -- ixazomib
        ('L01XC24', 'L01FC01'),  -- daratumumab
        ('L01XC38', 'L01FC02')   -- isatuximab
),

drug_classes (atc, substance, drug_class) as (
    values
        ('L01XG01', 'bortezomib',       'proteasome_inhibitor'),
        ('L01XG02', 'carfilzomib',      'proteasome_inhibitor'),
        ('L01XG03', 'ixazomib',         'proteasome_inhibitor'),
        ('L04AX02', 'thalidomide',      'imid'),
        ('L04AX04', 'lenalidomide',     'imid'),
        ('L04AX06', 'pomalidomide',     'imid'),
        ('L01FC01', 'daratumumab',      'cd38_antibody'),
        ('L01FC02', 'isatuximab',       'cd38_antibody'),
        ('H02AB02', 'dexamethasone',    'steroid'),
        ('H02AB06', 'prednisolone',     'steroid'),
        ('L01AA01', 'cyclophosphamide', 'alkylator'),
        ('L01AA03', 'melphalan',        'alkylator')
),

mapped as (
    select
        d.*,
        d.atc                         as atc_delivered,
        coalesce(r.atc_new, d.atc)    as atc_current
    from stg_drugs as d
    left join atc_renamed as r on r.atc_old = d.atc
)

select
    c.pseudonym,
    m.course_id,
    c.phase,
    c.start_date,
    m.atc_delivered,
    m.atc_current                     as atc,
    k.substance,
    k.drug_class,
    m.drug_name,
    m.dose,
    m.dose_unit,
    m.days,
    m.n_days
from mapped as m
join stg_treatment_courses as c on c.course_id = m.course_id
left join drug_classes as k on k.atc = m.atc_current
