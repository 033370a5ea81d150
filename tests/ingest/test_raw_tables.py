"""A file's raw table: the record as delivered is made from the fields where the line is
them joined by ';', and kept whole only where it is not (pipelines/ingest/raw_tables.py)."""

from pipelines.ingest.raw_reader import read_raw
from pipelines.lib.extract_format import FILES_BY_NAME
from pipelines.lib.pseudonym import Pseudonymiser, pseudonym
from tests.delivery_builder import KEY, quarantined, raw_rows, stage, write_delivery

LABS = FILES_BY_NAME["labs"]
DEPARTMENTS = FILES_BY_NAME["departments"]
P = pseudonym(KEY, "1203614417")


def _read(dfile, text: str):
    frame, _ = read_raw(dfile.filename, text.encode(), dfile, Pseudonymiser(KEY))
    return frame, raw_rows(dfile, frame)


def test_a_line_of_its_fields_is_not_kept_but_made_from_them():
    frame, rows = _read(LABS, "cpr;sample_date;analysis;value;unit\n"
                              "1203614417;03-09-2024;ldh;1;U/L\n"
                              "120361-4417;03-09-2024;b2m;;mg/L\n")
    assert frame["_record_kept"].to_list() == [None, None]
    assert rows["_record"].to_list() == [f"{P};03-09-2024;ldh;1;U/L", f"{P};03-09-2024;b2m;;mg/L"]


def test_a_malformed_or_quoted_line_is_kept_whole():
    frame, rows = _read(DEPARTMENTS, "department_code;department_name;hospital;region\n"
                                     "1;A;H;R\n"
                                     '2;"B; C";H;R\n'
                                     "3;D;H\n")
    assert frame["_record_kept"].to_list() == [None, '2;"B; C";H;R', "3;D;H"]
    assert rows["_record"].to_list() == ["1;A;H;R", '2;"B; C";H;R', "3;D;H"]


def test_a_file_with_other_columns_or_another_order_keeps_every_record():
    frame, rows = _read(LABS, "unit;cpr;sample_date;analysis;value;note\n"
                              "U/L;1203614417;03-09-2024;ldh;1;see 0807580128\n")
    assert frame["_record_kept"].null_count() == 0
    assert rows["_record"].to_list() == [f"U/L;{P};03-09-2024;ldh;1;see {pseudonym(KEY, '0807580128')}"]
    assert rows["unit"].to_list() == ["U/L"] and rows["pseudonym"].to_list() == [P]


def test_the_quarantine_shows_the_line_as_delivered_with_the_pseudonym(tmp_path):
    folder = write_delivery(tmp_path / "d", {"labs": ["1203614417;03-09-2024;ldh;x;U/L"]}, manifest=False)
    con = stage(folder, tmp_path / "t.duckdb")
    (line,) = [n for file, n, code in quarantined(con) if file == "labs.csv" and code == "INVALID_NUMBER"]
    record = con.execute("select record from stg_quarantine where file = 'labs.csv' and line = ?", [line]).fetchone()[0]
    assert record == f"{P};03-09-2024;ldh;x;U/L"


def test_unnamed_extra_columns_are_each_scrubbed_and_kept_in_the_record():
    """Found by the fuzz test: a header ending in two empty names (``…;region;;``, as a
    spreadsheet may save it) stopped the reading with polars' "duplicate output name": the
    extra fields were looked up by name, and both are called ''."""
    frame, rows = _read(DEPARTMENTS, "department_code;department_name;hospital;region;;\n"
                                     "1;A;H;R;x 0807580128;y 1203614417\n")
    other, p = pseudonym(KEY, "0807580128"), P
    assert rows["_record"].to_list() == [f"1;A;H;R;x {other};y {p}"]
    assert rows["region"].to_list() == ["R"]
