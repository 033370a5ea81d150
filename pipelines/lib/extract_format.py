"""The delivery format of ``shared/spec/extract-format.md`` as data.

One entry per delivery file: its columns in spec order, which must be non-empty, the
natural key for duplicate detection, and whether rows carry a ``cpr``; then the value sets,
lab units and plausible ranges. These are the format's rules, written once: the staging SQL
(``sql/staging/``) and the expectation suites (``expectations/``, ``"$format.…"`` values)
both read them from here (``FORMAT``). Typing and the row rules live in
``sql/staging/stg_<file>.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class DeliveryFile:
    name: str                      # stem: "labs" for labs.csv
    columns: tuple[str, ...]
    required: tuple[str, ...]      # values that must be non-empty
    key: tuple[str, ...]           # natural key (after parsing) for duplicates

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def has_cpr(self) -> bool:
        return "cpr" in self.columns

    @property
    def raw_table(self) -> str:
        return f"raw_{self.name}"

    @property
    def stg_table(self) -> str:
        return f"stg_{self.name}"

    @property
    def staged_key(self) -> tuple[str, ...]:
        """The key as named in the staging layer (``cpr`` becomes ``pseudonym``)."""
        return tuple("pseudonym" if c == "cpr" else c for c in self.key)

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """The columns as named in the raw layer, in the file's order (``cpr`` becomes ``pseudonym``)."""
        return tuple("pseudonym" if c == "cpr" else c for c in self.columns)


FILES: tuple[DeliveryFile, ...] = (
    DeliveryFile(
        "departments",
        ("department_code", "department_name", "hospital", "region"),
        ("department_code",),
        ("department_code",),
    ),
    DeliveryFile(
        "patients",
        ("cpr", "sex", "birth_date", "death_date"),
        ("cpr", "birth_date"),
        ("cpr",),
    ),
    DeliveryFile(
        "diagnoses",
        (
            "cpr", "diagnosis_date", "icd10", "department_code", "ecog_ps", "comorbidity",
            "iss_stage", "extramedullary", "hdt_evaluated", "hdt_evaluation_date",
            "hdt_candidate", "hdt_not_candidate_reason",
        ),
        ("cpr", "diagnosis_date", "department_code"),
        ("cpr", "diagnosis_date", "icd10"),
    ),
    DeliveryFile(
        "labs",
        ("cpr", "sample_date", "analysis", "value", "unit"),
        ("cpr", "sample_date", "analysis", "value", "unit"),
        ("cpr", "sample_date", "analysis"),
    ),
    DeliveryFile(
        "anthropometrics",
        ("cpr", "measure_date", "height_cm", "weight_kg"),
        ("cpr", "measure_date"),
        ("cpr", "measure_date"),
    ),
    DeliveryFile(
        "cytogenetics",
        ("cpr", "sample_date", "aberration", "result", "clonal_fraction_pct"),
        ("cpr", "sample_date", "aberration", "result"),
        ("cpr", "sample_date", "aberration"),
    ),
    DeliveryFile(
        "treatment_courses",
        ("cpr", "course_id", "phase", "regimen", "start_date", "end_date", "cycles", "cycle_length_days"),
        ("cpr", "course_id", "phase", "start_date"),
        ("course_id",),
    ),
    DeliveryFile(
        "drugs",
        ("course_id", "atc", "drug_name", "dose", "dose_unit", "days"),
        ("course_id", "atc"),
        ("course_id", "atc", "days"),
    ),
    DeliveryFile(
        "procedures",
        ("cpr", "procedure_date", "procedure", "sks_code"),
        ("cpr", "procedure_date", "procedure"),
        ("cpr", "procedure_date", "procedure"),
    ),
    DeliveryFile(
        "responses",
        ("cpr", "assessment_date", "timepoint", "response", "mrd", "mrd_sensitivity"),
        ("cpr", "assessment_date", "response"),
        ("cpr", "assessment_date", "timepoint"),
    ),
)

FILES_BY_NAME = {f.name: f for f in FILES}

# Literal spellings that mean "missing" (compared after trimming blanks).
MISSING_VALUES = ("", "NA", ".", "uoplyst")

# Row-level quarantine reasons (stable codes, published in quarantine.csv).
QUARANTINE_REASONS: dict[str, str] = {
    "MALFORMED_ROW": "the line does not have the header's number of fields",
    "MISSING_REQUIRED": "a value the format requires is empty",
    "INVALID_CPR": "cpr is not 10 digits with a real date in the first six",
    "INVALID_DATE": "a date that cannot be parsed or does not exist",
    "INVALID_NUMBER": "a number that cannot be parsed",
    "INVALID_CODE": "a code outside the format's value set",
    "UNIT_MISMATCH": "a lab unit that does not belong to its analysis",
    "OUT_OF_RANGE": "a value outside the physically possible range",
    "DATE_AFTER_EXTRACT": "a date after the extract date",
    "DEATH_BEFORE_BIRTH": "death date before birth date",
    "BEFORE_BIRTH": "a dated row before the patient's birth",
    "AFTER_DEATH": "a dated row after the patient's death",
    "CONFLICTING_DUPLICATE": "rows share the natural key but differ in other values",
    "ORPHAN": "no valid patient (cpr) or course (course_id) for this row",
}


# Codes (compared without regard to case; `sex` and `response` keep their spelling).
VALUE_SETS: dict[str, tuple[str, ...]] = {
    "sex": ("M", "K"),
    "region": ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"),
    "comorbidity": ("ingen", "let", "betydelig"),
    "extramedullary": ("nej", "paraossøs", "ekstraossøs"),
    "hdt_not_candidate_reason": ("alder", "komorbiditet", "performance", "patientens_valg", "mrd_strategi", "andet"),
    "analysis": ("kreatinin", "b2m", "ldh", "albumin", "cirk_plasmaceller"),
    "aberration": ("del17p", "t4_14", "t14_16", "t14_20", "gain1q", "amp1q", "del1p", "del1p_biallelic", "tp53_mut"),
    "result": ("pos", "neg"),
    "phase": ("induktion", "mobilisering", "konditionering", "konsolidering", "vedligehold", "andet"),
    "dose_unit": ("mg", "mg/m2", "g/m2", "mg/kg"),
    "procedure": ("leukaferese", "asct", "rehabilitering"),
    "timepoint": ("efter_induktion", "efter_asct", "efter_konsolidering", "andet"),
    "response": ("sCR", "CR", "VGPR", "PR", "SD", "PD"),
    "mrd": ("neg", "pos"),
}

# The units each analysis may be delivered in (the first is the one values are standardised to;
# creatinine in mg/dL × creatinine_umol_per_mg_dl = µmol/L).
LAB_UNITS: dict[str, tuple[str, ...]] = {
    "kreatinin": ("µmol/L", "mg/dL"),
    "b2m": ("mg/L",),
    "ldh": ("U/L",),
    "albumin": ("g/L",),
    "cirk_plasmaceller": ("%",),
}


@dataclass(frozen=True)
class Range:
    """A plausible range (extract-format.md, *Bad input*); ends included unless said."""

    low: float | date
    high: float | date | None = None
    low_included: bool = True
    high_included: bool = True


RANGES: dict[str, Range] = {
    "birth_date": Range(date(1890, 1, 1)),
    "height_cm": Range(100, 230),
    "weight_kg": Range(25, 300),
    "kreatinin": Range(10, 3000),          # labs: value_std, in the analysis's first unit
    "b2m": Range(0, 200),
    "ldh": Range(1, 20000),
    "albumin": Range(1, 80),
    "cirk_plasmaceller": Range(0, 100),
    "clonal_fraction_pct": Range(0, 100),
    "ecog_ps": Range(0, 4),
    "iss_stage": Range(1, 3),
    "cycles": Range(1, 400),
    "cycle_length_days": Range(1, 365),
    "dose": Range(0, 100000, low_included=False),
    "mrd_sensitivity": Range(0, 1, low_included=False, high_included=False),
}

FORMAT = {"value_sets": VALUE_SETS, "lab_units": LAB_UNITS, "ranges": RANGES}
