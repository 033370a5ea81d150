"""int_drug_exposures, int_course_regimens, int_body_surface_area, int_course_doses."""

from __future__ import annotations

import pytest

from staging_rows import REGIMENS, Deck


def by_course(con, table, columns):
    return {r[0]: r[1:] for r in con.execute(f"select course_id, {columns} from {table}").fetchall()}


def test_old_atc_codes_are_mapped_and_classed(tmp_path):
    deck = Deck()
    deck.patient("a")
    deck.course("a", "induktion", "2024-02-01", [
        ("L01XX32", 1.3, "mg/m2", "1,4,8,11"), ("L01XX45", 56, "mg/m2", "1"), ("L01XX50", 4, "mg", "1"),
        ("L01XC24", 1800, "mg", "1"), ("L01XC38", 10, "mg/kg", "1"), ("L03AA02", 5, "mg", "1-5"),
    ], course_id="K1")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    rows = sorted(con.execute("select atc_delivered, atc, substance, drug_class from int_drug_exposures").fetchall())
    assert rows == [
        ("L01XC24", "L01FC01", "daratumumab", "cd38_antibody"),
        ("L01XC38", "L01FC02", "isatuximab", "cd38_antibody"),
        ("L01XX32", "L01XG01", "bortezomib", "proteasome_inhibitor"),
        ("L01XX45", "L01XG02", "carfilzomib", "proteasome_inhibitor"),
        ("L01XX50", "L01XG03", "ixazomib", "proteasome_inhibitor"),
        ("L03AA02", "L03AA02", None, None),          # not in the class table: anything else
    ]


def test_regimen_category_from_the_drugs_first_matching_row(tmp_path):
    deck = Deck()
    deck.patient("a")
    cases = {
        "D-VCRd": ("quintuplet_cd38", False),
        "D-VRd": ("quadruplet_cd38", False),
        "D-KRd": ("quadruplet_cd38", True),
        "KRd": ("triplet_pi_imid", True),
        "VRd": ("triplet_pi_imid", False),
        "VCd": ("vcd", False),
        "Dara-Rd": ("other", False),
        "R": ("other", False),
    }
    for regimen in cases:
        deck.course("a", "induktion", "2024-02-01", regimen, course_id=regimen)
    # prednisolone is a steroid but not dexamethasone; thalidomide is an IMiD
    deck.course("a", "induktion", "2024-02-01", [("bortezomib", 1.3, "mg/m2", "1"), ("thalidomide", 100, "mg", "1-28"),
                                                 ("prednisolone", 50, "mg", "1-4")], course_id="VTp")
    deck.course("a", "induktion", "2024-02-01", [("bortezomib", 1.3, "mg/m2", "1"), ("thalidomide", 100, "mg", "1-28"),
                                                 ("dexamethasone", 40, "mg", "1-4")], course_id="VTd")
    # a CD38 antibody with VCd, no IMiD: not a quadruplet, but bortezomib + cyclophosphamide + dex
    deck.course("a", "induktion", "2024-02-01", [("daratumumab", 1800, "mg", "1"), *REGIMENS["VCd"]], course_id="D-VCd")
    # the free-text regimen is ignored
    deck.course("a", "induktion", "2024-02-01", [("lenalidomide", 25, "mg", "1-21")], course_id="says-VRd")
    deck.course("a", "induktion", "2024-02-01", None, course_id="no-drugs")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = by_course(con, "int_course_regimens", "regimen_category, carfilzomib_based")
    for regimen, expected in cases.items():
        assert got[regimen] == expected, regimen
    assert got["VTp"] == ("other", False)
    assert got["VTd"] == ("triplet_pi_imid", False)
    assert got["D-VCd"] == ("vcd", False)
    assert got["says-VRd"] == ("other", False)
    assert got["no-drugs"] == ("other", False)


def test_body_surface_area_from_the_latest_complete_measurement_within_30_days(tmp_path):
    deck = Deck()
    deck.patient("a")
    deck.body("a", "2024-01-01", 170, 75)      # 31 days before K-late: too old for it
    deck.body("a", "2024-01-20", 180, None)    # no weight: skipped
    deck.body("a", "2024-01-25", None, 80)     # no height: skipped
    deck.course("a", "mobilisering", "2024-01-31", "Cy2", course_id="K-on-day-30")
    deck.course("a", "mobilisering", "2024-02-01", "Cy2", course_id="K-late")
    deck.body("a", "2024-03-01", 180, 80)      # on the start day counts
    deck.body("a", "2024-02-20", 170, 90)
    deck.course("a", "mobilisering", "2024-03-01", "Cy2", course_id="K-same-day")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = by_course(con, "int_body_surface_area", "bsa_measure_date::varchar, bsa_m2")
    assert got["K-on-day-30"] == ("2024-01-01", pytest.approx(1.8819, abs=1e-4))
    assert got["K-late"] == (None, None)
    assert got["K-same-day"] == ("2024-03-01", pytest.approx(2.0))


def test_course_dose_per_m2_in_every_unit(tmp_path):
    deck = Deck()
    deck.patient("a")
    deck.body("a", "2024-01-25", 180, 80)       # BSA = sqrt(180 × 80 / 3600) = 2,0 m²
    deck.course("a", "mobilisering", "2024-02-01", [("cyclophosphamide", 2, "g/m2", "1")], course_id="g_m2")
    deck.course("a", "mobilisering", "2024-02-01", [("cyclophosphamide", 1000, "mg/m2", "1-2")], course_id="mg_m2")
    deck.course("a", "mobilisering", "2024-02-01", [("cyclophosphamide", 4000, "mg", "1")], course_id="mg")
    deck.course("a", "mobilisering", "2024-02-01", [("cyclophosphamide", 25, "mg/kg", "1-2")], course_id="mg_kg")
    deck.course("a", "konditionering", "2024-02-01",
                [("melphalan", 100, "mg/m2", "1"), ("melphalan", 200, "mg", "2")], course_id="two_rows")
    deck.course("a", "mobilisering", "2024-02-01", [("cyclophosphamide", 2, "g/m2", None)], course_id="no_days")
    deck.course("a", "mobilisering", "2024-06-01", [("cyclophosphamide", 4000, "mg", "1")], course_id="no_bsa")
    deck.course("a", "mobilisering", "2024-06-01", [("cyclophosphamide", 2, "g/m2", "1")], course_id="no_bsa_needed")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = by_course(con, "int_course_doses", "dose_mg_m2, dose_unknown_reason")
    assert got["g_m2"] == (pytest.approx(2000), None)
    assert got["mg_m2"] == (pytest.approx(2000), None)
    assert got["mg"] == (pytest.approx(2000), None)
    assert got["mg_kg"] == (pytest.approx(2000), None)          # 25 × 80 ÷ 2,0 × 2 days
    assert got["two_rows"] == (pytest.approx(200), None)        # 100 + 200 mg ÷ 2,0 m²
    assert got["no_days"] == (None, "DOSE_UNKNOWN")
    assert got["no_bsa"] == (None, "BSA_UNKNOWN")
    assert got["no_bsa_needed"] == (pytest.approx(2000), None)
