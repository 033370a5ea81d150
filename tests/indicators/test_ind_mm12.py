"""MM12 CD38-antibody induction uptake (indicators.md v2 §2 MM12): informational, v2.0 by the
decision date = the first induction start; the induction's category is its predominant course's."""

from __future__ import annotations

from pipelines.indicators.catalogue import BY_ID, CATALOGUE
from staging_rows import Deck, assert_clinician_texts, outcomes, row
from test_ind_mm08 import ISA_KRD_OLD_ATC, transplanted


def test_mm12_cd38_induction_uptake(tmp_path):
    deck = Deck()
    transplanted(deck, "d_vrd", (("D-VRd", 4),), risk="standard")
    transplanted(deck, "d_vcrd", (("D-VCRd", 4),), risk=None)
    transplanted(deck, "isa_krd_old_atc", ((ISA_KRD_OLD_ATC, 4),), risk="high")
    transplanted(deck, "vrd", (("VRd", 4),), risk="standard")
    transplanted(deck, "vcd", (("VCd", 4),), risk="standard")
    transplanted(deck, "dara_rd", (("Dara-Rd", 4),), risk="standard")          # CD38 without PI: other
    transplanted(deck, "no_induction", (), risk="standard")
    transplanted(deck, "bridging_vcd_then_d_vrd", (("VCd", 1), ("D-VRd", 3)), risk="standard")
    transplanted(deck, "vcd_then_one_d_vrd", (("VCd", 3), ("D-VRd", 1)), risk="standard")
    transplanted(deck, "d_vrd_after_harvest_only", (("D-VRd", 4),), induction="2026-08-25", risk="standard")
    # the guideline version by the first induction start
    transplanted(deck, "induction_2026_03_asct_2026_06", (("D-VRd", 4),), dx="2026-02-15", induction="2026-03-01",
                 harvest="2026-05-20", asct="2026-06-15", risk="standard")
    transplanted(deck, "induction_on_v2_0_day", (("D-VRd", 4),), induction="2026-04-07", risk="standard")
    transplanted(deck, "induction_day_before_v2_0", (("D-VRd", 4),), dx="2026-03-20", induction="2026-04-06",
                 risk="standard")
    transplanted(deck, "bridging_before_v2_0", (("VCd", 1), ("D-VRd", 3)), dx="2026-03-20", induction="2026-03-25",
                 risk="standard")
    transplanted(deck, "no_induction_asct_before_v2_0", (), dx="2025-12-01", harvest="2026-02-10", asct="2026-03-01",
                 risk="standard")
    transplanted(deck, "no_asct", (("D-VRd", 4),), asct=None, risk="standard")
    con = deck.build(tmp_path / "t.duckdb", "2026-12-31")  # every indicator and the summary
    expected = {
        "d_vrd": ("met", "MET"),
        "d_vcrd": ("met", "MET"),
        "isa_krd_old_atc": ("met", "MET"),
        "vrd": ("not_met", "NO_CD38_INDUCTION"),
        "vcd": ("not_met", "NO_CD38_INDUCTION"),
        "dara_rd": ("not_met", "NO_CD38_INDUCTION"),
        "no_induction": ("not_met", "NO_CD38_INDUCTION"),
        "bridging_vcd_then_d_vrd": ("met", "MET"),
        "vcd_then_one_d_vrd": ("not_met", "NO_CD38_INDUCTION"),
        "d_vrd_after_harvest_only": ("not_met", "NO_CD38_INDUCTION"),
        "induction_2026_03_asct_2026_06": ("excluded", "GUIDELINE_VERSION"),
        "induction_on_v2_0_day": ("met", "MET"),
        "induction_day_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "bridging_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "no_induction_asct_before_v2_0": ("excluded", "GUIDELINE_VERSION"),
        "no_asct": None,
    }
    assert outcomes(con, "MM12", expected) == expected
    vrd = row(con, "MM12", "vrd")
    assert vrd["reason_text"].startswith("Anbefaling 6 (A): ")
    assert "VRd (bortezomib, dexamethason, lenalidomid) – trestofs-regime" in vrd["reason_text"]                # say the regimen
    assert "VRd (bortezomib, dexamethasone, lenalidomide) – PI + IMiD + dex triplet" in vrd["reason_text_en"]
    assert row(con, "MM12", "induction_2026_03_asct_2026_06")["guideline_version"] == "v1.5"
    assert row(con, "MM12", "induction_on_v2_0_day")["guideline_version"] == "v2.0"
    no_induction = row(con, "MM12", "no_induction_asct_before_v2_0")
    assert ": første HDT (ingen induktion registreret) 01-03-2026 ligger før retningslinje v2.0" \
        in no_induction["reason_text"]
    assert "induktionsstart" in row(con, "MM12", "induction_day_before_v2_0")["reason_text"]
    assert_clinician_texts(con, "MM12")

    # informational: no standard in the catalogue nor in the summary (standard_met NULL)
    assert [i.indicator_id for i in CATALOGUE if i.standard is None] == ["MM08", "MM09", "MM12"]
    assert BY_ID["MM12"].informational and BY_ID["MM12"].valid_from_version == "v2.0"
    standards = dict(con.execute(
        "select indicator_id, list(distinct [standard::varchar, standard_met::varchar]) from rpt_indicator_summary "
        "where indicator_id in ('MM02', 'MM08', 'MM12') group by all").fetchall())
    assert standards["MM12"] == [[None, None]]
    assert standards["MM08"] == [[None, None]]
    assert all(s == "0.9" for s, _ in standards["MM02"])
    judged = con.execute("select sum(denominator) from rpt_indicator_summary "
                         "where indicator_id = 'MM12' and level = 'national'").fetchone()[0]
    assert judged == 11                                                          # uptake is still counted
