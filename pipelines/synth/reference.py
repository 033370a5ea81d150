"""Reference data for the synthetic delivery: departments, drugs, regimen templates.

Everything here is invented but clinically plausible. Department codes are SOR/SHAK-*like*
7-digit strings (not the real codes); names are real Danish hospital names so that the
files carry æ, ø and å as real deliveries do.
"""

from __future__ import annotations

from dataclasses import dataclass

# (department_code, department_name, hospital, region, relative patient volume)
DEPARTMENTS: tuple[tuple[str, str, str, str, float], ...] = (
    ("1301290", "Afdeling for Blodsygdomme, Rigshospitalet", "Rigshospitalet", "Hovedstaden", 9.0),
    ("1330120", "Hæmatologisk Afdeling, Herlev og Gentofte Hospital", "Herlev og Gentofte Hospital", "Hovedstaden", 8.0),
    ("1336060", "Hæmatologisk Sektion, Amager og Hvidovre Hospital", "Amager og Hvidovre Hospital", "Hovedstaden", 4.0),
    ("1516200", "Hæmatologisk Afsnit, Nordsjællands Hospital, Hillerød", "Nordsjællands Hospital", "Hovedstaden", 4.0),
    ("0400150", "Medicinsk Afdeling, Bornholms Hospital", "Bornholms Hospital", "Hovedstaden", 0.8),
    ("0380420", "Hæmatologisk Afdeling, Sjællands Universitetshospital, Roskilde", "Sjællands Universitetshospital, Roskilde", "Sjælland", 7.0),
    ("0384110", "Medicinsk Afdeling, Næstved Sygehus", "Næstved Sygehus", "Sjælland", 2.5),
    ("0386230", "Medicinsk Afdeling, Nykøbing Falster Sygehus", "Nykøbing Falster Sygehus", "Sjælland", 2.0),
    ("0381140", "Hæmatologisk Ambulatorium, Holbæk Sygehus", "Holbæk Sygehus", "Sjælland", 2.0),
    ("4202010", "Hæmatologisk Afdeling X, Odense Universitetshospital", "Odense Universitetshospital", "Syddanmark", 8.0),
    ("4202450", "Medicinsk Afdeling, OUH Svendborg Sygehus", "Odense Universitetshospital, Svendborg", "Syddanmark", 2.0),
    ("4211210", "Hæmatologisk Afsnit, Sygehus Lillebælt, Vejle", "Sygehus Lillebælt, Vejle", "Syddanmark", 5.0),
    ("4214330", "Hæmatologisk Sektion, Sydvestjysk Sygehus, Esbjerg", "Sydvestjysk Sygehus", "Syddanmark", 3.5),
    ("4215180", "Hæmatologisk Ambulatorium, Sygehus Sønderjylland, Åbenrå", "Sygehus Sønderjylland", "Syddanmark", 3.0),
    ("7005170", "Hæmatologisk Afdeling, Aarhus Universitetshospital", "Aarhus Universitetshospital", "Midtjylland", 9.0),
    ("7007340", "Hæmatologisk Afdeling, Regionshospitalet Gødstrup", "Regionshospitalet Gødstrup", "Midtjylland", 4.0),
    ("7003260", "Medicinsk Afdeling, Regionshospitalet Viborg", "Regionshospitalet Viborg", "Midtjylland", 2.5),
    ("7001190", "Medicinsk Afdeling, Regionshospitalet Randers", "Regionshospitalet Randers", "Midtjylland", 2.5),
    ("7006150", "Medicinsk Afdeling, Regionshospitalet Horsens", "Regionshospitalet Horsens", "Midtjylland", 2.0),
    ("8001230", "Klinik Kræft, Hæmatologisk Afdeling, Aalborg Universitetshospital", "Aalborg Universitetshospital", "Nordjylland", 7.0),
    ("8003110", "Medicinsk Afdeling, Regionshospital Nordjylland, Hjørring", "Regionshospital Nordjylland", "Nordjylland", 2.5),
)

# ATC codes in force today -> the code used before the 2021-2022 ATC changes.
OLD_ATC: dict[str, str] = {
    "L01XG01": "L01XX32",  # bortezomib
    "L01XG02": "L01XX45",  # carfilzomib
    "L01XG03": "L01XX50",  # ixazomib
    "L01FC01": "L01XC24",  # daratumumab
    "L01FC02": "L01XC38",  # isatuximab
}

# ATC -> (generic Danish name, brand name sometimes typed instead)
DRUG_NAMES: dict[str, tuple[str, str]] = {
    "L01XG01": ("bortezomib", "Velcade"),
    "L01XG02": ("carfilzomib", "Kyprolis"),
    "L01XG03": ("ixazomib", "Ninlaro"),
    "L04AX02": ("thalidomid", "Thalidomide BMS"),
    "L04AX04": ("lenalidomid", "Revlimid"),
    "L04AX06": ("pomalidomid", "Imnovid"),
    "L01FC01": ("daratumumab", "Darzalex"),
    "L01FC02": ("isatuximab", "Sarclisa"),
    "H02AB02": ("dexamethason", "Dexamethason"),
    "H02AB06": ("prednisolon", "Prednisolon"),
    "L01AA01": ("cyclophosphamid", "Sendoxan"),
    "L01AA03": ("melfalan", "Alkeran"),
    "L01DB01": ("doxorubicin", "Doxorubicin"),
    "L03AA02": ("filgrastim", "Zarzio"),
    "L03AX16": ("plerixafor", "Mozobil"),
}

BTZ, CFZ, IXA = "L01XG01", "L01XG02", "L01XG03"
THAL, LEN, POM = "L04AX02", "L04AX04", "L04AX06"
DARA, ISA = "L01FC01", "L01FC02"
DEX, PRED = "H02AB02", "H02AB06"
CYC, MEL, DOXO = "L01AA01", "L01AA03", "L01DB01"
GCSF, PLX = "L03AA02", "L03AX16"


@dataclass(frozen=True)
class Regimen:
    labels: tuple[str, ...]                 # free text typed by clinicians
    cycle_length: int
    drugs: tuple[tuple[str, float, str, str], ...]   # (atc, dose, unit, days)
    category: str                           # the spec's category (for statistics only)

    @property
    def last_day(self) -> int:
        last = 1
        for *_, days in self.drugs:
            for part in days.split(","):
                last = max(last, int(part.split("-")[-1]))
        return last


_DEX_21 = (DEX, 20.0, "mg", "1,2,4,5,8,9,11,12")
_DEX_W = (DEX, 40.0, "mg", "1,8,15,22")

REGIMENS: dict[str, Regimen] = {
    # induction, transplant candidates
    "VCd21": Regimen(("VCd", "CyBorD", "VCD"), 21, ((BTZ, 1.3, "mg/m2", "1,4,8,11"), (CYC, 500.0, "mg", "1,8,15"), _DEX_21), "vcd"),
    "VCd28": Regimen(("VCd", "CyBorD"), 28, ((BTZ, 1.5, "mg/m2", "1,8,15,22"), (CYC, 300.0, "mg/m2", "1,8,15,22"), _DEX_W), "vcd"),
    "VCd42": Regimen(("VCd", "VCd 6 uger"), 42, ((BTZ, 1.3, "mg/m2", "1,8,15,22,29,36"), (CYC, 300.0, "mg/m2", "1,8,15,22,29,36"), (DEX, 40.0, "mg", "1,8,15,22,29,36")), "vcd"),
    "VTd21": Regimen(("VTd", "VTD"), 21, ((BTZ, 1.3, "mg/m2", "1,4,8,11"), (THAL, 100.0, "mg", "1-21"), _DEX_21), "triplet_pi_imid"),
    "VTd28": Regimen(("VTd",), 28, ((BTZ, 1.3, "mg/m2", "1,8,15,22"), (THAL, 100.0, "mg", "1-28"), _DEX_W), "triplet_pi_imid"),
    "VRd21": Regimen(("VRd", "RVd", "VRD"), 21, ((BTZ, 1.3, "mg/m2", "1,4,8,11"), (LEN, 25.0, "mg", "1-14"), _DEX_21), "triplet_pi_imid"),
    "VRd28": Regimen(("VRd", "VRd-lite"), 28, ((BTZ, 1.3, "mg/m2", "1,8,15,22"), (LEN, 25.0, "mg", "1-21"), _DEX_W), "triplet_pi_imid"),
    "KRd28": Regimen(("KRd",), 28, ((CFZ, 56.0, "mg/m2", "1,8,15"), (LEN, 25.0, "mg", "1-21"), _DEX_W), "triplet_pi_imid"),
    "DVRd28": Regimen(("D-VRd", "Dara-VRd", "DVRd"), 28, ((DARA, 1800.0, "mg", "1,8,15,22"), (BTZ, 1.3, "mg/m2", "1,4,8,11"), (LEN, 25.0, "mg", "1-21"), (DEX, 40.0, "mg", "1,2,3,4,9,10,11,12")), "quadruplet_cd38"),
    "DVTd28": Regimen(("D-VTd", "Dara-VTd"), 28, ((DARA, 1800.0, "mg", "1,8,15,22"), (BTZ, 1.3, "mg/m2", "1,4,8,11"), (THAL, 100.0, "mg", "1-28"), (DEX, 20.0, "mg", "1,2,8,9,15,16,22,23")), "quadruplet_cd38"),
    "IsaVRd28": Regimen(("Isa-VRd", "Isa-RVd"), 28, ((ISA, 10.0, "mg/kg", "1,8,15,22"), (BTZ, 1.3, "mg/m2", "1,4,8,11"), (LEN, 25.0, "mg", "1-14"), (DEX, 20.0, "mg", "1,2,4,5,8,9,11,12,15,22")), "quadruplet_cd38"),
    "IsaKRd28": Regimen(("Isa-KRd",), 28, ((ISA, 10.0, "mg/kg", "1,8,15,22"), (CFZ, 56.0, "mg/m2", "1,8,15"), (LEN, 25.0, "mg", "1-21"), (DEX, 20.0, "mg", "1,2,8,9,15,16,22,23")), "quadruplet_cd38"),
    "DKRd28": Regimen(("D-KRd", "Dara-KRd"), 28, ((DARA, 1800.0, "mg", "1,8,15,22"), (CFZ, 56.0, "mg/m2", "1,8,15"), (LEN, 25.0, "mg", "1-21"), _DEX_W), "quadruplet_cd38"),
    "DVCRd28": Regimen(("D-VCRd",), 28, ((DARA, 1800.0, "mg", "1,8,15,22"), (BTZ, 1.3, "mg/m2", "1,8,15,22"), (CYC, 300.0, "mg/m2", "1,8,15,22"), (LEN, 25.0, "mg", "1-21"), _DEX_W), "quintuplet_cd38"),
    # regimens the indicator spec calls `other` for candidates
    "Vd21": Regimen(("Vd", "VD"), 21, ((BTZ, 1.3, "mg/m2", "1,4,8,11"), _DEX_21), "other"),
    "PAd21": Regimen(("PAd",), 21, ((BTZ, 1.3, "mg/m2", "1,4,8,11"), (DOXO, 9.0, "mg/m2", "1-4"), (DEX, 40.0, "mg", "1,2,3,4,8,9,10,11")), "other"),
    "KCd28": Regimen(("KCd",), 28, ((CFZ, 56.0, "mg/m2", "1,8,15"), (CYC, 300.0, "mg/m2", "1,8,15"), _DEX_W), "other"),
    "Rd28": Regimen(("Rd", "Len-dex"), 28, ((LEN, 25.0, "mg", "1-21"), _DEX_W), "other"),
    # first line for patients who are not transplant candidates
    "VMP42": Regimen(("VMP",), 42, ((BTZ, 1.3, "mg/m2", "1,8,22,29"), (MEL, 9.0, "mg/m2", "1-4"), (PRED, 60.0, "mg/m2", "1-4")), "other"),
    "DRd28": Regimen(("DRd", "Dara-Rd"), 28, ((DARA, 1800.0, "mg", "1,8,15,22"), (LEN, 25.0, "mg", "1-21"), (DEX, 20.0, "mg", "1,8,15,22")), "other"),
    # later lines / salvage (phase `andet`)
    "DKd28": Regimen(("DKd", "Dara-Kd"), 28, ((DARA, 1800.0, "mg", "1,8,15,22"), (CFZ, 56.0, "mg/m2", "1,8,15"), _DEX_W), "other"),
    "DPd28": Regimen(("DPd", "Dara-Pd"), 28, ((DARA, 1800.0, "mg", "1,8,15,22"), (POM, 4.0, "mg", "1-21"), _DEX_W), "other"),
    "Kd28": Regimen(("Kd",), 28, ((CFZ, 56.0, "mg/m2", "1,8,15"), (DEX, 20.0, "mg", "1,2,8,9,15,16")), "other"),
    # maintenance alternatives (lenalidomide maintenance is built per course)
    "MaintV": Regimen(("Velcade vedl.", "V"), 28, ((BTZ, 1.3, "mg/m2", "1,15"),), "other"),
    "MaintIxa": Regimen(("Ixa", "Ixazomib"), 28, ((IXA, 4.0, "mg", "1,8,15"),), "other"),
    "MaintThal": Regimen(("Thal",), 28, ((THAL, 100.0, "mg", "1-28"),), "other"),
    "MaintDara": Regimen(("Dara", "Daratumumab"), 28, ((DARA, 1800.0, "mg", "1"),), "cd38"),
}

REGIMEN_KEYS: tuple[str, ...] = tuple(REGIMENS)
QUAD_KEYS = frozenset(k for k, r in REGIMENS.items() if r.category in ("quadruplet_cd38", "quintuplet_cd38"))
CARFILZOMIB_KEYS = frozenset(k for k, r in REGIMENS.items() if any(d[0] == CFZ for d in r.drugs))

# Induction regimen mix on the transplant pathway, by era of the induction start and risk.
# era 0: < 2019, 1: 2019-2020, 2: 2021-2024, 3: 2025 - 2026-04-06, 4: from 2026-04-07 (guideline v2.0).
# CD38 quadruplets are not recommended by Medicinrådet (guideline note ●●): before v2.0 they are
# given in trials only (a few per cent), from v2.0 to a minority: about a tenth of standard risk (a
# fifth more on the Rec 8 MRD-guided pathway, pathway.RATES["mm05_mrd_guided"]) and half of high
# risk (Rec 9: carfilzomib quadruplets, D-VCRd) — about 28 % of all inductions from v2.0.
INDUCTION_MIX: dict[tuple[int, bool], tuple[tuple[str, float], ...]] = {
    (0, False): (("VCd21", .30), ("VCd28", .21), ("VCd42", .05), ("VTd21", .20), ("VTd28", .12), ("VRd21", .07), ("Vd21", .025), ("PAd21", .01), ("Rd28", .015)),
    (1, False): (("VCd21", .17), ("VCd28", .12), ("VCd42", .03), ("VTd21", .12), ("VTd28", .07), ("VRd21", .36), ("VRd28", .08), ("Vd21", .025), ("PAd21", .01), ("Rd28", .015)),
    (2, False): (("VRd21", .66), ("VRd28", .13), ("VCd21", .07), ("VCd28", .04), ("VTd21", .03), ("KRd28", .01), ("Vd21", .02), ("Rd28", .01), ("KCd28", .01), ("DVRd28", .01)),
    (3, False): (("VRd21", .64), ("VRd28", .13), ("VCd21", .06), ("VCd28", .03), ("VTd21", .02), ("KRd28", .01), ("Vd21", .02), ("Rd28", .01), ("KCd28", .01), ("DVRd28", .03), ("IsaVRd28", .01)),
    (4, False): (("VRd21", .63), ("VRd28", .14), ("VCd21", .05), ("VCd28", .02), ("KRd28", .01), ("Vd21", .02), ("Rd28", .01), ("KCd28", .01), ("DVRd28", .07), ("DVTd28", .005), ("IsaVRd28", .01), ("IsaKRd28", .005)),
}
INDUCTION_MIX[(0, True)] = INDUCTION_MIX[(0, False)]
INDUCTION_MIX[(1, True)] = (("VRd21", .55), ("VTd21", .15), ("VCd21", .20), ("Vd21", .05), ("PAd21", .05))
INDUCTION_MIX[(2, True)] = (("VRd21", .62), ("KRd28", .27), ("VCd21", .04), ("KCd28", .03), ("Vd21", .03), ("DKRd28", .01))
INDUCTION_MIX[(3, True)] = (("VRd21", .50), ("KRd28", .33), ("VCd21", .04), ("KCd28", .03), ("Vd21", .03), ("DKRd28", .05), ("IsaKRd28", .02))
INDUCTION_MIX[(4, True)] = (("KRd28", .38), ("VRd21", .02), ("VCd21", .02), ("KCd28", .02), ("DKRd28", .27), ("IsaKRd28", .12), ("DVCRd28", .12), ("DVRd28", .05))

# Standard-risk candidates on the Rec 8 pathway (MRD after four cycles of a CD38 quadruplet).
MRD_GUIDED_MIX: tuple[tuple[str, float], ...] = (("DVRd28", .8), ("IsaVRd28", .2))

# First line for patients not on the transplant pathway, by era of treatment start.
NONTX_MIX: dict[int, tuple[tuple[str, float], ...]] = {
    0: (("VMP42", .30), ("VCd28", .25), ("Rd28", .30), ("VRd28", .10), ("Vd21", .05)),
    1: (("Rd28", .30), ("VRd28", .25), ("VCd28", .10), ("DRd28", .25), ("VMP42", .10)),
    2: (("DRd28", .62), ("VRd28", .20), ("Rd28", .10), ("VCd28", .05), ("Vd21", .03)),
    3: (("DRd28", .62), ("VRd28", .20), ("Rd28", .10), ("VCd28", .05), ("Vd21", .03)),
}

SALVAGE_MIX: tuple[tuple[str, float], ...] = (("KRd28", .4), ("DKd28", .35), ("DPd28", .25))
LATER_LINE_MIX: tuple[tuple[str, float], ...] = (("DKd28", .35), ("DPd28", .35), ("Kd28", .30))

# Value sets (strings as they appear in the files).
ICD10 = ("DC900", "DC901", "DC903", "DD472")
COMORBIDITY = ("ingen", "let", "betydelig")
EXTRAMEDULLARY = ("nej", "paraossøs", "ekstraossøs")
NOT_CANDIDATE_REASONS = ("alder", "komorbiditet", "performance", "patientens_valg", "mrd_strategi", "andet")
RESPONSES = ("sCR", "CR", "VGPR", "PR", "SD", "PD")
TIMEPOINTS = ("efter_induktion", "efter_asct", "efter_konsolidering", "andet")
PHASES = ("induktion", "mobilisering", "konditionering", "konsolidering", "vedligehold", "andet")
ABERRATIONS = ("del17p", "t4_14", "t14_16", "t14_20", "gain1q", "amp1q", "del1p", "del1p_biallelic", "tp53_mut")
ANALYSES = ("kreatinin", "b2m", "ldh", "albumin", "cirk_plasmaceller")
