"""The one indicator catalogue: every indicator declared once (OHDSI-style registry).

An indicator is one entry here plus one SQL file ``sql/<sql_file>`` returning the uniform
patient-level shape (``pseudonym, indicator_id, status, reason_code, reason_text,
index_date, guideline_version, department_code, values_json``). Builds, assets, the
summary's standards and the reason texts' "Rec N (grade)" labels all read this list.
Definitions: ``shared/spec/indicators.md`` §2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    title_da: str
    title_en: str
    recommendations: str            # guideline recommendation number(s), "2, 6"
    grade: str                      # evidence grade as cited in reason texts
    index_date_description: str
    valid_from_version: str         # first guideline version the indicator applies under
    standard: float | None          # target proportion; None = informational, no standard
    sql_file: str                   # relative to sql/

    @property
    def table_name(self) -> str:
        return PurePosixPath(self.sql_file).stem

    def as_row(self) -> dict[str, object]:
        return {**asdict(self), "table_name": self.table_name}


CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        "MM01", "Vurdering med henblik på HDT", "Evaluation for HDT",
        "1", "A", "diagnosis date", "v1.5", 0.95, "indicators/ind_mm01.sql",
    ),
    Indicator(
        "MM02", "Induktionsregime og antal serier før stamcellehøst",
        "Induction regimen and cycles before harvest",
        "2, 6", "A", "first asct", "v1.5", 0.90, "indicators/ind_mm02.sql",
    ),
    Indicator(
        "MM03", "Cyclophosphamid-priming 2 g/m²", "Cyclophosphamide priming 2 g/m²",
        "3", "A", "first leukaferese", "v1.5", 0.90, "indicators/ind_mm03.sql",
    ),
    Indicator(
        "MM04", "Melphalandosis efter nyrefunktion", "Melphalan dose by renal function",
        "3", "A/B", "start of the first konditionering course containing melphalan", "v1.5", 0.95,
        "indicators/ind_mm04.sql",
    ),
    Indicator(
        "MM05", "HDT gennemført hos kandidater", "HDT carried out for candidates",
        "4, 8", "A", "diagnosis date", "v1.5", 0.90, "indicators/ind_mm05.sql",
    ),
    Indicator(
        "MM06", "Lenalidomid-vedligehold startet ca. 3 måneder efter HDT",
        "Lenalidomide maintenance started about 3 months after HDT",
        "5", "A", "last asct", "v1.5", 0.85, "indicators/ind_mm06.sql",
    ),
    Indicator(
        "MM07", "Dosis af lenalidomid-vedligehold", "Lenalidomide maintenance dose",
        "5", "A", "start of the first vedligehold course with lenalidomide", "v1.5", 0.85,
        "indicators/ind_mm07.sql",
    ),
    Indicator(
        "MM08", "Carfilzomib-baseret firstofs- eller femstofs-induktion ved højrisiko",
        "Carfilzomib quadruplet or quintuplet induction for high risk",
        "9", "B", "first asct", "v2.0", 0.80, "indicators/ind_mm08.sql",
    ),
    Indicator(
        "MM09", "Dual vedligehold ved højrisiko", "Dual maintenance for high risk",
        "7", "B", "start of the first vedligehold course after the last asct", "v2.0", 0.80,
        "indicators/ind_mm09.sql",
    ),
    Indicator(
        "MM10", "Tandem-transplantation kun ved gavn uden CR",
        "Tandem transplant only with benefit but without CR",
        "9", "A/B", "second asct", "v1.5", 0.90, "indicators/ind_mm10.sql",
    ),
    Indicator(
        "MM11", "Rehabilitering efter HDT", "Rehabilitation after HDT",
        "10", "D", "first asct", "v1.5", 0.80, "indicators/ind_mm11.sql",
    ),
    Indicator(
        "MM12", "Udbredelse af CD38-antistof i induktion", "CD38-antibody induction uptake",
        "6", "A", "first asct", "v2.0", None, "indicators/ind_mm12.sql",
    ),
)

BY_ID: dict[str, Indicator] = {i.indicator_id: i for i in CATALOGUE}
