"""The words and numbers a Danish haematologist reads on the department pages, lists and
sheets (``shared/spec/glossary-da.md``): statuses, changes, risk, dates ``dd-mm-åååå``,
decimal comma and thousands dot, and the drill-down values of ``values_json`` (English
snake_case keys, made by the indicator SQL) as Danish labels with units, e.g.
``Kreatinin: 91 µmol/L (10-02-2025)``.

English and internal codes stay in the data engineers' files (``patient_results.csv``,
``reason_text_en``, the Parquet and DuckDB tables).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime

from pipelines.indicators.catalogue import BY_ID

# --- statuses and changes -------------------------------------------------------------------

STATUS_DA = {"met": "opfyldt", "not_met": "ikke opfyldt", "unknown": "uoplyst", "justified": "begrundet afvigelse",
             "excluded": "ekskluderet", "pending": "afventer", "absent": "ikke længere i populationen",
             "moved": "nu i en anden afdeling"}
# an informational indicator (no standard, the treatment not recommended by Medicinrådet) reports
# uptake: whether the treatment was given, never "ikke opfyldt"
UPTAKE_DA = {"met": "givet", "not_met": "ikke givet"}
STATUS_ORDER = {"not_met": 0, "unknown": 1, "justified": 2, "pending": 3, "met": 4, "excluded": 5, "absent": 6,
                "moved": 7}
NEW, PERSISTING, RESOLVED, MOVED = "ny", "vedvarende", "løst", "flyttet"
RISK_DA = {"high": "højrisiko", "standard": "standardrisiko", "unknown": "risiko uoplyst"}


def status_da(status: str | None, indicator_id: str | None = None) -> str:
    if status is None:
        return ""
    indicator = BY_ID.get(indicator_id or "")
    if indicator is not None and indicator.informational and status in UPTAKE_DA:
        return UPTAKE_DA[status]
    return STATUS_DA.get(status, status)


def dato(value: date | datetime | str | None) -> str:
    """``dd-mm-åååå`` (a ``yyyy-mm-dd`` text is turned around); '' for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value.strftime("%d-%m-%Y")


def tal(value: float | int | None, digits: int = 0) -> str:
    """A number as Danish pages write it: thousands with a dot, decimal comma, trailing zeros
    of the decimals dropped (``1.234``, ``24,5``)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if digits == 0:
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def cut(value: float, digits: int) -> float:
    """``value`` cut (towards minus infinity) to ``digits`` decimals: 29,996 → 29,99."""
    return math.floor(round(value * 10 ** digits, 6)) / 10 ** digits


def gone_since(resolved: int, moved: int) -> list[str]:
    """A department's deviations of the last extract that are not its deviations now, as the
    list's and the dashboard's sentences count them: ``["2 løst", "1 flyttet til en anden afdeling"]``
    (none of a kind: left out)."""
    return [f"{tal(n)} {word}" for n, word in ((resolved, "løst"), (moved, "flyttet til en anden afdeling")) if n]


def antal(n: int | str | None, ental: str, flertal: str) -> str:
    """A count with its noun in the number it needs: ``1 række``, ``2 rækker``, ``1.234 rækker``
    (a count already shown as text, e.g. suppressed ``<5``, takes the plural)."""
    if isinstance(n, str):
        return f"{n} {flertal}"
    return f"{tal(n or 0)} {ental if n == 1 else flertal}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def ti_i(value: float) -> str:
    """A power of ten as ``10⁻⁵`` (with a factor where it is not one: ``2 × 10⁻⁵``)."""
    if value <= 0:
        return tal(value, 6)
    power = math.floor(round(math.log10(value), 9))
    factor = value / 10 ** power
    head = "" if abs(factor - 1) < 1e-9 else tal(factor, 2) + " × "
    return head + "10" + str(power).translate(_SUPERSCRIPT)


# --- the delivery's files --------------------------------------------------------------------

FILE_DA = {"departments.csv": "afdelinger", "patients.csv": "patienter", "diagnoses.csv": "diagnoser",
           "labs.csv": "laboratorieprøver", "anthropometrics.csv": "højde og vægt", "cytogenetics.csv": "cytogenetik",
           "treatment_courses.csv": "behandlingsforløb", "drugs.csv": "lægemidler", "procedures.csv": "procedurer",
           "responses.csv": "responsvurderinger"}
ENCODING_DA = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 med BOM", "cp1252": "Windows-1252",
               "utf-8 + cp1252": "UTF-8 og Windows-1252 blandet"}


def fil(name: str) -> str:
    """A delivery file as the pages name it: ``laboratorieprøver`` for ``labs.csv``."""
    return FILE_DA.get(name, name)


def tegnsaet(encoding: str) -> str:
    return ENCODING_DA.get(encoding, encoding)


# --- drugs and regimens ---------------------------------------------------------------------

DRUG_DA = {"thalidomide": "thalidomid", "lenalidomide": "lenalidomid", "pomalidomide": "pomalidomid",
           "dexamethasone": "dexamethason", "prednisolone": "prednisolon", "cyclophosphamide": "cyclophosphamid",
           "no drugs recorded": "ingen lægemidler registreret"}
REGIMEN_DA = {"quintuplet_cd38": "femstofs-regime med CD38-antistof", "quadruplet_cd38": "firstofs-regime med CD38-antistof",
              "triplet_pi_imid": "trestofs-regime (proteasomhæmmer + IMiD + dexamethason)", "vcd": "VCd",
              "other": "andet regime"}
_DRUG_WORD = re.compile(r"[a-z][a-z ]*[a-z]")


def drugs_da(text: str) -> str:
    """A list of substances as the SQL writes them (English INN) in Danish spelling."""
    if text in DRUG_DA:
        return DRUG_DA[text]
    return _DRUG_WORD.sub(lambda m: DRUG_DA.get(m.group(0), m.group(0)), text)


_DOSE_MISSING_DA = {"(unit missing)": "(enhed mangler)", "(days missing)": "(dage mangler)"}


def _days(text: str) -> str:
    """A course's dose text (``int_course_doses.dose_text_en``) as Danish pages write it:
    ``1000 mg/m² × 2 d + 1.5 g/m² × 1 d`` → ``1.000 mg/m² × 2 dage + 1,5 g/m² × 1 dag``."""
    text = re.sub(r"\d+(?:\.\d+)?", lambda m: tal(float(m.group()), len(m.group().partition(".")[2])), text)
    text = re.sub(r"× 1 d\b", "× 1 dag", text)
    text = re.sub(r"× (\d+) d\b", r"× \1 dage", text)
    for english, danish in _DOSE_MISSING_DA.items():
        text = text.replace(english, danish)
    return text


# --- drill-down values ----------------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    """How a drill-down key is shown: label, unit, kind (``number``, ``cut``, ``whole``,
    ``date``, ``flag``, ``text``, ``regimen``, ``drugs``, ``risk``, ``sex``, ``power``,
    ``days``, ``dose``, ``reason``), digits, and the key of the date it was measured on.
    Measurements a rule compares with a limit keep two decimals (trailing zeros dropped), so
    the value shown gives the decision: 147,08 mg/m² is outside 140 ± 5 %, "147" would not be.
    ``cut``: cut, not rounded, to its digits, for a value judged by ``< limit`` (CrCl 29,996
    ml/min is below 30; shown "30" it would not be). A dose judged against target ± tolerance
    comes already rounded by its indicator's SQL to the decimals that keep it on its side
    (``judged_digits``: 189,996 mg/m² is below 190), and is shown with all of them
    (``JUDGED_DIGITS``)."""

    label: str
    unit: str = ""
    kind: str = "text"
    digits: int = 0
    dated_by: str | None = None


JUDGED_DIGITS = 6  # the most judged_digits (sql/macros/indicator_macros.sql) gives

VALUES: dict[str, Value] = {
    # MM01, MM05
    "age_at_diagnosis": Value("Alder ved diagnosen", "år", "whole"),
    "ecog_ps": Value("ECOG PS", kind="whole"),
    "comorbidity": Value("Komorbiditet"),
    "hdt_evaluated": Value("Vurderet med henblik på HDT", kind="flag"),
    "hdt_evaluation_date": Value("Dato for vurdering", kind="date"),
    "days_to_extract": Value("Dage fra indeksdato til udtræk", kind="whole"),
    "hdt_candidate": Value("HDT-kandidat", kind="flag"),
    "hdt_not_candidate_reason": Value("Grund til ingen HDT", kind="reason"),
    "first_asct_date": Value("Første HDT (ASCT)", kind="date"),
    "days_after_index": Value("Dage efter indeksdato", kind="whole"),
    "death_date": Value("Dødsdato", kind="date"),
    "risk": Value("Risiko", kind="risk"),
    "mrd_negative_date": Value("MRD-negativ", kind="date"),
    "mrd_sensitivity": Value("MRD-sensitivitet", kind="power"),
    "induction_cycles_before_mrd": Value("Induktionsserier før MRD", kind="whole"),
    # MM02, MM08, MM12, MM13
    "induction_courses": Value("Induktionsforløb"),
    "induction_cutoff_date": Value("Skæringsdato for induktion", kind="date"),
    "category": Value("Regimekategori", kind="regimen"),
    "regimen": Value("Regime"),
    "cycles": Value("Serier", kind="whole"),
    "cycle_length_days_min": Value("Korteste serie", "dage", "whole"),
    "cycle_length_days_max": Value("Længste serie", "dage", "whole"),
    "carfilzomib_based": Value("Carfilzomib-baseret", kind="flag"),
    "first_induction_date": Value("Induktionsstart", kind="date"),
    "induction_category": Value("Induktionens regimekategori", kind="regimen"),
    "induction_regimen": Value("Induktionens regime"),
    "max_cycles": Value("Højst serier", kind="whole"),
    # MM03, MM04
    "priming_course": Value("Mobiliseringsforløb"),
    "priming_start_date": Value("Mobilisering startet", kind="date"),
    "days_before_harvest": Value("Dage før leukaferese", kind="whole"),
    "cyclophosphamide_mg_m2_given": Value("Cyclophosphamid givet", "mg/m²", "number", JUDGED_DIGITS),
    "cyclophosphamide_mg_m2_expected": Value("Cyclophosphamid forventet", "mg/m²", "number"),
    "dose_given": Value("Dosis givet", kind="dose"),
    "bsa_m2": Value("Legemsoverfladeareal (BSA)", "m²", "number", 2, "bsa_measure_date"),
    "bsa_measure_date": Value("BSA målt", kind="date"),
    "height_cm": Value("Højde", "cm", "number"),
    "weight_kg": Value("Vægt", "kg", "number", 2, "weight_date"),
    "weight_date": Value("Vægt målt", kind="date"),
    "conditioning_course": Value("Konditioneringsforløb"),
    "crcl_ml_min": Value("Kreatininclearance (CrCl)", "ml/min", "cut", 2),
    "creatinine_umol_l": Value("Kreatinin", "µmol/L", "number", 1, "creatinine_sample_date"),
    "creatinine_sample_date": Value("Kreatinin målt", kind="date"),
    "age_at_sample": Value("Alder ved prøven", "år", "whole"),
    "sex": Value("Køn", kind="sex"),
    "melphalan_mg_m2_given": Value("Melphalan givet", "mg/m²", "number", JUDGED_DIGITS),
    "melphalan_mg_m2_expected": Value("Melphalan forventet", "mg/m²", "number"),
    # MM06, MM07, MM09
    "tandem": Value("Tandemtransplantation", kind="flag"),
    "maintenance_course": Value("Vedligeholdelsesforløb"),
    "maintenance_start_date": Value("Vedligeholdelse startet", kind="date"),
    "maintenance_drugs": Value("Lægemidler i vedligeholdelsen", kind="drugs"),
    "consolidation_start_date": Value("Konsolidering startet", kind="date"),
    "consolidation_end_date": Value("Konsolidering afsluttet", kind="date"),
    "window_start_date": Value("Vindue fra", kind="date"),
    "window_end_date": Value("Vindue til", kind="date"),
    "pd_date": Value("Progression (PD)", kind="date"),
    "lenalidomide_dose": Value("Lenalidomid-dosis", kind="dose"),
    "days": Value("Doseringsdage", kind="days"),
    "cycle_length_days": Value("Serielængde", "dage", "whole"),
    "dose_expected_mg": Value("Forventet dosis", "mg", "whole"),
    "days_expected": Value("Forventede doseringsdage", kind="days"),
    "cycle_length_days_expected": Value("Forventet serielængde", "dage", "whole"),
    "last_asct_date": Value("Sidste HDT (ASCT)", kind="date"),
    "days_after_asct": Value("Dage efter HDT", kind="whole"),
    # MM10, MM11, MM14, MM15
    "days_between_transplants": Value("Dage mellem transplantationerne", kind="whole"),
    "response": Value("Respons efter første HDT"),
    "response_date": Value("Respons vurderet", kind="date"),
    "referral_date": Value("Henvist til rehabilitering", kind="date"),
    "days_to_death": Value("Dage fra HDT til død", kind="whole"),
    "del17p_tested": Value("del(17p) undersøgt", kind="flag"),
    "t4_14_tested": Value("t(4;14) undersøgt", kind="flag"),
    "gain1q_or_amp1q_tested": Value("gain(1q)/amp(1q) undersøgt", kind="flag"),
}
HIDDEN = {"risk"}  # shown in the list's own risk column (with what fired)
DATE_KEYS = {spec.dated_by for spec in VALUES.values() if spec.dated_by}
REASONS_DA = {"mrd_strategi": "MRD-strategi"}
SEX_DA = {"K": "kvinde", "M": "mand"}


def label_of(key: str) -> str:
    """The Danish label of a key (an unknown key with its underscores as spaces)."""
    spec = VALUES.get(key)
    return spec.label if spec else key.replace("_", " ")


def header_of(key: str) -> str:
    """A spreadsheet column header: the label with its unit (``Kreatinin, µmol/L``)."""
    spec = VALUES.get(key)
    if spec is None:
        return label_of(key)
    return f"{spec.label}, {spec.unit}" if spec.unit else spec.label


def shown(key: str, value: object) -> str:
    """One value as text, without its label ('' for nothing)."""
    if value is None or value == "":
        return ""
    spec = VALUES.get(key) or Value(key)
    kind = spec.kind
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if kind == "date":
        return dato(value) if isinstance(value, str) else str(value)
    if kind == "regimen":
        return REGIMEN_DA.get(str(value), str(value))
    if kind == "drugs":
        return drugs_da(str(value))
    if kind == "risk":
        return RISK_DA.get(str(value), str(value))
    if kind == "sex":
        return SEX_DA.get(str(value), str(value))
    if kind == "reason":
        return REASONS_DA.get(str(value), str(value).replace("_", " "))
    if kind == "dose":
        return _days(str(value))
    if kind == "days":
        return "dag " + str(value)
    if kind == "power" and isinstance(value, (int, float)):
        return ti_i(float(value))
    if isinstance(value, (int, float)):
        digits = 0 if kind == "whole" else spec.digits
        if kind == "cut":
            value = cut(value, digits)
        text = tal(value, digits) if (kind != "text" or isinstance(value, float)) else str(value)
        if kind == "text" and isinstance(value, float):
            text = tal(value, 4)
        return f"{text} {spec.unit}" if spec.unit else text
    if isinstance(value, (list, tuple)):
        return ", ".join(shown(key, v) for v in value if v is not None)
    if isinstance(value, dict):
        return "; ".join(f"{label_of(k)}: {shown(k, v)}" for k, v in value.items() if v is not None)
    return str(value)


def parse_values(values_json: str | None) -> dict[str, object]:
    """The drill-down JSON object of a patient result; {} when empty or not an object."""
    if not values_json:
        return {}
    try:
        parsed = json.loads(values_json)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def value_items(values: dict[str, object], memo: dict | None = None) -> list[tuple[str, str]]:
    """(label, text) of every known value, a measurement with its date in brackets
    (``Kreatinin``, ``91 µmol/L (10-02-2025)``); missing values are left out (the reason
    text says what is missing). ``memo`` (any dict, kept by the caller) keeps each item made,
    by all it is made of: many patients share a value (an ECOG, a date, a regimen)."""
    items = []
    for key, value in values.items():
        if value is None or value == "" or key in HIDDEN:
            continue
        if key in DATE_KEYS and values.get(_measured_by(key)) is not None:
            continue  # shown with its measurement
        spec = VALUES.get(key)
        dated = values.get(spec.dated_by) if spec is not None and spec.dated_by else None
        if memo is None or isinstance(value, (list, dict)) or isinstance(dated, (list, dict)):
            items.append(_item(key, value, dated))
            continue
        made = (key, type(value), value, type(dated), dated)  # the types too: 1, 1.0 and True are equal keys
        item = memo.get(made)
        if item is None:
            item = memo[made] = _item(key, value, dated)
        items.append(item)
    return items


def _item(key: str, value: object, dated: object) -> tuple[str, str]:
    text = shown(key, value)
    if dated:
        text += f" ({dato(dated)})"
    return label_of(key), text


_MEASURED = {spec.dated_by: key for key, spec in VALUES.items() if spec.dated_by}


def _measured_by(date_key: str) -> str:
    return _MEASURED.get(date_key, "")


def values_text(values_json: str | None) -> str:
    """The CSV's text of the values: ``Kreatinin: 91 µmol/L (10-02-2025); Kreatininclearance (CrCl): 24,5 ml/min``."""
    return "; ".join(f"{label}: {text}" for label, text in value_items(parse_values(values_json)))


def risk_da(risk: str | None, text: str | None = None) -> str:
    """The patient's risk as ``int_risk.risk_text_da`` writes it (``højrisiko (del(17p) 34 %)``),
    else by its code."""
    if text:
        return text
    return RISK_DA.get(risk or "", risk or "")
