"""The one indicator catalogue: every indicator declared once (OHDSI-style registry).

An indicator is one entry here plus one SQL file ``sql/<sql_file>`` that ends at its judged
rows; the loader wraps them into the uniform result shape (``sql/indicators/_result.sql``).
Builds, assets, the summary's standards, the reports and the reason texts' "Anbefaling N
(grade)" labels all read this list. Definitions: ``shared/spec/indicators.md`` §2 (v2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    title_da: str
    title_en: str
    recommendations: str            # guideline recommendation number(s), "2, 6"
    grade: str                      # evidence grade as cited in reason texts
    index_date_da: str              # the index date as the Danish pages define it
    index_date_description: str     # the same in English (data engineers' files)
    population_da: str              # the base population, for the pages' definitions
    valid_from_version: str         # first guideline version the indicator applies under
    standard: float | None          # target proportion; None = informational, no standard
    sql_file: str                   # relative to sql/
    decision_date_da: str = "indeksdato"    # the date that decides the guideline version
    decision_date_en: str = "index date"
    # the same patients per unit and year as this indicator (same index date and base
    # population): equal totals, which the publication's suppression must not let be combined
    same_patients_as: str | None = None
    patients_within: str | None = None     # its patients per unit and year are among this one's

    @property
    def table_name(self) -> str:
        return PurePosixPath(self.sql_file).stem

    @property
    def informational(self) -> bool:
        """No standard: uptake is reported, never a deviation (indicators.md, MM08, MM09, MM12)."""
        return self.standard is None

    def as_row(self) -> dict[str, object]:
        return {**asdict(self), "table_name": self.table_name}


_INDUCTION_START = {"decision_date_da": "induktionsstart", "decision_date_en": "induction start"}

CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        "MM01", "Vurdering med henblik på HDT", "Evaluation for HDT", "1", "A",
        "diagnosedato", "diagnosis date",
        "patienter med myelomatose (DC900/DC901), højst 70 år ved diagnosen",
        "v1.5", 0.95, "indicators/ind_mm01.sql",
    ),
    Indicator(
        "MM02", "Induktionsregime og antal serier før stamcellehøst",
        "Induction regimen and cycles before harvest", "2, 6", "A",
        "første HDT (ASCT)", "first asct",
        "patienter med HDT (ASCT); induktionen = induktionsforløb startet før første leukaferese",
        "v1.5", 0.90, "indicators/ind_mm02.sql",
    ),
    Indicator(
        "MM03", "Cyclophosphamid-priming 2 g/m²", "Cyclophosphamide priming 2 g/m²", "3", "A",
        "første leukaferese", "first leukaferese",
        "patienter med stamcellehøst (leukaferese)",
        "v1.5", 0.90, "indicators/ind_mm03.sql",
    ),
    Indicator(
        "MM04", "Melphalandosis efter nyrefunktion", "Melphalan dose by renal function", "3", "A/B",
        "start af første konditionering med melphalan",
        "start of the first konditionering course containing melphalan",
        "patienter med konditionering med melphalan",
        "v1.5", 0.95, "indicators/ind_mm04.sql",
    ),
    Indicator(
        "MM05", "HDT gennemført hos kandidater", "HDT carried out for candidates", "4, 8", "A",
        "diagnosedato", "diagnosis date",
        "HDT-kandidater højst 70 år ved diagnosen, samt patienter hvor HDT er udskudt pga. MRD-strategi",
        "v1.5", 0.90, "indicators/ind_mm05.sql", patients_within="MM01",
    ),
    Indicator(
        "MM06", "Lenalidomid-vedligeholdelse startet ca. 3 måneder efter HDT",
        "Lenalidomide maintenance started about 3 months after HDT", "5", "A",
        "sidste HDT (ASCT)", "last asct",
        "patienter med HDT (ASCT); vindue dag 60–120, efter konsolidering fra konsolideringsstart "
        "til 60 dage efter konsolideringens afslutning",
        "v1.5", 0.85, "indicators/ind_mm06.sql",
    ),
    Indicator(
        "MM07", "Dosis af lenalidomid-vedligeholdelse", "Lenalidomide maintenance dose", "5", "A",
        "start af første vedligeholdelsesforløb med lenalidomid efter HDT",
        "start of the first vedligehold course with lenalidomide after the last asct",
        "patienter med lenalidomid-vedligeholdelse efter HDT (ASCT)",
        "v1.5", 0.85, "indicators/ind_mm07.sql",
    ),
    Indicator(
        "MM08", "Firstofs-induktion med carfilzomib eller femstofs-induktion ved højrisiko",
        "Carfilzomib quadruplet or quintuplet induction for high risk", "9", "B",
        "første HDT (ASCT)",
        "first asct; guideline version by the first induction start",
        "højrisikopatienter med HDT (ASCT)",
        "v2.0", None, "indicators/ind_mm08.sql", **_INDUCTION_START, patients_within="MM02",
    ),
    Indicator(
        "MM09", "Dual vedligeholdelse ved højrisiko", "Dual maintenance for high risk", "7", "B",
        "start af første vedligeholdelsesforløb efter sidste HDT",
        "start of the first vedligehold course after the last asct",
        "højrisikopatienter med vedligeholdelse efter HDT (ASCT)",
        "v2.0", None, "indicators/ind_mm09.sql",
    ),
    Indicator(
        "MM10", "Tandemtransplantation kun ved gavn uden CR",
        "Tandem transplant only with benefit but without CR", "9", "A/B",
        "anden HDT (tandem)", "second asct",
        "patienter med tandemtransplantation (anden ASCT inden for 180 dage)",
        "v1.5", 0.90, "indicators/ind_mm10.sql",
    ),
    Indicator(
        "MM11", "Henvisning til rehabilitering ved HDT", "Rehabilitation after HDT", "10", "D",
        "første HDT (ASCT)", "first asct",
        "patienter med HDT (ASCT); henvisning fra diagnosen til 90 dage efter HDT",
        "v1.5", 0.80, "indicators/ind_mm11.sql", same_patients_as="MM02",
    ),
    Indicator(
        "MM12", "Udbredelse af CD38-antistof i induktion", "CD38-antibody induction uptake", "6", "A",
        "første HDT (ASCT)",
        "first asct; guideline version by the first induction start",
        "patienter med HDT (ASCT)",
        "v2.0", None, "indicators/ind_mm12.sql", **_INDUCTION_START, same_patients_as="MM02",
    ),
    Indicator(
        "MM13", "Konsolidering: højst 2 serier med induktionens regime",
        "Consolidation: at most 2 cycles with the induction's regimen", "2, 6", "A",
        "start af første konsolideringsforløb efter sidste HDT",
        "start of the first konsolidering course after the last asct",
        "patienter med konsolidering efter HDT (ASCT) og før vedligeholdelse",
        "v1.5", 0.90, "indicators/ind_mm13.sql",
    ),
    Indicator(
        "MM14", "I live 100 dage efter HDT", "Alive 100 days after HDT", "4", "A",
        "første HDT (ASCT)", "first asct",
        "patienter med HDT (ASCT)",
        "v1.5", 0.97, "indicators/ind_mm14.sql", same_patients_as="MM02",
    ),
    Indicator(
        "MM15", "Cytogenetisk risikovurdering før induktion",
        "Cytogenetic risk assessed before induction", "9", "B",
        "start af første induktionsforløb", "start of the first induktion course",
        "MM01-populationen uden eksklusioner (ECOG PS ≥ 2 eller betydelig komorbiditet), "
        "hvis første induktion startede på eller efter diagnosedatoen",
        "v1.5", 0.90, "indicators/ind_mm15.sql",
    ),
)

BY_ID: dict[str, Indicator] = {i.indicator_id: i for i in CATALOGUE}


def linked_groups(indicator_ids: list[str]) -> list[list[int]]:
    """The positions of ``indicator_ids`` grouped by ``same_patients_as`` and ``patients_within``
    (each group in the order given; an indicator without links in a group of its own)."""
    place = {iid: k for k, iid in enumerate(indicator_ids)}
    parent = list(range(len(indicator_ids)))

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    for iid, k in place.items():
        indicator = BY_ID.get(iid)
        for other in (indicator.same_patients_as, indicator.patients_within) if indicator else ():
            if other in place:
                a, b = root(k), root(place[other])
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for k in range(len(indicator_ids)):
        groups[root(k)].append(k)
    return list(groups.values())
