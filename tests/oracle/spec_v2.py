"""Independent reference implementation ("oracle") of the indicator specification, version 2.

Written from ``shared/spec/indicators.md`` (v2) and ``extract-format.md`` (v2) only, without
reading the production SQL. It reads the pipeline's *staging* tables (``stg_*`` in
``audit.duckdb``), which it trusts, and implements everything after them in plain Python:

    judge(database, extract_date) -> list of rows
        {pseudonym, indicator_id, status, reason_code, index_date, guideline_version, facts}

``facts`` is a small dict of the values that decided the row (for diffs; not part of the
results contract). Every shared rule and every indicator is one function whose docstring
quotes the sentence of the spec it implements. Parameters are the spec's defaults
(``PARAMETERS``); the guideline-version table is data (``GUIDELINE_VERSIONS``).

Arithmetic: numbers read from staging are turned into exact fractions of the decimal they
print as (``Fraction(repr(x))``), so tolerances and thresholds stated in decimals
(2,2 g/m² = 2200 mg/m², B2M 5,5 mg/L, MRD 0,00001, CrCl 30) are compared exactly, with
end points included as the spec says; only Mosteller's square root is floating point.

Readings (where the spec leaves room, the most literal reading was chosen):

R1.  Ties. "First"/"earliest"/"latest" course by start date: on the same start date the
     row nearer the top of ``treatment_courses`` (smaller ``_line``) counts as first and as
     latest. This covers MM03's "latest" priming course, the first course of a phase and the
     first maintenance/conditioning course. The predominant course's own tie rule ("same
     start: the row nearer the top of the table") names the category table just before it
     ("take the first row of the table that matches"): on the same start the course whose
     category is nearer the top of that table wins, and only between courses of the same
     category the line nearer the top of ``treatment_courses``. MM06's "latest consolidation
     course" is a phase's course and is ordered the same way on the same start.
R2.  "The patient's first ``induktion`` course" (decision date of MM08/MM12, risk cut-off,
     MM15 index) is the earliest ``induktion`` course of the patient, wherever it lies
     (no cut at harvest/transplant, no lower bound at diagnosis). "Induction as in MM02"
     (the category judged by MM02, MM08, MM12, MM13) is the cut one: ``induktion`` courses
     starting before the first ``leukaferese`` of the patient (before the first ``asct`` if
     the patient has no ``leukaferese``), without a lower bound.
R3.  Risk: every result sampled up to the cut-off counts, without a lower bound at
     diagnosis. An aberration is "positive" when any of its samples up to the cut-off is
     ``pos`` (not only the latest); "tested" when it has any result. Rule 1's clonal
     fraction is that of a positive ``del17p`` sample. Rule 3 counts ``del1p`` only
     (``del1p_biallelic`` is rule 2's, not an HRCA of rule 3). Rule 4 fires when any B2M
     sample up to the cut-off is ≥ 5,5 mg/L and the creatinine sample nearest to it
     (within 7 days either side, ties the earlier), itself sampled up to the cut-off, is
     < 1,2 mg/dL; no creatinine in reach → rule 4 does not fire. Rule 6 reads
     ``extramedullary`` of the index diagnosis row. "60 days after diagnosis" =
     diagnosis date + 60 days, inclusive.
R4.  Creatinine in mg/dL = ``value_std`` (µmol/L) ÷ 88,4; for a sample delivered in
     ``mg/dL`` the delivered ``value`` is that number exactly (the same quantity without
     the binary round trip through µmol/L). Age in CrCl on the creatinine sample date.
     Sex factor 0,85 only when ``sex`` = ``K``.
R5.  Administration days: ``days`` is a comma list of days and ``a-b`` ranges; the number
     of administration days is the number of distinct days it names. ``days`` missing or
     unreadable, or ``dose`` missing → the course dose is unknown (reason code
     ``DOSE_UNKNOWN`` in MM03/MM04, a code of the oracle's own: the spec names none).
     ``mg/kg`` uses the weight of the anthropometrics row that gave the BSA.
R6.  "Known values decide not_met" for doses: a course dose whose known part (rows that
     could be converted) already exceeds every acceptable value is decided although a
     row needs an unknown BSA (MM03: > 2200 mg/m² → ``PRIMING_DOSE``; MM04: > 210 mg/m²
     → ``MELPHALAN_DOSE_OTHER``; MM04 with CrCl < 30 and a known part > 147 mg/m² →
     not_met with the first listed code still possible, ``FULL_DOSE_DESPITE_LOW_CRCL``
     up to 210). Without such a known part: BSA_UNKNOWN / CRCL_UNKNOWN as the spec lists.
R7.  MM04: "≈ 200" = 190–210 mg/m², "≈ 140" = 133–147 mg/m² (± 5 %, ends included).
     CrCl unknown with a dose that is ≈ 140 or ≈ 200 → ``CRCL_UNKNOWN``; dose unknown
     (BSA) with CrCl unknown → ``CRCL_UNKNOWN``; with CrCl known → ``BSA_UNKNOWN``.
R8.  "Carfilzomib-based": the course contains carfilzomib (``L01XG02`` after mapping).
R9.  MM05: "died within 365 days without asct" = death on day 0–365 and no ``asct`` on day
     0–365 (i.e. not met); exclusion is applied first, also for ``mrd_strategi``
     patients. "No asct yet" (pending) = no ``asct`` at all at the extract date. The
     deferral is justified when at least one ``efter_induktion`` response satisfies all
     the conditions with "its" induction (courses starting before that response), MRD
     sensitivity compared exactly (1e-05 ≤ 0,00001 holds; 0,0001 fails).
R10. MM06: the judged course = the first ``vedligehold`` course starting after (not on)
     the last ``asct``; consolidation = ``konsolidering`` courses starting after the last
     ``asct`` and before the judged course's start (all of them when none started). The
     window is open while ``extract_date`` < the window's last day (this is the spec's
     "extract_date − index_date < N" for N = 120, and "extract_date − consolidation end
     < 60" for consolidation). Exclusion: death or a ``PD`` response (any timepoint) on a
     date from the index date to the day before the window's last day, when the judged
     course did not start before that date; DIED before PROGRESSION. When the
     consolidation end is unknown and the judged course starts by day 120, everything
     (exclusion included) uses the window first consolidation start … day 120; otherwise
     the row is ``CONSOLIDATION_END_UNKNOWN`` (even when the judged course starts before
     the earliest possible end of the window), ``excluded`` and ``pending`` (nothing
     started) using the window's earliest possible last day = latest consolidation start
     + 1 + 60.
R11. MM07: "lenalidomide 10 mg" = the course's lenalidomide row(s) all have dose 10 and
     ``dose_unit`` ``mg``; "below 10 mg" = all in ``mg`` and below 10; any other unit is
     "other dose". "Days 1-21" = the named days are exactly 1…21. Schedule = days and
     cycle length 28; either known to be wrong → ``SCHEDULE`` (even with the other
     missing). Dose missing with a known wrong schedule → ``SCHEDULE`` when a renal
     justification is impossible (CrCl unknown or ≥ 50), else ``DOSE_UNKNOWN``.
R12. MM10: response missing with risk ``standard`` → ``TANDEM_STANDARD_RISK`` (known values
     decide not_met); VGPR/PR with risk ``unknown`` → ``RISK_UNKNOWN``; no response with
     risk ``high``/``unknown`` → ``RESPONSE_UNKNOWN`` (listed first).
R13. MM11: "died within 90 days without a referral" = death on day 0–90 after the first
     ``asct`` and no referral counted by the met rule.
R14. MM13: no induction (as in MM02) and cycles not deciding → ``CYCLES_UNKNOWN`` if some
     consolidation course lacks cycles, else ``INDUCTION_UNKNOWN`` (codes in the order the
     text lists them); consolidation cycles known to exceed the limit decide
     ``CONSOLIDATION_CYCLES`` even without an induction. The regimen comparison, judged
     first, is of the two phases' category codes (predominant courses).
R15. MM14: died on day 0–100 → ``DIED_WITHIN_100_DAYS`` (also while the window is open);
     alive and window open → ``pending``; else ``met``.
R16. MM15: the three groups (``del17p``, ``t4_14``, ``gain1q``/``amp1q``) count as assessed
     with any result sampled on or before the index date (no lower bound).
R17. Guideline version: MM08/MM12 decision date = start of the earliest ``induktion`` course
     (R2), else the index date; all other indicators: the index date. MM05's justified
     branch needs the version at diagnosis to be v2.0 or later.
R18. ICD-10 and other codes are compared as staged (``DC900``, ``asct`` …); old ATC codes are
     mapped before any class test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb

# ---------------------------------------------------------------------------------------
# Parameters (the spec's defaults) and reference data
# ---------------------------------------------------------------------------------------

PARAMETERS = {
    "hdt_age_limit": 70,
    "tandem_max_days": 180,
    "bsa_lookback_days": 30,
    "crcl_lookback_days": 30,
    "creatinine_umol_per_mg_dl": Fraction("88.4"),
    "crcl_melphalan_threshold": 30,
    "crcl_lenalidomide_threshold": 50,
    "risk_no_induction_days": 60,
    "risk_del17p_min_clone_pct": 20,
    "risk_b2m_min_mg_l": Fraction("5.5"),
    "risk_normal_creatinine_max_mg_dl": Fraction("1.2"),
    "risk_b2m_creatinine_max_days": 7,
    "risk_cpc_min_pct": 2,
    "mm01_window_days": 30,
    "mm02_cycles": 4,
    "mm02_cycles_long": 3,
    "mm02_long_cycle_min_days": 42,
    "mm03_priming_lookback_days": 30,
    "mm03_cyclophosphamide_mg_m2": 2000,
    "mm03_tolerance": Fraction("0.10"),
    "mm04_full_mg_m2": 200,
    "mm04_reduced_mg_m2": 140,
    "mm04_tolerance": Fraction("0.05"),
    "mm05_window_days": 365,
    "mm05_min_induction_cycles": 4,
    "mm05_mrd_sensitivity_max": Fraction("0.00001"),
    "mm06_window_start_day": 60,
    "mm06_window_end_day": 120,
    "mm06_after_consolidation_days": 60,
    "mm07_dose_mg": 10,
    "mm07_days": frozenset(range(1, 22)),
    "mm07_cycle_length_days": 28,
    "mm11_window_days": 90,
    "mm13_cycle_limit": 2,
    "mm13_cycle_limit_high_risk": 12,
    "mm14_window_days": 100,
}
P = PARAMETERS

#: "v1.5 before 2026-04-07, v2.0 from 2026-04-07 inclusive" (ordered; a v2.1 is one more row)
GUIDELINE_VERSIONS: list[tuple[date, str]] = [(date.min, "v1.5"), (date(2026, 4, 7), "v2.0")]
#: "MM08, MM09 and MM12 give excluded / GUIDELINE_VERSION for decision dates before 2026-04-07"
VERSION_REQUIRED = {"MM08": "v2.0", "MM09": "v2.0", "MM12": "v2.0"}

ATC_MAP = {"L01XX32": "L01XG01", "L01XX45": "L01XG02", "L01XX50": "L01XG03",
           "L01XC24": "L01FC01", "L01XC38": "L01FC02"}
BORTEZOMIB, CARFILZOMIB, IXAZOMIB = "L01XG01", "L01XG02", "L01XG03"
THALIDOMIDE, LENALIDOMIDE, POMALIDOMIDE = "L04AX02", "L04AX04", "L04AX06"
DARATUMUMAB, ISATUXIMAB = "L01FC01", "L01FC02"
DEXAMETHASONE, PREDNISOLONE = "H02AB02", "H02AB06"
CYCLOPHOSPHAMIDE, MELPHALAN = "L01AA01", "L01AA03"
PI = frozenset({BORTEZOMIB, CARFILZOMIB, IXAZOMIB})
IMID = frozenset({THALIDOMIDE, LENALIDOMIDE, POMALIDOMIDE})
CD38 = frozenset({DARATUMUMAB, ISATUXIMAB})

CD38_CATEGORIES = ("quadruplet_cd38", "quintuplet_cd38")
RECOMMENDED_CATEGORIES = ("quintuplet_cd38", "quadruplet_cd38", "triplet_pi_imid", "vcd")

INDICATORS = tuple(f"MM{i:02d}" for i in range(1, 16))


# ---------------------------------------------------------------------------------------
# Input (staging is trusted)
# ---------------------------------------------------------------------------------------

def exact(x) -> Fraction | None:
    """A staged number as the exact decimal it prints as (None stays None)."""
    if x is None:
        return None
    if isinstance(x, int):
        return Fraction(x)
    return Fraction(repr(float(x)))


@dataclass
class Drug:
    atc: str            # mapped
    dose: Fraction | None
    unit: str | None
    days: str | None
    line: int


@dataclass
class Course:
    course_id: str
    phase: str
    start: date
    cycles: int | None
    cycle_length: int | None
    line: int
    drugs: list[Drug] = field(default_factory=list)

    @property
    def atcs(self) -> frozenset[str]:
        return frozenset(d.atc for d in self.drugs)


@dataclass
class Patient:
    pseudonym: str
    sex: str | None
    birth: date
    death: date | None
    diagnoses: list[dict] = field(default_factory=list)
    labs: list[dict] = field(default_factory=list)
    anthropometrics: list[dict] = field(default_factory=list)
    cytogenetics: list[dict] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    procedures: list[dict] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)


def _rows(con, table: str) -> list[dict]:
    cur = con.execute(f"select * from {table}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def load(database: Path) -> dict[str, Patient]:
    """Read the staging tables into one ``Patient`` per pseudonym (nothing else is read)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        patients = {r["pseudonym"]: Patient(r["pseudonym"], r["sex"], r["birth_date"], r["death_date"])
                    for r in _rows(con, "stg_patients")}
        for table, attr in (("stg_diagnoses", "diagnoses"), ("stg_labs", "labs"),
                            ("stg_anthropometrics", "anthropometrics"), ("stg_cytogenetics", "cytogenetics"),
                            ("stg_procedures", "procedures"), ("stg_responses", "responses")):
            for r in _rows(con, table):
                if r["pseudonym"] in patients:
                    getattr(patients[r["pseudonym"]], attr).append(r)
        courses: dict[str, Course] = {}
        for r in _rows(con, "stg_treatment_courses"):
            c = Course(r["course_id"], r["phase"], r["start_date"], r["cycles"], r["cycle_length_days"], r["_line"])
            courses[c.course_id] = c
            if r["pseudonym"] in patients:
                patients[r["pseudonym"]].courses.append(c)
        for r in _rows(con, "stg_drugs"):
            if r["course_id"] in courses:
                courses[r["course_id"]].drugs.append(
                    Drug(map_atc(r["atc"]), exact(r["dose"]), r["dose_unit"], r["days"], r["_line"]))
    finally:
        con.close()
    for p in patients.values():
        p.courses.sort(key=lambda c: (c.start, c.line))
        p.procedures.sort(key=lambda r: (r["procedure_date"], r["_line"]))
    return patients


# ---------------------------------------------------------------------------------------
# Shared rules
# ---------------------------------------------------------------------------------------

def index_diagnosis(diagnoses: list[dict]) -> dict | None:
    """"A patient's earliest ``diagnoses`` row with ``icd10`` in (``DC900``, ``DC901``); on the
    same day ``DC900`` comes first, then the earlier line. Patients with no such row are out of
    scope.\""""
    rows = [r for r in diagnoses if r["icd10"] in ("DC900", "DC901")]
    if not rows:
        return None
    return min(rows, key=lambda r: (r["diagnosis_date"], r["icd10"] != "DC900", r["_line"]))


def age_on(birth: date, d: date) -> int:
    """"Completed years on a date: year(d) − year(birth), minus 1 if (month, day) of d is before
    (month, day) of birth.\""""
    years = d.year - birth.year
    if (d.month, d.day) < (birth.month, birth.day):
        years -= 1
    return years


def day_number(index: date, d: date) -> int:
    """"day 0 = the date itself": the day of ``d`` counted from ``index``."""
    return (d - index).days


def within_after(index: date, d: date | None, n: int) -> bool:
    """"within N days after" means day 0–N."""
    return d is not None and 0 <= day_number(index, d) <= n


def within_before_or_on(index: date, d: date, n: int) -> bool:
    """"within N days before (or on)": day −N…0 (the spec's day −N…−1 plus "or on")."""
    return -n <= day_number(index, d) <= 0


def window_open(extract_date: date, index_date: date, n: int) -> bool:
    """"A window of N days after an index date is open while extract_date − index_date < N
    days.\""""
    return (extract_date - index_date).days < n


def guideline_version(decision_date: date) -> str:
    """"v1.5 before 2026-04-07, v2.0 from 2026-04-07 inclusive" — the last version whose
    start is on or before the decision date (the version table is data)."""
    version = GUIDELINE_VERSIONS[0][1]
    for start, name in GUIDELINE_VERSIONS:
        if start <= decision_date:
            version = name
    return version


def version_at_least(version: str, required: str) -> bool:
    order = [name for _, name in GUIDELINE_VERSIONS]
    return order.index(version) >= order.index(required)


@dataclass
class Transplants:
    first: date
    second: date | None   # the tandem's second asct

    @property
    def last(self) -> date:
        return self.second or self.first


def transplants(patient: Patient) -> Transplants | None:
    """"The first ``asct`` of a patient; a second ``asct`` within 180 days after the first makes a
    *tandem*, and "the last ``asct``" is then the second; without a tandem "the last ``asct``" is
    the first. Any other ``asct`` (a later salvage transplant) is ignored.\""""
    dates = sorted(r["procedure_date"] for r in patient.procedures if r["procedure"] == "asct")
    if not dates:
        return None
    second = dates[1] if len(dates) > 1 and within_after(dates[0], dates[1], P["tandem_max_days"]) else None
    return Transplants(dates[0], second)


def first_procedure(patient: Patient, procedure: str) -> date | None:
    dates = [r["procedure_date"] for r in patient.procedures if r["procedure"] == procedure]
    return min(dates) if dates else None


def map_atc(code: str) -> str:
    """"map the pre-2021/2022 codes first: L01XX32→L01XG01 bortezomib, L01XX45→L01XG02 carfilzomib,
    L01XX50→L01XG03 ixazomib, L01XC24→L01FC01 daratumumab, L01XC38→L01FC02 isatuximab\""""
    return ATC_MAP.get(code, code)


def course_category(course: Course) -> str:
    """Regimen category of a course, "from its drugs ... "Drugs in the course" means the course
    *contains* them; take the first row of the table that matches. Dexamethasone means H02AB02."
    quintuplet_cd38: CD38 + PI + cyclophosphamide + IMiD + dexamethasone; quadruplet_cd38: CD38 +
    PI + IMiD + dexamethasone; triplet_pi_imid: PI + IMiD + dexamethasone; vcd: bortezomib +
    cyclophosphamide + dexamethasone, no IMiD; other: anything else."""
    a = course.atcs
    cd38, pi, imid = bool(a & CD38), bool(a & PI), bool(a & IMID)
    dex, cyclo = DEXAMETHASONE in a, CYCLOPHOSPHAMIDE in a
    if cd38 and pi and cyclo and imid and dex:
        return "quintuplet_cd38"
    if cd38 and pi and imid and dex:
        return "quadruplet_cd38"
    if pi and imid and dex:
        return "triplet_pi_imid"
    if BORTEZOMIB in a and cyclo and dex and not imid:
        return "vcd"
    return "other"


def carfilzomib_based(course: Course) -> bool:
    """"A quadruplet_cd38/quintuplet_cd38/triplet_pi_imid course is *carfilzomib-based* when its PI
    is carfilzomib" (R8: the course contains carfilzomib)."""
    return course_category(course) in ("quadruplet_cd38", "quintuplet_cd38", "triplet_pi_imid") \
        and CARFILZOMIB in course.atcs


CATEGORY_TABLE = ("quintuplet_cd38", "quadruplet_cd38", "triplet_pi_imid", "vcd", "other")


def same_start_order(course: Course) -> tuple[int, int]:
    """On the same start: the category nearer the top of the table, then the earlier line (R1)."""
    return -CATEGORY_TABLE.index(course_category(course)), -course.line


def predominant_course(courses: list[Course]) -> Course:
    """"the course with the most cycles (missing cycles count as 0; ties: the later start; same
    start: the row nearer the top of the table)\""""
    return max(courses, key=lambda c: (c.cycles or 0, c.start, same_start_order(c)))


@dataclass
class Phase:
    courses: list[Course]
    predominant: Course
    category: str
    carfilzomib_based: bool
    known_cycles: int      # sum of the cycles that are given
    missing_cycles: int    # number of courses without cycles

    @property
    def cycles(self) -> int | None:
        return self.known_cycles if self.missing_cycles == 0 else None


def phase(courses: list[Course]) -> Phase | None:
    """"the phase's category is that of its *predominant course* ... and its cycles are the sum
    over all its courses. Drugs are never pooled across courses. The predominant course so chosen
    is final: missing cycles never make the category unknown." "a phase is carfilzomib-based when
    its predominant course is\""""
    if not courses:
        return None
    main = predominant_course(courses)
    return Phase(courses, main, course_category(main), carfilzomib_based(main),
                 sum(c.cycles for c in courses if c.cycles is not None),
                 sum(1 for c in courses if c.cycles is None))


def cycles_decide_over(ph: Phase, limit: int) -> bool:
    """"A course with cycles missing counts as at least 1 cycle: when the known cycles plus one per
    such course already exceed [the limit], the row is [the cycles code]" (MM02, MM13)."""
    return ph.known_cycles + ph.missing_cycles > limit


def first_course(patient: Patient, phase_name: str, after: date | None = None,
                 predicate=lambda c: True) -> Course | None:
    """The earliest course of a phase (starting after ``after`` when given); ties R1."""
    for c in patient.courses:          # sorted by (start, line)
        if c.phase == phase_name and (after is None or c.start > after) and predicate(c):
            return c
    return None


def first_induction_start(patient: Patient) -> date | None:
    """"the start of the patient's first induktion course — the earliest, even a one-cycle
    bridging course" (R2)."""
    c = first_course(patient, "induktion")
    return c.start if c else None


def mm02_induction(patient: Patient, tx: Transplants) -> Phase | None:
    """MM02: "The induction = induktion courses starting before the first leukaferese (before the
    first asct if none); its category is that of its predominant course and its cycles the sum
    over its courses".\""""
    harvest = first_procedure(patient, "leukaferese")
    cut = harvest if harvest is not None else tx.first
    return phase([c for c in patient.courses if c.phase == "induktion" and c.start < cut])


def administration_days(days: str | None) -> frozenset[int] | None:
    """"number of administration days in days (1-21 = 21, 1,4,8,11 = 4, 1-2 = 2)" (R5)."""
    if days is None:
        return None
    out: set[int] = set()
    try:
        for part in days.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-"))
                if hi < lo:
                    return None
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
    except ValueError:
        return None
    return frozenset(out) if out else None


@dataclass
class BodySurface:
    bsa: Fraction
    weight: Fraction
    height: Fraction
    measured: date


def body_surface_area(patient: Patient, start: date) -> BodySurface | None:
    """"Mosteller: BSA = sqrt(height_cm × weight_kg / 3600) m², from the latest anthropometrics row
    that has both height and weight within 30 days before (or on) the course start. None → BSA
    unknown.\""""
    rows = [r for r in patient.anthropometrics
            if r["height_cm"] is not None and r["weight_kg"] is not None
            and within_before_or_on(start, r["measure_date"], P["bsa_lookback_days"])]
    if not rows:
        return None
    r = max(rows, key=lambda r: r["measure_date"])
    h, w = exact(r["height_cm"]), exact(r["weight_kg"])
    return BodySurface(Fraction(math.sqrt(h * w / 3600)), w, h, r["measure_date"])


@dataclass
class Dose:
    value: Fraction | None       # mg/m² for one cycle; None when unknown
    known_part: Fraction         # sum of the rows that could be converted
    missing: str | None          # None, "BSA" or "DOSE"
    bsa: BodySurface | None = None


def course_dose_mg_m2(patient: Patient, course: Course, atc: str) -> Dose:
    """"For one cycle, the sum over the drug's rows in the course of dose per administration ×
    number of administration days in days ... g/m2 × 1000 = mg/m²; mg/m2 as is; mg ÷ BSA; mg/kg ×
    weight ÷ BSA." (BSA at the course start; R5, R6.)"""
    total, missing, bsa_needed = Fraction(0), None, False
    bsa = None
    for d in course.drugs:
        if d.atc != atc:
            continue
        n = administration_days(d.days)
        if d.dose is None or n is None:
            missing = "DOSE"
            continue
        per_cycle = d.dose * len(n)
        if d.unit == "g/m2":
            total += per_cycle * 1000
        elif d.unit == "mg/m2":
            total += per_cycle
        elif d.unit in ("mg", "mg/kg"):
            bsa_needed = True
            if bsa is None:
                bsa = body_surface_area(patient, course.start)
            if bsa is None:
                missing = missing or "BSA"
            elif d.unit == "mg":
                total += per_cycle / bsa.bsa
            else:
                total += per_cycle * bsa.weight / bsa.bsa
        else:
            missing = "DOSE"
    return Dose(None if missing else total, total, missing, bsa if bsa_needed else None)


@dataclass
class Clearance:
    value: Fraction | None
    creatinine_umol: Fraction | None = None
    creatinine_date: date | None = None
    weight: Fraction | None = None
    age: int | None = None


def creatinine_mg_dl(lab: dict) -> Fraction:
    """"creatinine_mg_dL = µmol/L ÷ 88,4" (R4)."""
    if (lab["unit"] or "").lower() == "mg/dl":
        return exact(lab["value"])
    return exact(lab["value_std"]) / P["creatinine_umol_per_mg_dl"]


def creatinine_clearance(patient: Patient, start: date) -> Clearance:
    """"Cockcroft–Gault with actual body weight: CrCl = (140 − age) × weight_kg × (0,85 if sex = K)
    / (72 × creatinine_mg_dL) ... age in completed years on the sample date. Use the latest
    kreatinin sample within 30 days before (or on) the conditioning start and the latest weight
    within 30 days before (or on) that start (height not needed). Either missing → CrCl unknown.
    Never round CrCl.\""""
    labs = [r for r in patient.labs if r["analysis"] == "kreatinin"
            and within_before_or_on(start, r["sample_date"], P["crcl_lookback_days"])]
    weights = [r for r in patient.anthropometrics if r["weight_kg"] is not None
               and within_before_or_on(start, r["measure_date"], P["crcl_lookback_days"])]
    if not labs or not weights:
        return Clearance(None)
    lab = max(labs, key=lambda r: r["sample_date"])
    w = exact(max(weights, key=lambda r: r["measure_date"])["weight_kg"])
    age = age_on(patient.birth, lab["sample_date"])
    factor = Fraction("0.85") if patient.sex == "K" else Fraction(1)
    value = (140 - age) * w * factor / (72 * creatinine_mg_dl(lab))
    return Clearance(value, exact(lab["value_std"]), lab["sample_date"], w, age)


@dataclass
class Risk:
    level: str
    rules: list[int]


def risk(patient: Patient, dx: dict) -> Risk:
    """High-risk myeloma, "decided from results sampled up to the first induction start (or up to
    60 days after diagnosis if no induction). A patient is high if any rule holds ... standard if
    no rule holds and at least del17p, t4_14 and gain1q or amp1q were tested; otherwise unknown."
    (R3.)"""
    start = first_induction_start(patient)
    cutoff = start if start is not None else dx["diagnosis_date"] + timedelta(days=P["risk_no_induction_days"])
    cyto = [r for r in patient.cytogenetics if r["sample_date"] <= cutoff]
    labs = [r for r in patient.labs if r["sample_date"] <= cutoff]
    positive = {r["aberration"] for r in cyto if r["result"] == "pos"}
    tested = {r["aberration"] for r in cyto}
    rules = []
    # 1. del17p positive with clonal fraction >= 20 % (no fraction: does not fire), or tp53_mut positive
    if any(r["aberration"] == "del17p" and r["result"] == "pos" and r["clonal_fraction_pct"] is not None
           and exact(r["clonal_fraction_pct"]) >= P["risk_del17p_min_clone_pct"] for r in cyto) \
            or "tp53_mut" in positive:
        rules.append(1)
    # 2. del1p_biallelic positive
    if "del1p_biallelic" in positive:
        rules.append(2)
    # 3. two or more distinct positive HRCAs (gain1q/amp1q together one)
    hrcas = {a for a in ("del17p", "t4_14", "t14_16", "t14_20", "del1p") if a in positive}
    if positive & {"gain1q", "amp1q"}:
        hrcas.add("1q")
    if len(hrcas) >= 2:
        rules.append(3)
    # 4. B2M >= 5,5 mg/L with creatinine < 1,2 mg/dL in the nearest sample within 7 days (ties: earlier)
    creatinines = [r for r in labs if r["analysis"] == "kreatinin"]
    for b in labs:
        if b["analysis"] != "b2m" or exact(b["value_std"]) < P["risk_b2m_min_mg_l"]:
            continue
        near = [c for c in creatinines
                if abs(day_number(b["sample_date"], c["sample_date"])) <= P["risk_b2m_creatinine_max_days"]]
        if near:
            c = min(near, key=lambda c: (abs(day_number(b["sample_date"], c["sample_date"])), c["sample_date"]))
            if creatinine_mg_dl(c) < P["risk_normal_creatinine_max_mg_dl"]:
                rules.append(4)
                break
    # 5. circulating plasma cells > 2 %
    if any(r["analysis"] == "cirk_plasmaceller" and exact(r["value_std"]) > P["risk_cpc_min_pct"] for r in labs):
        rules.append(5)
    # 6. extramedullary = ekstraossøs
    if dx["extramedullary"] == "ekstraossøs":
        rules.append(6)
    if rules:
        return Risk("high", rules)
    if {"del17p", "t4_14"} <= tested and tested & {"gain1q", "amp1q"}:
        return Risk("standard", [])
    return Risk("unknown", [])


# ---------------------------------------------------------------------------------------
# Indicators
# ---------------------------------------------------------------------------------------

@dataclass
class Context:
    patient: Patient
    dx: dict
    extract_date: date
    age_at_diagnosis: int
    tx: Transplants | None
    risk: Risk

    @property
    def diagnosis_date(self) -> date:
        return self.dx["diagnosis_date"]

    @property
    def death(self) -> date | None:
        return self.patient.death


def row(ctx: Context, indicator: str, status: str, code: str, index_date: date,
        decision_date: date | None = None, **facts) -> dict:
    return {"pseudonym": ctx.patient.pseudonym, "indicator_id": indicator, "status": status,
            "reason_code": code, "index_date": index_date,
            "guideline_version": guideline_version(decision_date or index_date), "facts": facts}


def pending_if_open(status: str, code: str, is_open: bool) -> tuple[str, str]:
    """"pending replaces a not_met or unknown only while the indicator's window is still open at
    the extract date" (reason code WINDOW_OPEN)."""
    if is_open and status in ("not_met", "unknown"):
        return "pending", "WINDOW_OPEN"
    return status, code


def mm01(ctx: Context) -> dict | None:
    """MM01 Evaluation for HDT — "Index date: diagnosis date. Population: index diagnosis, age ≤ 70.
    excluded: ecog_ps ≥ 2 (PS_2_OR_MORE); comorbidity = betydelig (SIGNIFICANT_COMORBIDITY).
    met: hdt_evaluated = J. not_met: N (NOT_EVALUATED). unknown: empty (EVALUATION_UNKNOWN).
    pending: not met and the 30-day window after diagnosis is open.\""""
    if ctx.age_at_diagnosis > P["hdt_age_limit"]:
        return None
    dx, idx = ctx.dx, ctx.diagnosis_date
    facts = dict(age=ctx.age_at_diagnosis, ecog=dx["ecog_ps"], comorbidity=dx["comorbidity"],
                 evaluated=dx["hdt_evaluated"])
    if dx["ecog_ps"] is not None and dx["ecog_ps"] >= 2:
        return row(ctx, "MM01", "excluded", "PS_2_OR_MORE", idx, **facts)
    if dx["comorbidity"] == "betydelig":
        return row(ctx, "MM01", "excluded", "SIGNIFICANT_COMORBIDITY", idx, **facts)
    if dx["hdt_evaluated"] is True:
        return row(ctx, "MM01", "met", "MET", idx, **facts)
    status, code = ("not_met", "NOT_EVALUATED") if dx["hdt_evaluated"] is False else ("unknown", "EVALUATION_UNKNOWN")
    status, code = pending_if_open(status, code, window_open(ctx.extract_date, idx, P["mm01_window_days"]))
    return row(ctx, "MM01", status, code, idx, **facts)


def mm02(ctx: Context) -> dict | None:
    """MM02 Induction regimen and cycles before harvest — "met: the induction's category is
    quintuplet_cd38, quadruplet_cd38, triplet_pi_imid or vcd and its cycles total 4 — or 3 or 4
    when every induction course has cycles of ≥ 42 days. not_met: no induction (NO_INDUCTION);
    category other (REGIMEN_NOT_RECOMMENDED); other cycle count (INDUCTION_CYCLES). unknown: cycles
    missing (CYCLES_UNKNOWN) ... A course with cycles missing counts as at least 1 cycle: when the
    known cycles plus one per such course already exceed 4, the row is INDUCTION_CYCLES. 3 cycles
    with a cycle length missing is CYCLES_UNKNOWN (it could still be met).\""""
    if ctx.tx is None:
        return None
    idx = ctx.tx.first
    ind = mm02_induction(ctx.patient, ctx.tx)
    if ind is None:
        return row(ctx, "MM02", "not_met", "NO_INDUCTION", idx)
    lengths = [c.cycle_length for c in ind.courses]
    facts = dict(category=ind.category, known_cycles=ind.known_cycles, courses_without_cycles=ind.missing_cycles,
                 cycle_lengths=lengths)
    if ind.category not in RECOMMENDED_CATEGORIES:
        return row(ctx, "MM02", "not_met", "REGIMEN_NOT_RECOMMENDED", idx, **facts)
    if cycles_decide_over(ind, P["mm02_cycles"]):
        return row(ctx, "MM02", "not_met", "INDUCTION_CYCLES", idx, **facts)
    if ind.cycles is None:          # known + missing <= 4: 4 cycles are still possible
        return row(ctx, "MM02", "unknown", "CYCLES_UNKNOWN", idx, **facts)
    if ind.cycles == P["mm02_cycles"]:
        return row(ctx, "MM02", "met", "MET", idx, **facts)
    if ind.cycles == P["mm02_cycles_long"]:
        if any(n is not None and n < P["mm02_long_cycle_min_days"] for n in lengths):
            return row(ctx, "MM02", "not_met", "INDUCTION_CYCLES", idx, **facts)
        if any(n is None for n in lengths):
            return row(ctx, "MM02", "unknown", "CYCLES_UNKNOWN", idx, **facts)
        return row(ctx, "MM02", "met", "MET", idx, **facts)
    return row(ctx, "MM02", "not_met", "INDUCTION_CYCLES", idx, **facts)


def within_tolerance(value: Fraction, target, tolerance: Fraction) -> bool:
    """"Tolerances (± 5 %, ± 10 %) include their end points.\""""
    return abs(value - target) <= target * tolerance


def mm03(ctx: Context) -> dict | None:
    """MM03 Cyclophosphamide priming 2 g/m² — "Index date: first leukaferese. ... The priming =
    mobilisering course starting within 30 days before the first harvest (day −30…−1); of several,
    the latest one containing cyclophosphamide, else the latest. met: it contains cyclophosphamide
    at 2000 mg/m² ± 10 %. not_met: no priming course (NO_PRIMING); no cyclophosphamide
    (PRIMING_WITHOUT_CYCLOPHOSPHAMIDE); other dose (PRIMING_DOSE). unknown: dose in mg and BSA
    unknown (BSA_UNKNOWN).\""""
    idx = first_procedure(ctx.patient, "leukaferese")
    if idx is None:
        return None
    lookback = P["mm03_priming_lookback_days"]
    cands = [c for c in ctx.patient.courses
             if c.phase == "mobilisering" and -lookback <= day_number(idx, c.start) <= -1]
    if not cands:
        return row(ctx, "MM03", "not_met", "NO_PRIMING", idx)
    latest = lambda cs: max(cs, key=lambda c: (c.start, -c.line))        # noqa: E731  (R1)
    with_cyclo = [c for c in cands if CYCLOPHOSPHAMIDE in c.atcs]
    priming = latest(with_cyclo) if with_cyclo else latest(cands)
    if CYCLOPHOSPHAMIDE not in priming.atcs:
        return row(ctx, "MM03", "not_met", "PRIMING_WITHOUT_CYCLOPHOSPHAMIDE", idx, course=priming.course_id)
    dose = course_dose_mg_m2(ctx.patient, priming, CYCLOPHOSPHAMIDE)
    target, tol = P["mm03_cyclophosphamide_mg_m2"], P["mm03_tolerance"]
    facts = dict(course=priming.course_id, dose_mg_m2=_f(dose.value), bsa=_f(dose.bsa.bsa if dose.bsa else None))
    if dose.value is None:
        if dose.known_part > target * (1 + tol):                        # R6
            return row(ctx, "MM03", "not_met", "PRIMING_DOSE", idx, **facts)
        return row(ctx, "MM03", "unknown", "BSA_UNKNOWN" if dose.missing == "BSA" else "DOSE_UNKNOWN", idx, **facts)
    if within_tolerance(dose.value, target, tol):
        return row(ctx, "MM03", "met", "MET", idx, **facts)
    return row(ctx, "MM03", "not_met", "PRIMING_DOSE", idx, **facts)


def mm04(ctx: Context) -> dict | None:
    """MM04 Melphalan dose by renal function — "Index date: start of the first konditionering course
    containing melphalan. Expected: 140 mg/m² when CrCl < 30 ml/min, else 200 mg/m². Given: course
    dose in mg/m². met: given within ± 5 % of expected. not_met: ≈ 200 given with CrCl < 30
    (FULL_DOSE_DESPITE_LOW_CRCL); ≈ 140 given with CrCl ≥ 30 (REDUCED_WITHOUT_RENAL_INDICATION); any
    other dose (MELPHALAN_DOSE_OTHER). unknown: CRCL_UNKNOWN, BSA_UNKNOWN (dose in mg; when both are
    unknown, CRCL_UNKNOWN). A known dose per m² that is neither ≈ 140 nor ≈ 200 is
    MELPHALAN_DOSE_OTHER even when CrCl is unknown.\""""
    course = first_course(ctx.patient, "konditionering", predicate=lambda c: MELPHALAN in c.atcs)
    if course is None:
        return None
    idx = course.start
    full, reduced, tol = P["mm04_full_mg_m2"], P["mm04_reduced_mg_m2"], P["mm04_tolerance"]
    dose = course_dose_mg_m2(ctx.patient, course, MELPHALAN)
    cl = creatinine_clearance(ctx.patient, idx)
    facts = dict(course=course.course_id, dose_mg_m2=_f(dose.value), crcl=_f(cl.value),
                 creatinine_umol=_f(cl.creatinine_umol), creatinine_date=cl.creatinine_date, weight=_f(cl.weight),
                 age=cl.age, bsa=_f(dose.bsa.bsa if dose.bsa else None))
    low = cl.value is not None and cl.value < P["crcl_melphalan_threshold"]
    if dose.value is None:
        if dose.known_part > full * (1 + tol):                          # R6
            return row(ctx, "MM04", "not_met", "MELPHALAN_DOSE_OTHER", idx, **facts)
        if cl.value is None:
            return row(ctx, "MM04", "unknown", "CRCL_UNKNOWN", idx, **facts)
        if low and dose.known_part > reduced * (1 + tol):               # R6
            return row(ctx, "MM04", "not_met", "FULL_DOSE_DESPITE_LOW_CRCL", idx, **facts)
        return row(ctx, "MM04", "unknown", "BSA_UNKNOWN" if dose.missing == "BSA" else "DOSE_UNKNOWN", idx, **facts)
    about_full = within_tolerance(dose.value, full, tol)
    about_reduced = within_tolerance(dose.value, reduced, tol)
    if not about_full and not about_reduced:
        return row(ctx, "MM04", "not_met", "MELPHALAN_DOSE_OTHER", idx, **facts)
    if cl.value is None:
        return row(ctx, "MM04", "unknown", "CRCL_UNKNOWN", idx, **facts)
    expected = reduced if low else full
    if within_tolerance(dose.value, expected, tol):
        return row(ctx, "MM04", "met", "MET", idx, **facts)
    if about_full and low:
        return row(ctx, "MM04", "not_met", "FULL_DOSE_DESPITE_LOW_CRCL", idx, **facts)
    return row(ctx, "MM04", "not_met", "REDUCED_WITHOUT_RENAL_INDICATION", idx, **facts)


def mrd_deferral_check(ctx: Context) -> str | None:
    """MM05 justified: "reason mrd_strategi, guideline v2.0, risk standard, induction
    quadruplet_cd38/quintuplet_cd38, and an efter_induktion response with mrd = neg at
    mrd_sensitivity ≤ 0,00001 (not reported → the condition fails) after at least 4 induction
    cycles (the summed cycles of the induktion courses that started before that response). The
    induction here = the induktion courses starting before that response; a course with cycles
    missing counts 0 towards the 4." Returns None when justified, else the first failed
    condition."""
    if not version_at_least(guideline_version(ctx.diagnosis_date), "v2.0"):
        return "guideline_version"
    if ctx.risk.level != "standard":
        return "risk"
    failures = []
    for r in sorted(ctx.patient.responses, key=lambda r: r["assessment_date"]):
        if r["timepoint"] != "efter_induktion":
            continue
        ind = phase([c for c in ctx.patient.courses if c.phase == "induktion" and c.start < r["assessment_date"]])
        if ind is None or ind.category not in CD38_CATEGORIES:
            failures.append("induction")
        elif r["mrd"] != "neg" or r["mrd_sensitivity"] is None \
                or exact(r["mrd_sensitivity"]) > P["mm05_mrd_sensitivity_max"]:
            failures.append("mrd")
        elif ind.known_cycles < P["mm05_min_induction_cycles"]:
            failures.append("cycles")
        else:
            return None
    return failures[0] if failures else "no_response"


def mm05(ctx: Context) -> dict | None:
    """MM05 HDT carried out for candidates — "Index date: diagnosis date. Population: age ≤ 70 at
    diagnosis and either hdt_candidate = J, or hdt_candidate = N with reason mrd_strategi. met: an
    asct within 365 days after diagnosis. justified: ... (MRD_NEGATIVE_DEFERRAL). not_met: no asct
    within 365 days (NO_HDT); mrd_strategi without the conditions above (DEFERRAL_NOT_SUPPORTED).
    excluded: died within 365 days without asct (DIED). pending: not met or justified, no asct yet,
    and the 365-day window is open. A patient with reason mrd_strategi who is not met or justified
    is DEFERRAL_NOT_SUPPORTED, never NO_HDT.\""""
    dx, idx = ctx.dx, ctx.diagnosis_date
    deferral = dx["hdt_candidate"] is False and dx["hdt_not_candidate_reason"] == "mrd_strategi"
    if ctx.age_at_diagnosis > P["hdt_age_limit"] or not (dx["hdt_candidate"] is True or deferral):
        return None
    n = P["mm05_window_days"]
    ascts = [r["procedure_date"] for r in ctx.patient.procedures if r["procedure"] == "asct"]
    asct_in_window = [d for d in ascts if within_after(idx, d, n)]
    facts = dict(deferral=deferral, first_asct=ctx.tx.first if ctx.tx else None, death=ctx.death, risk=ctx.risk.level)
    if within_after(idx, ctx.death, n) and not asct_in_window:
        return row(ctx, "MM05", "excluded", "DIED", idx, **facts)
    if asct_in_window:
        return row(ctx, "MM05", "met", "MET", idx, **facts)
    if deferral:
        failed = mrd_deferral_check(ctx)
        facts["deferral_failed"] = failed
        if failed is None:
            return row(ctx, "MM05", "justified", "MRD_NEGATIVE_DEFERRAL", idx, **facts)
        status, code = "not_met", "DEFERRAL_NOT_SUPPORTED"
    else:
        status, code = "not_met", "NO_HDT"
    status, code = pending_if_open(status, code, not ascts and window_open(ctx.extract_date, idx, n))
    return row(ctx, "MM05", status, code, idx, **facts)


def mm06_exclusion(ctx: Context, index: date, window_end: date, judged: Course | None) -> str | None:
    """MM06 excluded: "died, or a PD response, on or after the index date and before the window's
    end, with no maintenance started before that event (DIED, PROGRESSION)" (R10)."""
    def qualifies(event: date | None) -> bool:
        return event is not None and index <= event < window_end and not (judged and judged.start < event)
    if qualifies(ctx.death):
        return "DIED"
    if any(r["response"] == "PD" and qualifies(r["assessment_date"]) for r in ctx.patient.responses):
        return "PROGRESSION"
    return None


def mm06(ctx: Context) -> dict | None:
    """MM06 Lenalidomide maintenance started about 3 months after HDT — "Index date: the last asct.
    Window: day 60–120 after the index date. After consolidation (one or more konsolidering courses
    starting after the index date, and before the judged course when one has started), the window is
    instead from the first consolidation start to 60 days after the consolidation's end (the latest
    consolidation course's start + its cycles × cycle length, in days) ... open while extract_date −
    consolidation end < 60. Consolidation end unknown: a judged course that starts by day 120 is
    judged by the usual rules with the window from the first consolidation start to day 120;
    otherwise the row is unknown (CONSOLIDATION_END_UNKNOWN); pending and excluded then use the
    earliest possible end (latest consolidation start + 1 day + 60). met: a vedligehold course with
    lenalidomide starts in the window. justified: a maintenance course with a CD38 antibody and no
    lenalidomide starts in the window (LENALIDOMIDE_ALTERNATIVE). Judge the first vedligehold course
    starting after the index date. not_met: starts before the window (EARLY_START) or after it
    (LATE_START); none by the window's end (NO_MAINTENANCE); a course in the window with neither
    lenalidomide nor a CD38 antibody (OTHER_MAINTENANCE). pending: nothing started and the window is
    open.\""""
    if ctx.tx is None:
        return None
    idx = ctx.tx.last
    judged = first_course(ctx.patient, "vedligehold", after=idx)
    consolidation = [c for c in ctx.patient.courses if c.phase == "konsolidering" and c.start > idx
                     and (judged is None or c.start < judged.start)]
    start = idx + timedelta(days=P["mm06_window_start_day"])
    end = idx + timedelta(days=P["mm06_window_end_day"])
    facts = dict(judged=judged.course_id if judged else None,
                 judged_day=day_number(idx, judged.start) if judged else None,
                 consolidation=[c.course_id for c in consolidation], death=ctx.death)
    if consolidation:
        latest = max(consolidation, key=lambda c: (c.start, same_start_order(c)))  # R1
        start = consolidation[0].start                                      # courses are sorted
        if latest.cycles is None or latest.cycle_length is None:
            if judged is not None and day_number(idx, judged.start) <= P["mm06_window_end_day"]:
                end = idx + timedelta(days=P["mm06_window_end_day"])
            else:
                end = latest.start + timedelta(days=1 + P["mm06_after_consolidation_days"])
                facts.update(window=(start, end))
                excluded = mm06_exclusion(ctx, idx, end, judged)
                if excluded:
                    return row(ctx, "MM06", "excluded", excluded, idx, **facts)
                status, code = pending_if_open("unknown", "CONSOLIDATION_END_UNKNOWN",
                                               judged is None and ctx.extract_date < end)
                return row(ctx, "MM06", status, code, idx, **facts)
        else:
            consolidation_end = latest.start + timedelta(days=latest.cycles * latest.cycle_length)
            end = consolidation_end + timedelta(days=P["mm06_after_consolidation_days"])
    facts.update(window=(start, end))
    excluded = mm06_exclusion(ctx, idx, end, judged)
    if excluded:
        return row(ctx, "MM06", "excluded", excluded, idx, **facts)
    if judged is None:
        status, code = pending_if_open("not_met", "NO_MAINTENANCE", ctx.extract_date < end)
        return row(ctx, "MM06", status, code, idx, **facts)
    if judged.start < start:
        return row(ctx, "MM06", "not_met", "EARLY_START", idx, **facts)
    if judged.start > end:
        return row(ctx, "MM06", "not_met", "LATE_START", idx, **facts)
    if LENALIDOMIDE in judged.atcs:
        return row(ctx, "MM06", "met", "MET", idx, **facts)
    if judged.atcs & CD38:
        return row(ctx, "MM06", "justified", "LENALIDOMIDE_ALTERNATIVE", idx, **facts)
    return row(ctx, "MM06", "not_met", "OTHER_MAINTENANCE", idx, **facts)


def mm07(ctx: Context) -> dict | None:
    """MM07 Lenalidomide maintenance dose — "Index date: start of the first vedligehold course with
    lenalidomide after the last asct. met: lenalidomide 10 mg, days 1-21, cycle length 28.
    justified: a dose below 10 mg with CrCl < 50 ml/min (Cockcroft–Gault as for MM04, from the
    latest creatinine and weight within 30 days before or on the course start)
    (RENAL_DOSE_REDUCTION). The schedule is not judged then. CrCl unknown → not justified (a lower
    dose is then DOSE). not_met: other dose (DOSE), other schedule (SCHEDULE; dose is judged first).
    unknown: dose or schedule missing (DOSE_UNKNOWN, SCHEDULE_UNKNOWN)." (R11.)"""
    if ctx.tx is None:
        return None
    course = first_course(ctx.patient, "vedligehold", after=ctx.tx.last, predicate=lambda c: LENALIDOMIDE in c.atcs)
    if course is None:
        return None
    idx = course.start
    rows = [d for d in course.drugs if d.atc == LENALIDOMIDE]
    target = P["mm07_dose_mg"]
    if any(d.dose is None for d in rows):
        dose = None
    elif all(d.unit == "mg" and d.dose == target for d in rows):
        dose = "target"
    elif all(d.unit == "mg" and d.dose < target for d in rows):
        dose = "below"
    else:
        dose = "other"
    if any(d.days is None for d in rows):
        days_ok = None
    else:
        day_sets = [administration_days(d.days) for d in rows]        # unreadable days: a known other schedule
        days_ok = None not in day_sets and frozenset().union(*day_sets) == P["mm07_days"]
    length_ok = None if course.cycle_length is None else course.cycle_length == P["mm07_cycle_length_days"]
    schedule_ok = False if False in (days_ok, length_ok) else (None if None in (days_ok, length_ok) else True)
    cl = creatinine_clearance(ctx.patient, idx)
    renal = cl.value is not None and cl.value < P["crcl_lenalidomide_threshold"]
    facts = dict(course=course.course_id, doses=[(_f(d.dose), d.unit) for d in rows], days=[d.days for d in rows],
                 cycle_length=course.cycle_length, crcl=_f(cl.value))
    if dose == "target" and schedule_ok is True:
        return row(ctx, "MM07", "met", "MET", idx, **facts)
    if dose == "below" and renal:
        return row(ctx, "MM07", "justified", "RENAL_DOSE_REDUCTION", idx, **facts)
    if dose in ("below", "other"):
        return row(ctx, "MM07", "not_met", "DOSE", idx, **facts)
    if dose is None:
        if schedule_ok is False and not renal:
            return row(ctx, "MM07", "not_met", "SCHEDULE", idx, **facts)
        return row(ctx, "MM07", "unknown", "DOSE_UNKNOWN", idx, **facts)
    if schedule_ok is False:
        return row(ctx, "MM07", "not_met", "SCHEDULE", idx, **facts)
    return row(ctx, "MM07", "unknown", "SCHEDULE_UNKNOWN", idx, **facts)


def version_exclusion(ctx: Context, indicator: str, index: date, decision: date, **facts) -> dict | None:
    """"MM08, MM09 and MM12 give excluded / GUIDELINE_VERSION for decision dates before
    2026-04-07\""""
    if not version_at_least(guideline_version(decision), VERSION_REQUIRED[indicator]):
        return row(ctx, indicator, "excluded", "GUIDELINE_VERSION", index, decision, **facts)
    return None


def mm08(ctx: Context) -> dict | None:
    """MM08 Carfilzomib quadruplet or quintuplet induction for high risk — "Index date: first asct;
    decision date: first induction start. Population: patients with an asct and risk high (induction
    as in MM02). met: induction is a carfilzomib-based quadruplet_cd38, or any quintuplet_cd38.
    not_met: otherwise (HIGH_RISK_INDUCTION).\""""
    if ctx.tx is None or ctx.risk.level != "high":
        return None
    idx = ctx.tx.first
    decision = first_induction_start(ctx.patient) or idx
    ind = mm02_induction(ctx.patient, ctx.tx)
    facts = dict(category=ind.category if ind else None, carfilzomib=ind.carfilzomib_based if ind else None,
                 decided_on=decision)
    excluded = version_exclusion(ctx, "MM08", idx, decision, **facts)
    if excluded:
        return excluded
    if ind is not None and (ind.category == "quintuplet_cd38"
                            or (ind.category == "quadruplet_cd38" and ind.carfilzomib_based)):
        return row(ctx, "MM08", "met", "MET", idx, decision, **facts)
    return row(ctx, "MM08", "not_met", "HIGH_RISK_INDUCTION", idx, decision, **facts)


def mm09(ctx: Context) -> dict | None:
    """MM09 Dual maintenance for high risk — "Index date: start of the first vedligehold course after
    the last asct. Population: risk high with such a course. met: lenalidomide + CD38 antibody in
    that course. not_met: otherwise (NO_DUAL_MAINTENANCE).\""""
    if ctx.tx is None or ctx.risk.level != "high":
        return None
    course = first_course(ctx.patient, "vedligehold", after=ctx.tx.last)
    if course is None:
        return None
    idx = course.start
    facts = dict(course=course.course_id, atcs=sorted(course.atcs))
    excluded = version_exclusion(ctx, "MM09", idx, idx, **facts)
    if excluded:
        return excluded
    if LENALIDOMIDE in course.atcs and course.atcs & CD38:
        return row(ctx, "MM09", "met", "MET", idx, **facts)
    return row(ctx, "MM09", "not_met", "NO_DUAL_MAINTENANCE", idx, **facts)


def mm10(ctx: Context) -> dict | None:
    """MM10 Tandem transplant only with benefit but without CR — "Index date: second asct.
    Population: patients with a tandem. The response after the first asct is the latest efter_asct
    response dated from the first transplant up to the second (both days included). met: risk high
    and that response is VGPR or PR. not_met, in this order: CR or sCR (TANDEM_DESPITE_CR); SD or PD
    (TANDEM_WITHOUT_BENEFIT); risk standard (TANDEM_STANDARD_RISK). unknown: no such response
    (RESPONSE_UNKNOWN), or risk unknown (RISK_UNKNOWN)." (R12.)"""
    if ctx.tx is None or ctx.tx.second is None:
        return None
    idx = ctx.tx.second
    responses = [r for r in ctx.patient.responses
                 if r["timepoint"] == "efter_asct" and ctx.tx.first <= r["assessment_date"] <= idx]
    response = max(responses, key=lambda r: r["assessment_date"])["response"] if responses else None
    facts = dict(response=response, risk=ctx.risk.level, risk_rules=ctx.risk.rules)
    if ctx.risk.level == "high" and response in ("VGPR", "PR"):
        return row(ctx, "MM10", "met", "MET", idx, **facts)
    if response in ("CR", "sCR"):
        return row(ctx, "MM10", "not_met", "TANDEM_DESPITE_CR", idx, **facts)
    if response in ("SD", "PD"):
        return row(ctx, "MM10", "not_met", "TANDEM_WITHOUT_BENEFIT", idx, **facts)
    if ctx.risk.level == "standard":
        return row(ctx, "MM10", "not_met", "TANDEM_STANDARD_RISK", idx, **facts)
    if response is None:
        return row(ctx, "MM10", "unknown", "RESPONSE_UNKNOWN", idx, **facts)
    return row(ctx, "MM10", "unknown", "RISK_UNKNOWN", idx, **facts)


def mm11(ctx: Context) -> dict | None:
    """MM11 Rehabilitation after HDT — "Index date: first asct. met: a rehabilitering from the
    diagnosis date up to 90 days after the index date (a referral before HDT counts). not_met: none
    (NO_REHABILITATION). excluded: died within 90 days without a referral (DIED). pending: window
    open.\""""
    if ctx.tx is None:
        return None
    idx, n = ctx.tx.first, P["mm11_window_days"]
    referrals = [r["procedure_date"] for r in ctx.patient.procedures if r["procedure"] == "rehabilitering"
                 and ctx.diagnosis_date <= r["procedure_date"] <= idx + timedelta(days=n)]
    facts = dict(referrals=referrals, death=ctx.death)
    if within_after(idx, ctx.death, n) and not referrals:
        return row(ctx, "MM11", "excluded", "DIED", idx, **facts)
    if referrals:
        return row(ctx, "MM11", "met", "MET", idx, **facts)
    status, code = pending_if_open("not_met", "NO_REHABILITATION", window_open(ctx.extract_date, idx, n))
    return row(ctx, "MM11", status, code, idx, **facts)


def mm12(ctx: Context) -> dict | None:
    """MM12 CD38-antibody induction uptake — "Index date: first asct; decision date: first induction
    start. Population: patients with an asct (induction as in MM02). met: induction
    quadruplet_cd38/quintuplet_cd38. not_met: otherwise (NO_CD38_INDUCTION).\""""
    if ctx.tx is None:
        return None
    idx = ctx.tx.first
    decision = first_induction_start(ctx.patient) or idx
    ind = mm02_induction(ctx.patient, ctx.tx)
    facts = dict(category=ind.category if ind else None, decided_on=decision)
    excluded = version_exclusion(ctx, "MM12", idx, decision, **facts)
    if excluded:
        return excluded
    if ind is not None and ind.category in CD38_CATEGORIES:
        return row(ctx, "MM12", "met", "MET", idx, decision, **facts)
    return row(ctx, "MM12", "not_met", "NO_CD38_INDUCTION", idx, decision, **facts)


def mm13(ctx: Context) -> dict | None:
    """MM13 Consolidation — "Index date: start of the first konsolidering course after the last asct.
    The consolidation = the konsolidering courses after the last asct and before the first
    vedligehold course after it. Cycle limit: 2; for risk high, 12; risk unknown: 2. A konsolidering
    course that starts only after maintenance began is not consolidation; a patient with only such
    courses has no MM13 row. A course with cycles missing counts as at least 1 cycle: when the known
    cycles plus one per such course already exceed the limit, the row is CONSOLIDATION_CYCLES; else
    CYCLES_UNKNOWN. met: cycles within the limit and the consolidation's category equals the
    induction's (induction as in MM02). not_met: more cycles (CONSOLIDATION_CYCLES); another category
    (CONSOLIDATION_REGIMEN; judged first). unknown: cycles missing (CYCLES_UNKNOWN); no induction
    recorded (INDUCTION_UNKNOWN)." (R14.)"""
    if ctx.tx is None:
        return None
    maintenance = first_course(ctx.patient, "vedligehold", after=ctx.tx.last)
    cons = phase([c for c in ctx.patient.courses if c.phase == "konsolidering" and c.start > ctx.tx.last
                  and (maintenance is None or c.start < maintenance.start)])
    if cons is None:
        return None
    idx = cons.courses[0].start
    limit = P["mm13_cycle_limit_high_risk"] if ctx.risk.level == "high" else P["mm13_cycle_limit"]
    ind = mm02_induction(ctx.patient, ctx.tx)
    facts = dict(category=cons.category, induction=ind.category if ind else None, known_cycles=cons.known_cycles,
                 courses_without_cycles=cons.missing_cycles, limit=limit, risk=ctx.risk.level)
    if ind is not None and cons.category != ind.category:
        return row(ctx, "MM13", "not_met", "CONSOLIDATION_REGIMEN", idx, **facts)
    if cycles_decide_over(cons, limit):
        return row(ctx, "MM13", "not_met", "CONSOLIDATION_CYCLES", idx, **facts)
    if cons.cycles is None:
        return row(ctx, "MM13", "unknown", "CYCLES_UNKNOWN", idx, **facts)
    if ind is None:
        return row(ctx, "MM13", "unknown", "INDUCTION_UNKNOWN", idx, **facts)
    return row(ctx, "MM13", "met", "MET", idx, **facts)


def mm14(ctx: Context) -> dict | None:
    """MM14 Alive 100 days after HDT — "Index date: first asct. met: no death within 100 days after
    the index date. not_met: died on day 0–100 (DIED_WITHIN_100_DAYS). pending: alive and the
    100-day window is open.\""""
    if ctx.tx is None:
        return None
    idx, n = ctx.tx.first, P["mm14_window_days"]
    facts = dict(death=ctx.death)
    if within_after(idx, ctx.death, n):
        return row(ctx, "MM14", "not_met", "DIED_WITHIN_100_DAYS", idx, day=day_number(idx, ctx.death), **facts)
    if window_open(ctx.extract_date, idx, n):
        return row(ctx, "MM14", "pending", "WINDOW_OPEN", idx, **facts)
    return row(ctx, "MM14", "met", "MET", idx, **facts)


def mm15(ctx: Context) -> dict | None:
    """MM15 Cytogenetic risk assessed before induction — "Index date: start of the patient's first
    induktion course. Population: MM01's population less its exclusions (age ≤ 70; not ECOG PS ≥ 2
    or significant comorbidity), whose first induktion course starts on or after the diagnosis date.
    met: del17p, t4_14 and gain1q or amp1q each have a cytogenetics result (positive or negative)
    sampled up to the index date (inclusive). not_met: none of them (RISK_NOT_ASSESSED); some missing
    (RISK_PARTIALLY_ASSESSED).\""""
    dx = ctx.dx
    if ctx.age_at_diagnosis > P["hdt_age_limit"] or (dx["ecog_ps"] is not None and dx["ecog_ps"] >= 2) \
            or dx["comorbidity"] == "betydelig":
        return None
    idx = first_induction_start(ctx.patient)
    if idx is None or idx < ctx.diagnosis_date:
        return None
    tested = {r["aberration"] for r in ctx.patient.cytogenetics if r["sample_date"] <= idx}
    groups = {"del17p": "del17p" in tested, "t4_14": "t4_14" in tested, "1q": bool(tested & {"gain1q", "amp1q"})}
    facts = dict(assessed=[g for g, ok in groups.items() if ok])
    if all(groups.values()):
        return row(ctx, "MM15", "met", "MET", idx, **facts)
    if not any(groups.values()):
        return row(ctx, "MM15", "not_met", "RISK_NOT_ASSESSED", idx, **facts)
    return row(ctx, "MM15", "not_met", "RISK_PARTIALLY_ASSESSED", idx, **facts)


INDICATOR_FUNCTIONS = (mm01, mm02, mm03, mm04, mm05, mm06, mm07, mm08, mm09, mm10, mm11, mm12, mm13, mm14, mm15)


def _f(x) -> float | None:
    """A fraction as a float, for the facts shown in diffs."""
    return None if x is None else round(float(x), 4)


def judge_patient(patient: Patient, extract_date: date) -> list[dict]:
    """All indicator rows of one patient ("Patients with no such row are out of scope")."""
    dx = index_diagnosis(patient.diagnoses)
    if dx is None:
        return []
    ctx = Context(patient, dx, extract_date, age_on(patient.birth, dx["diagnosis_date"]),
                  transplants(patient), Risk("unknown", []))
    ctx.risk = risk(patient, dx)
    out = []
    for fn in INDICATOR_FUNCTIONS:
        r = fn(ctx)
        if r is not None:
            r["facts"]["risk"] = ctx.risk.level
            out.append(r)
    return out


def judge(database: Path, extract_date: date) -> list[dict]:
    """Every row (patient × indicator) of spec v2 for the staged delivery in ``database``.

    Row fields: pseudonym, indicator_id, status, reason_code, index_date (date),
    guideline_version, facts (dict of deciding values; not part of the contract)."""
    rows: list[dict] = []
    for patient in load(Path(database)).values():
        rows.extend(judge_patient(patient, extract_date))
    rows.sort(key=lambda r: (r["pseudonym"], r["indicator_id"]))
    return rows
