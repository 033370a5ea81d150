"""Property-based fuzzing of deliveries (issue 8).

Every damaged delivery must end in one of two ways:

* accepted, with every row accounted for: per file, rows in (non-blank data lines, as the
  manifest counts them) = clean + quarantined + exact duplicates collapsed, and every line
  in exactly one of the clean table or the quarantine; or
* refused with ``DeliveryRefused`` naming the file.

Anything else (another exception, a row that vanished, a hang) is a finding. Most cases fuzz
the ingest alone (``read_raw``, then ``stage()`` without Dagster, both fast); a few run the
whole command. Budget and the long profile: see ``fuzz_mutations.py`` and THREAT_MODEL.md.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipelines.ingest.delivery import open_delivery, resolve_extract_date
from pipelines.ingest.raw_reader import read_raw
from pipelines.lib.errors import AuditError, DeliveryRefused
from pipelines.lib.extract_format import FILES_BY_NAME
from pipelines.lib.pseudonym import Pseudonymiser
from pipelines.lib.publish import incoming_dir, publish
from tests.delivery_builder import EXTRACT_DATE, KEY, raw_rows, stage, write_delivery
from tests.hardening.fuzz_mutations import (CPR_SHAPED, FILE_NAMES, Mutation, check_refusal, clear_numbers,
                                            cpr_numbers, expected_rows, fuzz_settings, mutate, mutations_st, no_hang,
                                            render)

PSEUDONYM = re.compile(r"P[0-9a-f]{16}")
PREVIOUS_HEADER = ("pseudonym,indicator_id,status,reason_code,reason_text,index_date,guideline_version,"
                   "department_code,risk,risk_rules")


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


# --- read_raw: decoding, splitting, pseudonymising (cheap: many cases) ----------------------

@fuzz_settings(3)
@given(mutations_st)
@example([Mutation("insert_line", "labs.csv", (3, "\u00a0"))])
@example([Mutation("field", "labs.csv", (1, 2, '"a\rb"', "utf-8"))])
@example([Mutation("encode", "patients.csv", ("utf-16",))])
@example([Mutation("insert_bytes", "drugs.csv", (40, b"\x81"))])
@example([Mutation("insert_bytes", "patients.csv", (30, b'\r"'))])
@example([Mutation("field", "cytogenetics.csv", (1, 1, "130647310004-06-2017", "utf-8"))])
@example([Mutation("del_sep", "labs.csv", (1, 0)), Mutation("header", "labs.csv", (1, "pt0102031290"))])
@example([Mutation("field", "treatment_courses.csv", (2, 3, "Reg 120361\u20114417", "utf-8"))])
@example([Mutation("field", "departments.csv", (1, 1, '"120361"4417', "utf-8"))])
@example([Mutation("line_ends", "patients.csv", ("\r",))])
@example([Mutation("header", "drugs.csv", (0, ";".join(["c"] * 1500)))])
@example([Mutation("header", "departments.csv", (1, "")), Mutation("header", "departments.csv", (1, ""))])
def test_read_raw_keeps_every_line_or_refuses(mutations):
    files = mutate(mutations)
    pseudonymise = Pseudonymiser(KEY)
    for name in sorted({m.file for m in mutations}):
        dfile = FILES_BY_NAME[name.removesuffix(".csv")]
        try:
            with no_hang(30, f"read_raw({name})"):
                frame, facts = read_raw(name, files[name], dfile, pseudonymise)
        except DeliveryRefused as err:
            check_refusal(err)
            assert err.file == name
            continue
        assert frame.height == expected_rows(files[name]), f"{name}: rows lost or invented while reading"
        lines = frame["_line"].to_list()
        assert len(set(lines)) == len(lines) and all(n >= 2 for n in lines)
        rows = raw_rows(dfile, frame)  # as the raw table holds it: with the record of every line
        assert rows["_record"].null_count() == 0
        if dfile.has_cpr:
            assert all(PSEUDONYM.fullmatch(p) for p in frame["pseudonym"].to_list())
            assert set(frame["_cpr_status"].to_list()) <= {"valid", "missing", "invalid"}
        assert facts["encoding"] in {"utf-8", "utf-8-sig", "cp1252", "utf-8 + cp1252"}
        # no CPR number of the file is left clear in any text column or fact (issue 13)
        texts = {c: "\n".join(map(str, rows[c].to_list())) for c in rows.columns if c != "pseudonym"}
        texts["facts"] = str(facts)
        assert clear_numbers(texts, cpr_numbers(files[name])) == []


# --- stage(): raw + staging without Dagster (the reconciliation) ------------------------------

def assert_accounted_for(con, files: dict[str, bytes]) -> None:
    reconciliation = {r[0]: r[1:] for r in con.execute("select * from stg_reconciliation").fetchall()}
    assert sorted(reconciliation) == sorted(FILE_NAMES)
    for name, (rows_in, clean, quarantined, duplicates) in reconciliation.items():
        assert rows_in == expected_rows(files[name]), f"{name}: {rows_in} rows in, the file has {expected_rows(files[name])}"
        assert rows_in == clean + quarantined + duplicates, name
        stg = FILES_BY_NAME[name.removesuffix(".csv")].stg_table
        clean_lines = [r[0] for r in con.execute(f"select _line from {stg}").fetchall()]
        quarantine_lines = [r[0] for r in con.execute("select line from stg_quarantine where file = ?", [name]).fetchall()]
        assert len(clean_lines) == clean and len(quarantine_lines) == quarantined, name
        assert not set(clean_lines) & set(quarantine_lines), f"{name}: a line is both clean and quarantined"
        assert len(set(clean_lines)) == len(clean_lines) and len(set(quarantine_lines)) == len(quarantine_lines), name
        physical = files[name].count(b"\n") + 1
        assert all(2 <= n <= physical for n in clean_lines + quarantine_lines), name


def stage_or_refuse(files: dict[str, bytes]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_files(Path(tmp) / "delivery", files)
        try:
            with no_hang(120, "stage()"):
                con = stage(folder, Path(":memory:"))
        except DeliveryRefused as err:
            check_refusal(err)
            return "refused"
        try:
            assert_accounted_for(con, files)
            numbers = set().union(*(cpr_numbers(data) for data in files.values()))
            texts = {t: "\n".join(map(str, con.execute(f"select * from {t}").fetchall()))
                     for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
            assert clear_numbers(texts, numbers) == [], "a CPR number of the delivery is clear in a table"
        finally:
            con.close()
    return "accepted"


@fuzz_settings(0.7)
@given(mutations_st)
@example([Mutation("field", "drugs.csv", (2, 5, "0-2147483647", "utf-8"))])
@example([Mutation("insert_line", "patients.csv", (1, "\u2028"))])
@example([Mutation("field", "labs.csv", (2, 1, "00-00-0000", "utf-8")),
          Mutation("field", "responses.csv", (1, 5, "1e400", "utf-8"))])
def test_staging_accounts_for_every_row_or_refuses(mutations):
    stage_or_refuse(mutate(mutations))


def test_undamaged_delivery_is_accepted_and_reconciles():
    """The oracle itself: the base delivery, CRLF and cp1252 variants are accepted."""
    assert stage_or_refuse(render()) == "accepted"
    assert stage_or_refuse(render("\r\n")) == "accepted"
    cp1252 = {n: d.decode("utf-8").encode("cp1252") for n, d in render().items()}
    assert stage_or_refuse(cp1252) == "accepted"


# --- manifest.json and .zip containers (cheap) ------------------------------------------------

json_st = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
file_entry_st = st.one_of(
    json_st,
    st.fixed_dictionaries({}, optional={"rows": json_st | st.integers(-2, 10), "sha256": json_st}),
)
EXTRACT_IDS = ["DMDB-2025-12-01", "DMDB-0102031249", "../../etc/x", "<b>x</b>", "x" * 65, "", "a\nb", "-x", ".."]
EXTRACTED_AT = ["2025-12-01", "01-12-2025", "2025-02-30", "", "0001-01-01", "2099-01-01", "2026-11-01T99:99 garbage",
                "2025-12-01T06:00:00+01:00", "2025-12-01T25:00", " 2025-12-01 "]
manifest_st = st.one_of(
    json_st,
    st.fixed_dictionaries({}, optional={
        "extract_id": json_st | st.sampled_from(EXTRACT_IDS + CPR_SHAPED),
        "extracted_at": json_st | st.sampled_from(EXTRACTED_AT),
        "version": json_st | st.integers(-2, 3),
        "files": json_st | st.dictionaries(st.sampled_from(FILE_NAMES + ["other.txt"]), file_entry_st, max_size=4),
    }),
)
# shapes JSON strategies do not reach: deep nesting, huge numbers, constants, duplicate keys, size
RAW_MANIFESTS = ["[" * 5000 + "]" * 5000, '{"files": {"labs.csv": {"rows": ' + "7" * 5001 + "}}}",
                 '{"version": 1e999}', '{"files": {}, "files": {}}', '{"rows": NaN}', '{"a": -Infinity}',
                 '{"extracted_at": "2025-12-01", "pad": "' + "p" * (1024**2) + '"}', "\ufeff{}", '{"files": []}']


@fuzz_settings(1)
@given(manifest_st | st.sampled_from(RAW_MANIFESTS))
@example({"extracted_at": "2025-12-01", "files": {"labs.csv": {"rows": "x"}}})
@example({"extracted_at": "2025-12-01", "files": {"labs.csv": {"sha256": 5}}})
@example({"extract_id": "DMDB-0102031249", "extracted_at": "2025-12-01"})
def test_any_manifest_is_accepted_or_refused(manifest):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_delivery(Path(tmp) / "d", manifest=False)
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (folder / "manifest.json").write_text(text, encoding="utf-8")
        for step in (lambda: resolve_extract_date(folder, None), lambda: open_delivery(folder)):
            try:
                delivery = step()
            except DeliveryRefused as err:
                if err.file != folder.name:  # "no extracted_at: give --extract-date" names the delivery
                    check_refusal(err)
                assert clear_numbers({"message": str(err)}, {"0102031249", "1203614417"}) == []
                continue
            if hasattr(delivery, "extract_id"):  # accepted: the id is a short token, no clear CPR
                assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", delivery.extract_id), delivery.extract_id
                assert clear_numbers({"id": delivery.extract_id}, {"0102031249", "1203614417"}) == []


def zip_delivery(folder: Path, target: Path) -> bytes:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"DMDB-TEST/{path.name}")
    return target.read_bytes()


def central_entries(data: bytes) -> list[int]:
    positions, pos = [], 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        positions.append(pos)
        pos += 4
    return positions


# issue 13: a member flagged encrypted, declared sizes that lie (smaller, larger, zero)
directory_st = st.lists(st.tuples(st.integers(0, 20), st.sampled_from(["encrypted", "size", "csize"]),
                                  st.sampled_from([0, 1, 9641, 2**31, 2**32 - 1])), max_size=3)


@fuzz_settings(1)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=0, max_size=4),
       st.none() | st.integers(0, 10**6), directory_st)
@example([(300, 0xFF)], None, [])
@example([], None, [(3, "encrypted", 0)])
@example([], None, [(5, "size", 9641)])
def test_damaged_zip_is_accepted_or_refused_naming_the_zip(flips, cut, directory):
    import struct

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = bytearray(zip_delivery(write_delivery(tmp / "d"), tmp / "whole.zip"))
        entries = central_entries(bytes(data))
        for index, what, value in directory:
            pos = entries[index % len(entries)]
            if what == "encrypted":
                struct.pack_into("<H", data, pos + 8, struct.unpack_from("<H", data, pos + 8)[0] | 1)
            else:
                struct.pack_into("<I", data, pos + (24 if what == "size" else 20), value)
        for pos, xor in flips:
            data[pos % len(data)] ^= xor
        if cut is not None:
            data = data[: cut % (len(data) + 1)]
        damaged = tmp / "DMDB-TEST.zip"
        damaged.write_bytes(bytes(data))
        for step in (lambda: resolve_extract_date(damaged, EXTRACT_DATE), lambda: open_delivery(damaged)):
            try:
                step()
            except DeliveryRefused as err:
                assert err.file in (damaged.name, "manifest.json", *FILE_NAMES), str(err)


# --- a few whole runs of the command -----------------------------------------------------------

def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@fuzz_settings(0.01, minimum=2, shrink=False)
@given(mutations=mutations_st)
@example(mutations=[Mutation("insert_bytes", "labs.csv", (10, b"\x9d"))])  # undecodable: refused
def test_whole_run_publishes_everything_or_nothing(mutations, tmp_path_factory, capsys):
    """The command on a damaged delivery: exit 0 with the whole contract published and
    reconciled, or exit 1 with one ``myeloma-audit:`` line naming the file, the previous
    results byte-identical and no leftovers; never an internal error or a traceback."""
    from pipelines import cli

    tmp = tmp_path_factory.mktemp("whole")
    files = mutate(mutations)
    folder = write_files(tmp / "delivery", files)
    out = tmp / "out"
    previous = incoming_dir(out)  # published results of an earlier run (with their list of files)
    (previous / "run.json").write_text('{"previous": true}')
    (previous / "patient_results.csv").write_text(PREVIOUS_HEADER + "\n")
    publish(previous, out)
    before = snapshot(out)
    old_umask = os.umask(0o022)
    os.environ["MYELOMA_AUDIT_KEY"] = "fuzz-key-of-at-least-thirty-two-bytes"
    try:
        with no_hang(600, "the whole run"):
            code = cli.main(["run", "--extract", str(folder), "--out", str(out), "--extract-date",
                             EXTRACT_DATE.isoformat()])
    finally:
        os.umask(old_umask)
        del os.environ["MYELOMA_AUDIT_KEY"]
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "internal error" not in captured.err, captured.err
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".out.")] == [".out.myeloma-audit"]
    assert [p.name for p in (tmp / ".out.myeloma-audit").iterdir()] == ["lock"]  # no leftovers
    if code == 0:
        record = json.loads((out / "run.json").read_text())
        for name in FILE_NAMES:
            counts = record["files"][name]
            assert counts["rows_in"] == expected_rows(files[name]), name
            assert counts["rows_in"] == counts["rows_clean"] + counts["rows_quarantined"] + counts["duplicates_collapsed"]
        for name in ("patient_results.csv", "indicator_summary.csv", "quarantine.csv", "audit.duckdb"):
            assert (out / name).is_file(), name
    else:
        assert code == 1
        message = captured.err.strip().splitlines()[-1]
        assert re.match(r"myeloma-audit: (delivery refused: (\S+\.csv|manifest\.json)|blocking data-quality checks failed)",
                        message), message
        assert snapshot(out) == before


# --- minimal regression tests for what the fuzzing found ----------------------------------------

def test_blank_looking_line_is_a_row_as_the_manifest_counts_it(tmp_path):
    """Finding: a line holding only a non-breaking space (or U+2028, U+3000 …) is counted by
    the manifest check (``count_data_rows``: ASCII whitespace) but dropped without trace by
    ``read_raw`` (polars ``strip_chars``: Unicode whitespace). Rows in must be 5 and the line
    quarantined (MALFORMED_ROW), not silently lost."""
    folder = write_delivery(tmp_path / "d", {"labs": ["\u00a0"]})  # manifest: 5 rows, and it matches
    con = stage(folder, tmp_path / "db.duckdb")
    assert con.execute("select rows_in from stg_reconciliation where file = 'labs.csv'").fetchone()[0] == 5
    assert ("labs.csv", 6, "MALFORMED_ROW") in set(con.execute("select file, line, reason_code from stg_quarantine").fetchall())


@pytest.mark.parametrize("line", ['1203614417;M;\r"12-03-1961;', '"1203614417";M\r;12-03-1961;'])
def test_bare_carriage_return_in_a_quoted_line_is_a_malformed_row_not_a_crash(line):
    """Finding (raw_reader._split_quoted): a line that holds a double quote (slow path through
    the csv module) and a bare CR outside quotes raises ``_csv.Error: new-line character seen
    in unquoted field`` — "internal error" for the whole delivery instead of one quarantined row."""
    raw = ("cpr;sex;birth_date;death_date\n" + line + "\n").encode()
    frame, _ = read_raw("patients.csv", raw, FILES_BY_NAME["patients"], Pseudonymiser(KEY))
    assert frame.height == 1 and frame["_malformed"].to_list() == [True]


@pytest.mark.parametrize("days", ["0-2147483647", "1-2147483647,1-2147483647", "1-99999999999"])
def test_absurd_day_ranges_are_quarantined_not_a_crash(tmp_path, days):
    """Finding: ``days_count`` overflows INT32 (OutOfRange / Conversion error: the whole
    delivery dies with an internal error) or, past 9 digits, yields NULL n_days for a row
    staged as clean (then a blocking quality check stops the run)."""
    folder = write_delivery(tmp_path / "d", {"drugs": [f"K1001;L01AA01;cyclophosphamid;1;mg;{days}"]}, manifest=False)
    con = stage(folder, tmp_path / "db.duckdb")
    assert ("drugs.csv", 11, "INVALID_CODE") in set(con.execute("select file, line, reason_code from stg_quarantine").fetchall())


def test_damaged_zip_entry_is_refused_naming_the_zip(tmp_path):
    """Finding: a zip whose entry is damaged in transfer (bad CRC / bad deflate stream)
    raises ``zipfile.BadZipFile`` or ``zlib.error``: "internal error" instead of a refusal."""
    data = bytearray(zip_delivery(write_delivery(tmp_path / "d"), tmp_path / "whole.zip"))
    with zipfile.ZipFile(tmp_path / "whole.zip") as zf:
        first = zf.infolist()[0]
    data[first.header_offset + 30 + len(first.filename) + 3] ^= 0xFF  # inside its compressed data
    damaged = tmp_path / "DMDB-TEST.zip"
    damaged.write_bytes(bytes(data))
    with pytest.raises(DeliveryRefused, match="DMDB-TEST.zip"):
        open_delivery(damaged)


@pytest.mark.parametrize("entry", [{"rows": "x"}, {"rows": []}, {"rows": 4.5}, {"sha256": 5}, {"sha256": None, "rows": None}])
def test_manifest_entry_of_the_wrong_type_is_refused(tmp_path, entry):
    """Finding: non-integer ``rows`` or non-text ``sha256`` raise ValueError / TypeError /
    AttributeError ("internal error"); ``rows: 4.5`` is silently truncated to 4."""
    folder = write_delivery(tmp_path / "d", manifest={"extracted_at": "2025-12-01", "files": {"labs.csv": entry}})
    if entry == {"sha256": None, "rows": None}:  # nothing to check: accepted
        open_delivery(folder)
        return
    with pytest.raises(DeliveryRefused, match="labs.csv|manifest.json"):
        open_delivery(folder)


def test_whole_run_refusal_is_one_clear_line(tmp_path, capsys):
    """The command's refusal is a single ``myeloma-audit: delivery refused: <file>`` line."""
    from pipelines import cli

    folder = write_delivery(tmp_path / "d", replace={"patients": ["cpr;sex;birth_date"]}, manifest=False)
    old = os.umask(0o022)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MYELOMA_AUDIT_KEY", "k" * 32)
            code = cli.main(["run", "--extract", str(folder), "--out", str(tmp_path / "out"), "--extract-date", "2025-12-01"])
    finally:
        os.umask(old)
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines()[-1] == ("myeloma-audit: delivery refused: patients.csv, line 1, column death_date: "
                                             "required column missing from the header")
    assert not (tmp_path / "out").exists()


def test_output_folder_that_is_not_an_earlier_result_is_never_replaced(tmp_path, monkeypatch):
    """Finding (fixed in pipelines/lib/publish.py): publishing swaps the whole ``--out``
    folder and deletes the old one, so ``--out .``, ``--out ~`` or ``--out <the delivery>``
    deleted that folder after a successful run. Now refused up front unless the folder is
    new, empty, or holds exactly what an earlier run published (its list of files)."""
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "k" * 32)
    from pipelines.audit import run_audit

    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.docx").write_text("years of work")
    delivery = write_delivery(precious / "delivery")
    for out in (precious, delivery):
        with pytest.raises(AuditError, match="lies inside the output folder"):  # since issue 13: refused first
            run_audit(delivery, out)
    assert (precious / "thesis.docx").read_text() == "years of work"
    assert (delivery / "labs.csv").is_file()
    other = tmp_path / "other"
    other.mkdir()
    (other / "run.json").write_text("{}")  # a run.json alone no longer makes a folder replaceable
    with pytest.raises(AuditError, match="not empty and holds no results of an earlier run"):
        run_audit(delivery, other)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(AuditError, match="is not a folder"):
        run_audit(delivery, a_file)


@pytest.mark.parametrize("content", [b"previous results\n", b"pseudonym;indicator_id;status\n", b"\x00\xff\xfe" * 50])
def test_unreadable_previous_results_stop_the_run_with_a_clear_message(tmp_path, content):
    """Finding (fixed in pipelines/reports/deviations.py, read_previous): a previous
    patient_results.csv in the output folder that is not one (damaged, or saved back by a
    spreadsheet with ';') raised ValueError / a polars error after the whole run: "internal
    error". Now an AuditError that says what to do."""
    from pipelines.reports.deviations import read_previous

    path = tmp_path / "patient_results.csv"
    path.write_bytes(content)
    with pytest.raises(AuditError, match="previous results .* (cannot be read|are not a patient_results.csv)"):
        read_previous(path)
