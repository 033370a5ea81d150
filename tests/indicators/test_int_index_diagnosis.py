"""int_index_diagnosis: the earliest DC900/DC901 row; age in completed years."""

from __future__ import annotations

from staging_rows import Deck, pseudonym_of


def test_earliest_myeloma_diagnosis_is_the_index(tmp_path):
    deck = Deck()
    deck.patient("two_rows", dx="2024-05-01", dept="D2", ecog_ps=0)
    deck.diagnosis("two_rows", "2023-11-01", icd10="DC901", dept="D1", ecog_ps=3)
    deck.diagnosis("two_rows", "2022-01-01", icd10="DC902", dept="D2", ecog_ps=1)   # other code: not index
    deck.patient("only_other_code", dx="2024-01-01", icd10="DC902")
    deck.patient("no_diagnosis", dx=None)
    deck.patient("leap", birth="1956-02-29", dx="2026-02-28")
    deck.patient("birthday", birth="1956-05-10", dx="2026-05-10")
    deck.course("two_rows", "induktion", "2023-12-01", "VRd", cycles=4, cycle_length=21)
    deck.course("two_rows", "induktion", "2023-11-20", "VCd", cycles=1, cycle_length=21)   # bridging: the earliest
    deck.course("two_rows", "konsolidering", "2023-10-01", "VRd")                         # not induktion
    con = deck.build(tmp_path / "t.duckdb")
    rows = {r[0]: r[1:] for r in con.execute(
        "select pseudonym, diagnosis_date::varchar, icd10, department_code, region, ecog_ps, age_at_diagnosis "
        "from int_index_diagnosis").fetchall()}
    assert set(rows) == {pseudonym_of(n) for n in ("two_rows", "leap", "birthday")}
    assert rows[pseudonym_of("two_rows")] == ("2023-11-01", "DC901", "D1", "Syddanmark", 3, 58)
    assert rows[pseudonym_of("leap")][-1] == 69       # 29 Feb birthday: still 69 on 28 Feb 2026
    assert rows[pseudonym_of("birthday")][-1] == 70   # exactly 70 on the birthday
    first = dict(con.execute("select pseudonym, first_induction_date::varchar from int_first_induction").fetchall())
    assert first[pseudonym_of("two_rows")] == "2023-11-20"
    assert pseudonym_of("leap") not in first           # no induktion course: no row
    # out-of-scope patients get no indicator rows at all
    in_results = {r[0] for r in con.execute("select distinct pseudonym from rpt_patient_results").fetchall()}
    assert pseudonym_of("only_other_code") not in in_results
    assert pseudonym_of("no_diagnosis") not in in_results
