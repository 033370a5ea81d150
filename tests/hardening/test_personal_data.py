"""Personal data (issue 8): no clear CPR number and never the key in any output, log, message,
DuckDB table or Dagster event; pseudonyms stable per key and different between keys; outputs
readable by the owner only.

The whole-run checks read the shared hostile run (``conftest.hostile_run``): the real command
in a subprocess with a persistent Dagster instance in a temporary DAGSTER_HOME.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import stat
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from pipelines.ingest.raw_reader import read_raw
from pipelines.lib.errors import DeliveryRefused
from pipelines.lib.extract_format import FILES_BY_NAME
from pipelines.lib.pseudonym import Pseudonymiser, pseudonym, scrub
from tests.delivery_builder import CLEAR_CPRS, stage, write_delivery
from tests.hardening.hardening_deck import (FREE_TEXT_CPRS, STRUCTURAL_NEEDLES, cpr_needles, leaks, read_any,
                                            run_haystacks)


@pytest.fixture(scope="module")
def haystacks(hostile_run):
    assert hostile_run.returncode == 0, hostile_run.stderr[-3000:]
    return run_haystacks(hostile_run)


def test_hostile_run_succeeds_and_quarantines_what_it_must(hostile_run):
    assert hostile_run.returncode == 0, hostile_run.stderr[-3000:]
    assert "Traceback" not in hostile_run.stderr


def test_no_clear_cpr_anywhere_after_a_whole_run(haystacks):
    """Every CPR of the deck in its cpr column (plain, hyphenated, invalid, shifted into another
    field of a malformed row) is pseudonymised before anything is stored or printed."""
    assert len(haystacks) > 60
    assert leaks(haystacks, STRUCTURAL_NEEDLES) == []


def test_no_clear_cpr_from_free_text_fields_after_a_whole_run(haystacks):
    """Finding: CPR numbers typed into free-text fields (regimen, drug_name, region, a code
    quoted by a quarantine reason) stay clear in raw_*/stg_* tables of audit.duckdb and in
    quarantine.csv's reason_text. See test_cpr_in_any_field_is_pseudonymised_at_ingest."""
    found = leaks(haystacks, cpr_needles(FREE_TEXT_CPRS))
    assert found == []


def test_key_is_never_printed_or_stored(haystacks, hostile_run):
    key = hostile_run.key
    assert [where for where, text in haystacks.items() if key in text] == []
    assert key.encode() not in (hostile_run.out / "audit.duckdb").read_bytes()


def test_each_department_folder_holds_only_its_own_patients(hostile_run):
    """Department folders are handed to departments: no other department's pseudonyms."""
    import csv
    import re

    rows = list(csv.DictReader(io.StringIO((hostile_run.out / "patient_results.csv").read_text(encoding="utf-8"))))
    owner = {r["pseudonym"]: r["department_code"] for r in rows}
    checked = 0
    for folder in sorted((hostile_run.out / "departments").iterdir()):
        found = set()
        for path in folder.rglob("*"):
            if path.is_file():
                found |= set(re.findall(r"P[0-9a-f]{16}", read_any(path)))
        assert len({owner.get(p, "not in patient_results") for p in found}) <= 1, folder.name
        checked += bool(found)
    assert checked >= 10


def test_publication_outputs_hold_no_pseudonyms(hostile_run):
    import re

    for name in ("national_report_publication.html", "indicator_summary_publication.csv"):
        assert re.findall(r"P[0-9a-f]{16}", read_any(hostile_run.out / name)) == [], name


def test_outputs_are_readable_by_the_owner_only(hostile_run):
    """The command sets umask 077: every file and folder it creates has no group/other bits."""
    work = hostile_run.out.parent / ".out.myeloma-audit"
    created = [hostile_run.out, *hostile_run.out.rglob("*"), work, *work.rglob("*")]
    loose = [(str(p.relative_to(hostile_run.root)), oct(stat.S_IMODE(p.lstat().st_mode)))
             for p in created if stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert loose == []
    assert len(created) > 50


# --- cheap checks on the ingest alone -------------------------------------------------------------

def test_cpr_in_any_field_is_pseudonymised_at_ingest(tmp_path):
    """Finding (raw_reader.read_raw): only ``_record`` is scrubbed of CPR-shaped tokens; the
    field columns keep them, so a CPR typed into a free-text field reaches raw_*/stg_* tables
    (published in audit.duckdb) and, through ``shown()``, quarantine reason texts."""
    folder = write_delivery(tmp_path / "d", {
        "departments": ["4202011;Afd 1505702223;Hosp;region 0807580128"],     # region invalid: quarantined
        "labs": ["1203614417;05-09-2024;120361-4417;1;U/L"],                  # analysis invalid: quarantined
        "treatment_courses": ["1203614417;K9001;andet;Reg 210685-1119;16-09-2024;;1;21"],
        "drugs": ["K1001;L01AA01;drug 1505702223;1;mg;1"],
    }, manifest=False)
    con = stage(folder, tmp_path / "db.duckdb")
    hay = {}
    for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
        hay[table] = "\n".join(map(str, con.execute(f"select * from {table}").fetchall()))
    assert leaks(hay, cpr_needles(CLEAR_CPRS + FREE_TEXT_CPRS)) == []


def test_staging_never_joins_digits_into_a_cpr(tmp_path):
    """Finding (review, stg_diagnoses.sql): the ICD-10 code lost every dot, so '0901711.500',
    no CPR as delivered and so not scrubbed at reading, became the clear CPR 0901711500 in
    stg_diagnoses and int_index_diagnosis. Only the dot of an ICD-10 code is dropped now."""
    folder = write_delivery(tmp_path / "d", {"diagnoses": [
        "1203614417;01-01-2023;0901711.500;4202010;1;ingen;2;nej;J;;J;",
        "1203614417;02-01-2023;C1001701.200;4202010;1;ingen;2;nej;J;;J;",
        "0807580128;03-01-2023;c90.1;4202010;1;ingen;2;nej;J;;J;"]}, manifest=False)
    con = stage(folder, tmp_path / "db.duckdb")
    hay = {t: "\n".join(map(str, con.execute(f"select * from {t}").fetchall()))
           for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert leaks(hay, ["0901711500", "1001701200"]) == []
    codes = {r[0] for r in con.execute("select icd10 from stg_diagnoses").fetchall()}
    assert {"DC900", "DC901", "0901711.500", "DC1001701.200"} <= codes


def test_cpr_written_in_non_ascii_digits_is_not_left_clear(tmp_path):
    """Finding (raw_reader: CPR_LIKE_POLARS uses [0-9] while CPR_LIKE uses \\d): a CPR typed
    in full-width digits (an IME or a copy from a PDF) passes the polars pre-filter unseen and
    stays clear in stg_treatment_courses.regimen. (In the cpr column it is taken as a valid
    CPR, hashed as the full-width string, and the row ends up an ORPHAN.)"""
    fullwidth = "\uff11\uff15\uff10\uff15\uff17\uff10\uff12\uff12\uff12\uff13"  # 1505702223
    folder = write_delivery(tmp_path / "d", {
        "treatment_courses": [f"1203614417;K9001;andet;Reg {fullwidth};16-09-2024;;1;21"]}, manifest=False)
    con = stage(folder, tmp_path / "db.duckdb")
    hay = {t: "\n".join(map(str, con.execute(f"select * from {t}").fetchall()))
           for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert leaks(hay, [fullwidth]) == []


def test_refusal_message_never_quotes_a_cpr():
    """Finding (raw_reader._header): a file without its header line whose first row repeats a
    CPR is refused with "column '1203614417' appears twice": the CPR in the message (and in
    the Dagster event of the failed step). The command now scrubs every message it prints
    (pipelines/cli.py); the message itself should not carry it either."""
    raw = "1203614417;03-09-2024;1203614417;3,1;mg/L\n".encode()
    with pytest.raises(DeliveryRefused) as info:
        read_raw("labs.csv", raw, FILES_BY_NAME["labs"], Pseudonymiser(b"k"))
    assert leaks({"message": str(info.value)}, cpr_needles(CLEAR_CPRS)) == []


def test_command_scrubs_refusal_messages(tmp_path, monkeypatch):
    """Fixed in pipelines/cli.py: whatever a refusal says, the command prints it scrubbed."""
    from pipelines import cli

    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "k" * 32)
    folder = write_delivery(tmp_path / "d", replace={"labs": ["1203614417;03-09-2024;1203614417;3,1;mg/L"]},
                            manifest=False)
    out, err = io.StringIO(), io.StringIO()
    old = os.umask(0o022)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(["run", "--extract", str(folder), "--out", str(tmp_path / "out"),
                             "--extract-date", "2025-12-01"])
    finally:
        os.umask(old)
    assert code == 1
    assert "delivery refused: labs.csv" in err.getvalue()
    assert leaks({"stdout": out.getvalue(), "stderr": err.getvalue()}, cpr_needles(CLEAR_CPRS)) == []


def test_pseudonyms_follow_the_spec_are_stable_per_key_and_change_with_the_key():
    cprs = ["1203614417", "120361-4417", "0807580128"]
    raw = ("cpr;sex;birth_date;death_date\n" + "\n".join(f"{c};M;01-01-1960;" for c in cprs) + "\n").encode()
    dfile = FILES_BY_NAME["patients"]

    def pseudonyms(key: bytes) -> list[str]:
        frame, _ = read_raw("patients.csv", raw, dfile, Pseudonymiser(key))
        return frame["pseudonym"].to_list()

    first, again, other = pseudonyms(b"key-A"), pseudonyms(b"key-A"), pseudonyms(b"key-B")
    assert first == again
    assert first[0] == first[1]  # hyphenated and plain are one person
    expected = "P" + hmac.new(b"key-A", b"1203614417", hashlib.sha256).hexdigest()[:16]
    assert first[0] == expected == pseudonym(b"key-A", "1203614417")
    assert set(first).isdisjoint(other)
    assert all(p.startswith("P") and len(p) == 17 for p in first + other)


def test_stage_tables_hold_no_clear_cpr_and_pseudonyms_change_with_the_key(tmp_path):
    folder = write_delivery(tmp_path / "d")
    found = {}
    for key in (b"key-A", b"key-B"):
        con = stage(folder, Path(":memory:"), key=key)
        hay = {t: "\n".join(map(str, con.execute(f"select * from {t}").fetchall()))
               for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
        assert leaks(hay, cpr_needles(CLEAR_CPRS)) == []
        found[key] = {r[0] for r in con.execute("select pseudonym from stg_patients").fetchall()}
        con.close()
    assert len(found[b"key-A"]) == 2 and found[b"key-A"].isdisjoint(found[b"key-B"])


def test_scrub_masks_every_cpr_shape_but_not_dates_or_other_numbers():
    """Since issue 13 a CPR touching letters is masked too (``pt0102031237``): a pseudonym
    whose hex digits happen to hold one is masked in a message (over-scrubbing is accepted)."""
    assert scrub("a 1203614417 b 120361-4417 c") == "a <cpr> b <cpr> c"
    assert scrub("2025-12-01 12345678901 01-02-2003 1,5E-06 K1000001") == "2025-12-01 12345678901 01-02-2003 1,5E-06 K1000001"
    assert scrub("P1203614417abcdef") == "P<cpr>abcdef"



def test_names_made_from_the_delivery_are_scrubbed_after_they_are_made():
    """A privacy review: a character dropped or replaced while a folder name or an extract id is
    made ('280991Ω3651', 'DMDB-200478<LF>2853') joined the digits into a clear CPR."""
    from pipelines.ingest.delivery import delivery_id
    from pipelines.reports.files import safe_names

    assert "2809913651" not in safe_names(["280991Ω3651"])["280991Ω3651"]
    assert delivery_id(None, "DMDB-200478Ω2853.zip") == "DMDB-cpr"
    assert "2004782853" not in delivery_id(None, "DMDB-200478\n2853", pseudonym_of)


def pseudonym_of(digits: str) -> str:
    return "P" + hashlib.sha256(digits.encode()).hexdigest()[:16]


def test_a_header_cell_twice_is_named_without_its_cpr_however_it_is_spaced(tmp_path):
    """The message quoted the cell with repr(): '121060\\xa07594' left the digits readable."""
    dfile = FILES_BY_NAME["labs"]
    raw = "cpr;sample_date;analysis;value;unit;121060\u00a07594;121060\u00a07594\n".encode()
    with pytest.raises(DeliveryRefused) as refused:
        read_raw("labs.csv", raw, dfile, Pseudonymiser(b"k" * 32))
    assert "appears twice" in str(refused.value)
    assert "7594" not in str(refused.value) and "\\xa0" not in str(refused.value)


@pytest.mark.parametrize("argv", [["run", "--extract-date", "120417-3667"], ["run", "--period", "2409704222"],
                                  ["run", "--extract-date", "120417\u00a03667"]])
def test_a_cpr_typed_as_an_argument_is_masked_in_the_usage_error(argv, capsys):
    from pipelines import cli

    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "is not a" in err
    assert "3667" not in err and "4222" not in err


def test_a_name_shown_with_its_line_break_as_a_question_mark_is_scrubbed_again():
    """'DMDB-200478<LF>2853': a line end parts two values for the detector, but shown in a
    message or log as '?' it would join them into a CPR (a privacy review)."""
    from pipelines.lib.errors import shown

    assert "2853" not in shown("DMDB-200478\n2853")
