"""int_creatinine_clearance: inputs within 30 days before a conditioning (MM04) or maintenance (MM07)
course start, age on the sample date."""

from __future__ import annotations

import pytest

from staging_rows import Deck


def clearance(con):
    return {r[0]: r[1:] for r in con.execute(
        "select course_id, creatinine_sample_date::varchar, weight_date::varchar, age_at_sample, crcl_ml_min "
        "from int_creatinine_clearance").fetchall()}


def test_latest_inputs_within_30_days_and_age_on_the_sample_day(tmp_path):
    deck = Deck()
    deck.patient("man", sex="M", birth="1965-03-05")
    deck.course("man", "konditionering", "2025-03-10", "Mel200", course_id="man")
    deck.lab("man", "2025-02-01", "kreatinin", 300, "µmol/L")       # older than the latest
    deck.lab("man", "2025-03-04", "kreatinin", 1.2, "mg/dL")        # the day before the 60th birthday
    deck.body("man", "2025-02-08", None, 90)                        # 30 days before: counts
    deck.patient("woman", sex="K", birth="2000-01-01")
    deck.course("woman", "konditionering", "2025-06-01", "Mel200", course_id="woman")
    deck.lab("woman", "2025-06-01", "kreatinin", 88.4, "µmol/L")    # on the start day counts
    deck.body("woman", "2025-05-20", 165, 60)
    deck.lab("woman", "2025-06-02", "kreatinin", 500, "µmol/L")     # after the start: ignored
    deck.patient("stale", sex="M")
    deck.course("stale", "konditionering", "2025-03-10", "Mel200", course_id="stale")
    deck.lab("stale", "2025-02-07", "kreatinin", 80, "µmol/L")      # 31 days before
    deck.body("stale", "2025-03-01", 180, 80)
    deck.patient("no_weight", sex="M")
    deck.course("no_weight", "konditionering", "2025-03-10", "Mel200", course_id="no_weight")
    deck.lab("no_weight", "2025-03-09", "kreatinin", 80, "µmol/L")
    deck.patient("maintenance", sex="M", birth="1965-01-01")
    deck.course("maintenance", "vedligehold", "2025-05-01", "R", course_id="maintenance")
    deck.lab("maintenance", "2025-04-28", "kreatinin", 176.8, "µmol/L")
    deck.body("maintenance", "2025-04-25", None, 90)
    deck.course("maintenance", "induktion", "2025-01-01", "VRd", course_id="induction")    # not judged by CrCl
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = clearance(con)
    # age 59 on 4 March 2025 (born 5 March 1965); (140 − 59) × 90 / (72 × 1,2)
    assert got["man"] == ("2025-03-04", "2025-02-08", 59, pytest.approx(81 * 90 / (72 * 1.2)))
    # 25 years, 60 kg, 1,0 mg/dL, woman: 81,46 ml/min
    assert got["woman"] == ("2025-06-01", "2025-05-20", 25, pytest.approx(81.4583, abs=1e-4))
    assert got["stale"] == (None, "2025-03-01", None, None)
    assert got["no_weight"] == ("2025-03-09", None, 59, None)
    # (140 − 60) × 90 / (72 × 2,0) = 50,0 ml/min
    assert got["maintenance"] == ("2025-04-28", "2025-04-25", 60, pytest.approx(50.0))
    assert "induction" not in got
