"""int_transplants (first/last asct, tandem), int_induction (cut-off, pooling),
int_maintenance_after_asct (the first maintenance course after the last asct)."""

from __future__ import annotations

from staging_rows import Deck, pseudonym_of


def table(con, name, columns):
    return {r[0]: r[1:] for r in con.execute(f"select pseudonym, {columns} from {name}").fetchall()}


def test_tandem_within_180_days_and_later_transplants_ignored(tmp_path):
    deck = Deck()
    for name, dates in {
        "single": ["2025-01-10"],
        "tandem_180": ["2025-01-10", "2025-07-09"],        # 180 days: tandem
        "second_at_181": ["2025-01-10", "2025-07-10"],     # 181 days: not a tandem
        "three": ["2025-01-10", "2025-04-01", "2025-06-01"],
    }.items():
        deck.patient(name)
        deck.procedure(name, "2024-12-01", "leukaferese")
        for when in dates:
            deck.procedure(name, when, "asct")
    deck.patient("harvest_only")
    deck.procedure("harvest_only", "2024-12-01", "leukaferese")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = table(con, "int_transplants",
                "first_leukaferese_date::varchar, first_asct_date::varchar, is_tandem, last_asct_date::varchar")
    p = pseudonym_of
    assert got[p("single")] == ("2024-12-01", "2025-01-10", False, "2025-01-10")
    assert got[p("tandem_180")] == ("2024-12-01", "2025-01-10", True, "2025-07-09")
    assert got[p("second_at_181")] == ("2024-12-01", "2025-01-10", False, "2025-01-10")
    assert got[p("three")] == ("2024-12-01", "2025-01-10", True, "2025-04-01")
    assert got[p("harvest_only")] == ("2024-12-01", None, False, None)


def test_induction_cutoff_and_pooling(tmp_path):
    deck = Deck()
    deck.patient("pooled")
    deck.course("pooled", "induktion", "2024-02-01", "VCd", cycles=2, cycle_length=21)
    deck.course("pooled", "induktion", "2024-03-15", "R", cycles=2, cycle_length=28)
    deck.course("pooled", "induktion", "2024-06-01", "D-VRd", cycles=2, cycle_length=28)   # on the harvest day: after
    deck.procedure("pooled", "2024-06-01", "leukaferese")
    deck.procedure("pooled", "2024-08-01", "asct")
    deck.patient("asct_cutoff")
    deck.course("asct_cutoff", "induktion", "2024-02-01", "VRd", cycles=4, cycle_length=None)
    deck.procedure("asct_cutoff", "2024-07-01", "asct")
    deck.patient("mrd_cutoff")
    deck.course("mrd_cutoff", "induktion", "2024-02-01", "D-VRd", cycles=4, cycle_length=28)
    deck.response("mrd_cutoff", "2024-06-01", "efter_induktion", "CR", mrd="neg")
    deck.course("mrd_cutoff", "induktion", "2024-06-15", "VCd", cycles=4, cycle_length=28)
    deck.patient("no_events")
    deck.course("no_events", "induktion", "2024-02-01", "VRd", cycles=None, cycle_length=21)
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = table(con, "int_induction",
                "cutoff_event, n_courses, cycles_total, min_cycle_length_days, max_cycle_length_days, "
                "cycle_length_missing, regimen_category, substances")
    p = pseudonym_of
    # VCd + lenalidomide pooled: PI + IMiD + dexamethasone (cyclophosphamide too, but no CD38)
    assert got[p("pooled")] == ("leukaferese", 2, 4, 21, 28, False, "triplet_pi_imid",
                                ["bortezomib", "cyclophosphamide", "dexamethasone", "lenalidomide"])
    assert got[p("asct_cutoff")][:3] == ("asct", 1, 4)
    assert got[p("asct_cutoff")][5] is True
    assert got[p("mrd_cutoff")][:3] == ("mrd_negative_response", 1, 4)
    assert got[p("mrd_cutoff")][6] == "quadruplet_cd38"
    assert got[p("no_events")][:3] == ("none", 1, None)


def test_first_maintenance_after_the_last_asct(tmp_path):
    deck = Deck()
    deck.patient("tandem")
    deck.procedure("tandem", "2025-01-10", "asct")
    deck.course("tandem", "vedligehold", "2025-03-01", "R")       # between the transplants: not after the last
    deck.procedure("tandem", "2025-04-10", "asct")
    deck.course("tandem", "vedligehold", "2025-07-09", "DR", course_id="first")
    deck.course("tandem", "vedligehold", "2025-09-01", "R", course_id="second")
    deck.patient("none")
    deck.procedure("none", "2025-01-10", "asct")
    con = deck.build(tmp_path / "t.duckdb", indicators=())
    got = table(con, "int_maintenance_after_asct", "course_id, days_after_asct, has_lenalidomide, has_cd38")
    assert got == {pseudonym_of("tandem"): ("first", 90, True, True)}
