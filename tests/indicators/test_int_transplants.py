"""int_transplants (first/last asct, tandem), int_maintenance_after_asct (the first maintenance
course after the last asct). The treatment phases: test_int_phases.py."""

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
