"""MM02 Induction regimen and cycles before harvest."""

from __future__ import annotations

from staging_rows import Deck, outcomes, row


def transplanted(deck, name, harvest="2024-06-01", asct="2024-08-01"):
    deck.patient(name)
    if harvest:
        deck.procedure(name, harvest, "leukaferese")
    deck.procedure(name, asct, "asct")


def test_mm02_rules(tmp_path):
    deck = Deck()
    transplanted(deck, "vrd_4x21")
    deck.course("vrd_4x21", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    transplanted(deck, "old_atc_vrd")
    deck.course("old_atc_vrd", "induktion", "2024-02-01",
                [("L01XX32", 1.3, "mg/m2", "1,4,8,11"), ("lenalidomide", 25, "mg", "1-14"),
                 ("dexamethasone", 20, "mg", "1,2")], cycles=4, cycle_length=21)
    transplanted(deck, "vcd_4")
    deck.course("vcd_4", "induktion", "2024-02-01", "VCd", cycles=4, cycle_length=21)
    transplanted(deck, "quintuplet_4")
    deck.course("quintuplet_4", "induktion", "2024-02-01", "D-VCRd", cycles=4, cycle_length=28)
    transplanted(deck, "quadruplet_3x42")
    deck.course("quadruplet_3x42", "induktion", "2024-02-01", "D-VRd", cycles=3, cycle_length=42)
    transplanted(deck, "triplet_3x28")
    deck.course("triplet_3x28", "induktion", "2024-02-01", "VRd", cycles=3, cycle_length=28)
    transplanted(deck, "mixed_3_not_all_long")
    deck.course("mixed_3_not_all_long", "induktion", "2024-02-01", "VRd", cycles=2, cycle_length=42)
    deck.course("mixed_3_not_all_long", "induktion", "2024-04-01", "VRd", cycles=1, cycle_length=21)
    transplanted(deck, "pooled_2_plus_2")
    deck.course("pooled_2_plus_2", "induktion", "2024-02-01", "VRd", cycles=2, cycle_length=21)
    deck.course("pooled_2_plus_2", "induktion", "2024-03-15", "VRd", cycles=2, cycle_length=21)
    transplanted(deck, "six_cycles")
    deck.course("six_cycles", "induktion", "2024-02-01", "VRd", cycles=6, cycle_length=21)
    transplanted(deck, "dara_rd")
    deck.course("dara_rd", "induktion", "2024-02-01", "Dara-Rd", cycles=4, cycle_length=28)
    transplanted(deck, "other_cycles_missing")
    deck.course("other_cycles_missing", "induktion", "2024-02-01", "Dara-Rd", cycles=None, cycle_length=28)
    transplanted(deck, "cycles_missing")
    deck.course("cycles_missing", "induktion", "2024-02-01", "VRd", cycles=None, cycle_length=21)
    transplanted(deck, "three_length_missing")
    deck.course("three_length_missing", "induktion", "2024-02-01", "D-VRd", cycles=3, cycle_length=None)
    transplanted(deck, "induction_after_harvest")
    deck.course("induction_after_harvest", "induktion", "2024-06-02", "VRd", cycles=4, cycle_length=21)
    transplanted(deck, "no_courses")
    transplanted(deck, "no_harvest", harvest=None)
    deck.course("no_harvest", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    deck.patient("no_asct")
    deck.course("no_asct", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    con = deck.build(tmp_path / "t.duckdb", indicators=("MM02",))
    expected = {
        "vrd_4x21": ("met", "MET"),
        "old_atc_vrd": ("met", "MET"),
        "vcd_4": ("met", "MET"),
        "quintuplet_4": ("met", "MET"),
        "quadruplet_3x42": ("met", "MET"),
        "triplet_3x28": ("not_met", "INDUCTION_CYCLES"),
        "mixed_3_not_all_long": ("not_met", "INDUCTION_CYCLES"),
        "pooled_2_plus_2": ("met", "MET"),
        "six_cycles": ("not_met", "INDUCTION_CYCLES"),
        "dara_rd": ("not_met", "REGIMEN_NOT_RECOMMENDED"),
        "other_cycles_missing": ("not_met", "REGIMEN_NOT_RECOMMENDED"),
        "cycles_missing": ("unknown", "CYCLES_UNKNOWN"),
        "three_length_missing": ("unknown", "CYCLES_UNKNOWN"),
        "induction_after_harvest": ("not_met", "NO_INDUCTION"),
        "no_courses": ("not_met", "NO_INDUCTION"),
        "no_harvest": ("met", "MET"),
        "no_asct": None,
    }
    assert outcomes(con, "MM02", expected) == expected
    six = row(con, "MM02", "six_cycles")
    assert "6 cycles of 21 days" in six["reason_text"] and six["reason_text"].startswith("Rec 2, 6 (A): ")
    assert str(six["index_date"]) == "2024-08-01"
    assert "before asct 2024-08-01" in row(con, "MM02", "no_harvest")["reason_text"]
