"""int_risk: the high-risk rules, every rule that fired, standard vs unknown, the cut-off, and
the texts naming what fired (indicators.md v2 §1 "High-risk myeloma", "Statuses")."""

from __future__ import annotations

import pytest

from staging_rows import Deck, pseudonym_of


def risk_texts(con, names):
    found = dict(con.execute("select pseudonym, risk_text_da from int_risk").fetchall())
    return {name: found.get(pseudonym_of(name)) for name in names}


def risks(con, names):
    found = {p: (r, rules) for p, r, rules in con.execute("select pseudonym, risk, risk_rules from int_risk").fetchall()}
    return {name: found.get(pseudonym_of(name)) for name in names}


def fish_panel(deck, name, when="2024-01-12", **positive):
    """del17p, t4_14 and gain1q tested; keyword aberration=(result, fraction) overrides or adds."""
    results = {"del17p": ("neg", None), "t4_14": ("neg", None), "gain1q": ("neg", None), **positive}
    for aberration, (result, fraction) in results.items():
        deck.cyto(name, when, aberration, result, fraction)


def test_cytogenetic_rules(tmp_path):
    deck = Deck()
    for name in ("standard", "amp1q_tested", "missing_t4_14", "nothing", "del17p_large", "del17p_small",
                 "del17p_no_fraction_plus_t4_14", "del17p_large_plus_t4_14", "tp53", "del1p_biallelic",
                 "gain_and_amp_one_hrca", "t14_16_and_del1p", "three_rules"):
        deck.patient(name)
        deck.course(name, "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    fish_panel(deck, "standard")
    deck.cyto("amp1q_tested", "2024-01-12", "del17p", "neg")
    deck.cyto("amp1q_tested", "2024-01-12", "t4_14", "neg")
    deck.cyto("amp1q_tested", "2024-01-12", "amp1q", "neg")
    deck.cyto("missing_t4_14", "2024-01-12", "del17p", "neg")
    deck.cyto("missing_t4_14", "2024-01-12", "gain1q", "neg")
    fish_panel(deck, "del17p_large", del17p=("pos", 20))          # ≥ 20 % inclusive
    fish_panel(deck, "del17p_small", del17p=("pos", 19.9))        # one HRCA below 20 %: not high
    fish_panel(deck, "del17p_no_fraction_plus_t4_14", del17p=("pos", None), t4_14=("pos", 50))
    fish_panel(deck, "del17p_large_plus_t4_14", del17p=("pos", 35), t4_14=("pos", 50))
    fish_panel(deck, "tp53", tp53_mut=("pos", None))
    fish_panel(deck, "del1p_biallelic", del1p_biallelic=("pos", None))
    fish_panel(deck, "gain_and_amp_one_hrca", gain1q=("pos", 30), amp1q=("pos", 30))
    fish_panel(deck, "t14_16_and_del1p", t14_16=("pos", 40), del1p=("pos", 40))
    fish_panel(deck, "three_rules", del17p=("pos", 60), t14_20=("pos", 60))
    deck.lab("three_rules", "2024-01-12", "cirk_plasmaceller", 2.5, "%")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    expected = {
        "standard": ("standard", ""),
        "amp1q_tested": ("standard", ""),
        "missing_t4_14": ("unknown", ""),
        "nothing": ("unknown", ""),
        "del17p_large": ("high", "1"),
        "del17p_small": ("standard", ""),
        "del17p_no_fraction_plus_t4_14": ("high", "3"),
        "del17p_large_plus_t4_14": ("high", "1;3"),
        "tp53": ("high", "1"),
        "del1p_biallelic": ("high", "2"),
        "gain_and_amp_one_hrca": ("standard", ""),
        "t14_16_and_del1p": ("high", "3"),
        "three_rules": ("high", "1;3;5"),
    }
    assert risks(con, expected) == expected
    texts = risk_texts(con, expected)
    assert texts["standard"] == "standardrisiko"
    assert texts["del17p_large"] == "højrisiko (del(17p) 20 %)"
    assert texts["tp53"] == "højrisiko (TP53-mutation)"
    assert texts["del1p_biallelic"] == "højrisiko (bialleisk del(1p))"
    assert texts["del17p_large_plus_t4_14"] == "højrisiko (del(17p) 35 %; del(17p) + t(4;14))"
    assert texts["gain_and_amp_one_hrca"] == "standardrisiko"
    assert texts["missing_t4_14"] == "risiko uoplyst (ikke undersøgt: t(4;14))"
    assert "amp(1q)" not in texts["amp1q_tested"]
    assert all("rule" not in t and "regel" not in t for t in texts.values())   # never by number


def test_risk_text_names_hrcas_as_the_spec_does(tmp_path):
    """§1 Statuses: "Texts name risk rules by what fired ("del(17p) 34 %", "t(4;14) + gain(1q)")"."""
    deck = Deck()
    deck.patient("t4_14_and_gain1q")
    deck.course("t4_14_and_gain1q", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    fish_panel(deck, "t4_14_and_gain1q", t4_14=("pos", 50), gain1q=("pos", 40))
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    assert risk_texts(con, ["t4_14_and_gain1q"]) == {"t4_14_and_gain1q": "højrisiko (t(4;14) + gain(1q))"}


def test_positive_hrcas_are_listed_once_each_in_the_specs_order(tmp_path):
    """Rule 3 counts distinct HRCAs (gain/amp(1q) as one), and the text names them in the order
    del(17p), t(4;14), t(14;16), t(14;20), 1q, del(1p), however and how often they were delivered."""
    deck = Deck()
    for name in ("five_hrcas", "none_positive"):
        deck.patient(name)
        deck.course(name, "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
    deck.cyto("five_hrcas", "2024-01-05", "del1p", "pos", 30)
    deck.cyto("five_hrcas", "2024-01-05", "t14_20", "pos", 30)
    deck.cyto("five_hrcas", "2024-01-05", "t4_14", "pos", 30)
    deck.cyto("five_hrcas", "2024-01-12", "t4_14", "pos", 40)      # the same HRCA again, another sample
    deck.cyto("five_hrcas", "2024-01-12", "amp1q", "pos", 30)
    deck.cyto("five_hrcas", "2024-01-12", "gain1q", "pos", 30)     # with amp(1q): one HRCA
    deck.cyto("five_hrcas", "2024-01-12", "t14_16", "neg")
    deck.cyto("five_hrcas", "2024-01-12", "del17p", "pos", 10)     # a small clone still counts under rule 3
    fish_panel(deck, "none_positive")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    found = {p: (h, r, t) for p, h, r, t in con.execute(
        "select pseudonym, positive_hrcas, risk_rules, risk_text_da from int_risk").fetchall()}
    assert found[pseudonym_of("five_hrcas")] == (
        ["del17p", "t4_14", "t14_20", "1q", "del1p"], "3",
        "højrisiko (del(17p) + t(4;14) + t(14;20) + amp(1q) + del(1p))")
    assert found[pseudonym_of("none_positive")] == ([], "", "standardrisiko")


def test_b2m_with_normal_renal_function_circulating_cells_and_extramedullary(tmp_path):
    deck = Deck()
    names = ("b2m_normal_creatinine", "b2m_high_creatinine", "b2m_below", "b2m_creatinine_8_days_away",
             "b2m_tie_takes_earlier", "b2m_nearest_wins", "b2m_without_creatinine", "cpc_above", "cpc_at_2",
             "ekstraossos", "paraossos")
    for name in names:
        extramedullary = {"ekstraossos": "ekstraossøs", "paraossos": "paraossøs"}.get(name, "nej")
        deck.patient(name, extramedullary=extramedullary)
        deck.course(name, "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=21)
        fish_panel(deck, name)
    deck.lab("b2m_normal_creatinine", "2024-01-15", "b2m", 5.5, "mg/L")           # ≥ 5,5 inclusive
    deck.lab("b2m_normal_creatinine", "2024-01-15", "kreatinin", 1.19, "mg/dL")
    deck.lab("b2m_high_creatinine", "2024-01-15", "b2m", 8.0, "mg/L")
    deck.lab("b2m_high_creatinine", "2024-01-15", "kreatinin", 106.08, "µmol/L")   # exactly 1,2 mg/dL: not < 1,2
    deck.lab("b2m_below", "2024-01-15", "b2m", 5.4, "mg/L")
    deck.lab("b2m_below", "2024-01-15", "kreatinin", 70, "µmol/L")
    deck.lab("b2m_creatinine_8_days_away", "2024-01-20", "b2m", 7.0, "mg/L")
    deck.lab("b2m_creatinine_8_days_away", "2024-01-12", "kreatinin", 70, "µmol/L")
    deck.lab("b2m_tie_takes_earlier", "2024-01-20", "b2m", 7.0, "mg/L")
    deck.lab("b2m_tie_takes_earlier", "2024-01-17", "kreatinin", 150, "µmol/L")   # earlier: 1,70 mg/dL
    deck.lab("b2m_tie_takes_earlier", "2024-01-23", "kreatinin", 70, "µmol/L")
    deck.lab("b2m_nearest_wins", "2024-01-20", "b2m", 7.0, "mg/L")
    deck.lab("b2m_nearest_wins", "2024-01-15", "kreatinin", 150, "µmol/L")
    deck.lab("b2m_nearest_wins", "2024-01-22", "kreatinin", 70, "µmol/L")
    deck.lab("b2m_without_creatinine", "2024-01-20", "b2m", 9.0, "mg/L")
    deck.lab("cpc_above", "2024-01-20", "cirk_plasmaceller", 2.01, "%")
    deck.lab("cpc_at_2", "2024-01-20", "cirk_plasmaceller", 2.0, "%")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    expected = {
        "b2m_normal_creatinine": ("high", "4"),
        "b2m_high_creatinine": ("standard", ""),
        "b2m_below": ("standard", ""),
        "b2m_creatinine_8_days_away": ("standard", ""),
        "b2m_tie_takes_earlier": ("standard", ""),
        "b2m_nearest_wins": ("high", "4"),
        "b2m_without_creatinine": ("standard", ""),
        "cpc_above": ("high", "5"),
        "cpc_at_2": ("standard", ""),
        "ekstraossos": ("high", "6"),
        "paraossos": ("standard", ""),
    }
    assert risks(con, expected) == expected
    texts = risk_texts(con, expected)
    # creatinine shown in µmol/L (1,19 mg/dL = 105 µmol/L), decimal comma
    assert texts["b2m_normal_creatinine"] == (
        "højrisiko (β2-mikroglobulin 5,5 mg/L med normal nyrefunktion (kreatinin 105 µmol/L))")
    assert texts["ekstraossos"] == "højrisiko (ekstramedullær sygdom (ekstraossøs))"
    assert texts["cpc_above"].startswith("højrisiko (cirkulerende plasmaceller ")


def test_results_count_up_to_the_first_induction_start_or_60_days(tmp_path):
    deck = Deck()
    deck.patient("on_induction_day")
    deck.course("on_induction_day", "induktion", "2024-02-01", "VRd")
    fish_panel(deck, "on_induction_day", when="2024-02-01", t4_14=("pos", 50), gain1q=("pos", 50))
    deck.patient("after_induction")
    deck.course("after_induction", "induktion", "2024-02-01", "VRd")
    fish_panel(deck, "after_induction", when="2024-02-02", t4_14=("pos", 50), gain1q=("pos", 50))
    deck.lab("after_induction", "2024-02-02", "cirk_plasmaceller", 10, "%")
    deck.patient("no_induction_day_60", dx="2024-01-10")
    fish_panel(deck, "no_induction_day_60", when="2024-03-10", t4_14=("pos", 50), gain1q=("pos", 50))
    deck.patient("no_induction_day_61", dx="2024-01-10")
    fish_panel(deck, "no_induction_day_61", when="2024-03-11", t4_14=("pos", 50), gain1q=("pos", 50))
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    expected = {
        "on_induction_day": ("high", "3"),
        "after_induction": ("unknown", ""),     # nothing sampled in time: not even tested
        "no_induction_day_60": ("high", "3"),
        "no_induction_day_61": ("unknown", ""),
    }
    assert risks(con, expected) == expected
    cutoff = con.execute("select risk_cutoff_date::varchar from int_risk where pseudonym = ?",
                         [pseudonym_of("no_induction_day_60")]).fetchone()[0]
    assert cutoff == "2024-03-10"
