"""Reading real deliveries: encodings, BOM, line ends, zip, manifest, quoted fields, and the
refusals that stop a delivery with a message naming file, line and column."""

import json
import random
import threading
import zipfile

import pytest

from pipelines.ingest.delivery import count_data_rows, open_delivery, resolve_extract_date
from pipelines.ingest.raw_reader import read_raw
from pipelines.lib.errors import DeliveryRefused
from pipelines.lib.extract_format import FILES_BY_NAME
from pipelines.lib.pseudonym import Pseudonymiser
from tests.delivery_builder import EXTRACT_DATE, KEY, raw_rows, stage, write_delivery

DEPT = "Hæmatologisk Afdeling X, Odense Universitetshospital"


@pytest.mark.parametrize("encoding,bom,newline", [
    ("utf-8", False, "\n"), ("utf-8", True, "\r\n"), ("cp1252", False, "\r\n"), ("cp1252", False, "\n"),
])
def test_encodings_and_line_ends_give_the_same_staging(tmp_path, encoding, bom, newline):
    folder = write_delivery(tmp_path / "d", encoding=encoding, bom=bom, newline=newline)
    con = stage(folder, tmp_path / "t.duckdb")
    assert con.execute("select department_name from stg_departments").fetchone() == (DEPT,)
    assert con.execute("select count(*) from stg_drugs").fetchone() == (9,)
    assert con.execute("select count(*) from stg_quarantine").fetchone() == (0,)
    raw = (folder / "departments.csv").read_bytes()
    _, facts = read_raw("departments.csv", raw, FILES_BY_NAME["departments"], Pseudonymiser(KEY))
    assert facts["encoding"] == {"utf-8": "utf-8-sig" if bom else "utf-8", "cp1252": "cp1252"}[encoding]
    assert facts["line_ending"] == ("CRLF" if newline == "\r\n" else "LF")


def test_cp1252_euro_and_quotes_decode(tmp_path):
    raw = "department_code;department_name;hospital;region\n1;Afd „Øst“ €;H;Sjælland\n".encode("cp1252")
    frame, facts = read_raw("departments.csv", raw, FILES_BY_NAME["departments"], Pseudonymiser(KEY))
    assert facts["encoding"] == "cp1252"
    assert frame["department_name"].to_list() == ["Afd „Øst“ €"]


@pytest.mark.parametrize("bom", [False, True])
def test_a_file_mixing_utf8_and_cp1252_lines_is_read_line_by_line(bom):
    """extract-format.md expects "encoding mix-ups": a UTF-8 file with one line saved in
    Windows-1252 was decoded wholly as Windows-1252 (every UTF-8 ø, µ garbled: 'paraossÃ¸s' an
    invalid code, 'Âµmol/L' a unit mismatch) or, with a BOM, refused (found by a review)."""
    header = "department_code;department_name;hospital;region\n"
    raw = ((b"\xef\xbb\xbf" if bom else b"") + (header + "1;Hæmatologi Øst;Sjællands Universitetshospital;Sjælland\n").encode("utf-8")
           + "2;Afd. „Syd“ Århus;Aarhus Universitetshospital;Midtjylland\r\n".encode("cp1252")
           + "3;Afd µ–Vest;Odense;Syddanmark\n".encode("utf-8"))
    frame, facts = read_raw("departments.csv", raw, FILES_BY_NAME["departments"], Pseudonymiser(KEY))
    assert facts["encoding"] == "utf-8 + cp1252"
    assert frame["department_name"].to_list() == ["Hæmatologi Øst", "Afd. „Syd“ Århus", "Afd µ–Vest"]
    assert frame["_line"].to_list() == [2, 3, 4]


def test_a_line_neither_utf8_nor_cp1252_in_a_mixed_file_names_its_line_and_character():
    raw = ("department_code;department_name;hospital;region\n1;Øst;H;Sjælland\n".encode("utf-8")
           + b"2;Syd\x81;H;Midtjylland\n")
    with pytest.raises(DeliveryRefused) as info:
        read_raw("departments.csv", raw, FILES_BY_NAME["departments"], Pseudonymiser(KEY))
    assert (info.value.file, info.value.line, info.value.column) == ("departments.csv", 3, "department_name")
    assert "departments.csv, line 3, column department_name: byte 0x81 at character 6 cannot be decoded" \
        in str(info.value)


@pytest.mark.parametrize("line,column", [
    (b"2;A;H;R\x81\n", "region"),          # the last column
    (b"2;A;H;R;extra\x81\n", "5"),         # a field the header has no name for
])
def test_an_undecodable_byte_names_the_column_it_is_in(line, column):
    raw = b"department_code;department_name;hospital;region\n1;A;H;R\n" + line
    with pytest.raises(DeliveryRefused) as info:
        read_raw("departments.csv", raw, FILES_BY_NAME["departments"], Pseudonymiser(KEY))
    assert (info.value.line, info.value.column) == (3, column)


def test_an_undecodable_byte_in_the_header_names_no_column():
    raw = b"department_code;department_name\x81;hospital;region\n1;A;H;R\n"
    with pytest.raises(DeliveryRefused) as info:
        read_raw("departments.csv", raw, FILES_BY_NAME["departments"], Pseudonymiser(KEY))
    assert (info.value.line, info.value.column) == (1, None)


@pytest.mark.parametrize("body,encoding,bom", [
    ("1;A;H;R\n\n2;B;H;R\n", "utf-8", False),             # native reader, an empty line
    ("1;A;H;R\r\n2;B;H;R\r\n", "utf-8", True),             # BOM and CRLF
    ("1;Å;H;R\r\n \r\n2;Ø€;H;R", "cp1252", False),         # transcoded, no final line end
    ("1;A\x1fB;H;R\n2;B;H;R\n", "utf-8", False),           # the reader's own separator in a line
    ("1;A\rB;H;R\n2;B;H;R\n", "utf-8", False),             # a bare CR inside a line
    ("", "utf-8", False),                                   # the header alone
])
def test_lines_and_their_numbers_are_those_of_the_file(body, encoding, bom):
    header = "department_code;department_name;hospital;region\n"
    raw = (b"\xef\xbb\xbf" if bom else b"") + (header + body).encode(encoding)
    frame, _ = read_raw("departments.csv", raw, FILES_BY_NAME["departments"], Pseudonymiser(KEY))
    expected = [(n, line.removesuffix("\r")) for n, line in enumerate(body.split("\n"), start=2)
                if line.strip(" \t\r\n\x0b\x0c")]
    rows = raw_rows(FILES_BY_NAME["departments"], frame)
    assert list(zip(rows["_line"].to_list(), rows["_record"].to_list())) == expected


def test_zip_of_one_folder(tmp_path):
    folder = write_delivery(tmp_path / "DMDB-2025-12-01", encoding="cp1252", newline="\r\n")
    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.iterdir():
            zf.write(path, f"DMDB-2025-12-01/{path.name}")
    con = stage(archive, tmp_path / "t.duckdb")
    assert con.execute("select count(*) from stg_patients").fetchone() == (2,)
    assert resolve_extract_date(archive, None) == EXTRACT_DATE


def test_zip_with_parent_path_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../patients.csv", "cpr;sex;birth_date;death_date\n")
    with pytest.raises(DeliveryRefused, match="outside its folder"):
        open_delivery(archive)


def test_extra_columns_kept_in_record_and_column_order_free(tmp_path):
    replace = {"anthropometrics": ["weight_kg;note;cpr;measure_date;height_cm", "86,5;ok;1203614417;08-02-2025;181"]}
    con = stage(write_delivery(tmp_path / "d", replace=replace), tmp_path / "t.duckdb")
    assert con.execute("select height_cm, weight_kg from stg_anthropometrics").fetchone() == (181.0, 86.5)


def test_quoted_field_with_separator(tmp_path):
    replace = {"departments": ["department_code;department_name;hospital;region",
                               '4202010;"Hæmatologi; Afd X";Odense Universitetshospital;Syddanmark']}
    con = stage(write_delivery(tmp_path / "d", replace=replace), tmp_path / "t.duckdb")
    assert con.execute("select department_name from stg_departments").fetchone() == ("Hæmatologi; Afd X",)


def test_cpr_in_an_extra_column_is_pseudonymised_in_the_record(tmp_path):
    replace = {"labs": ["cpr;sample_date;analysis;value;unit;comment", "1203614417;03-09-2024;b2m;3,1;mg/L;see 0807580128",
                        "1203614417;03-09-2024;ldh;x;U/L;see 0807580128"]}
    con = stage(write_delivery(tmp_path / "d", replace=replace), tmp_path / "t.duckdb")
    record = con.execute("select record from stg_quarantine").fetchone()[0]
    assert "0807580128" not in record and record.count("P") >= 2


# --- refusals -------------------------------------------------------------------------------

def refusal(tmp_path, **kwargs) -> DeliveryRefused:
    with pytest.raises(DeliveryRefused) as info:
        stage(write_delivery(tmp_path / "d", **kwargs), tmp_path / "t.duckdb")
    return info.value


def test_missing_file_is_refused(tmp_path):
    folder = write_delivery(tmp_path / "d", manifest=False)
    (folder / "drugs.csv").unlink()
    with pytest.raises(DeliveryRefused) as info:
        open_delivery(folder)
    assert info.value.file == "drugs.csv" and "missing" in str(info.value)


def test_missing_column_names_file_line_and_column(tmp_path):
    err = refusal(tmp_path, replace={"labs": ["cpr;sample_date;analysis;value", "1203614417;03-09-2024;b2m;3,1"]},
                  manifest=False)
    assert (err.file, err.line, err.column) == ("labs.csv", 1, "unit")
    assert str(err) == "delivery refused: labs.csv, line 1, column unit: required column missing from the header"


def test_undecodable_bytes_name_the_line(tmp_path):
    folder = write_delivery(tmp_path / "d", manifest=False)
    raw = (folder / "patients.csv").read_bytes() + b"0101504418;M;01-01-1950;\x81\n"
    (folder / "patients.csv").write_bytes(raw)
    with pytest.raises(DeliveryRefused) as info:
        stage(folder, tmp_path / "t.duckdb")
    assert (info.value.file, info.value.line) == ("patients.csv", 4)
    assert "0101504418" not in str(info.value)


def test_manifest_row_count_mismatch(tmp_path):
    folder = write_delivery(tmp_path / "d")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["labs.csv"]["rows"] = 5
    manifest["files"]["labs.csv"].pop("sha256")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DeliveryRefused, match="labs.csv: manifest.json says 5 rows, the file has 4"):
        open_delivery(folder)


def test_manifest_checksum_mismatch(tmp_path):
    folder = write_delivery(tmp_path / "d")
    with open(folder / "procedures.csv", "ab") as handle:
        handle.write(b"1203614417;21-03-2025;rehabilitering;\n")
    # its row count is wrong too: the checksum is named first, though the rows are counted while it is computed
    with pytest.raises(DeliveryRefused, match="procedures.csv: sha256 does not match"):
        open_delivery(folder)
    assert not [t for t in threading.enumerate() if t.name.startswith("checksums")]


def test_manifest_not_json(tmp_path):
    folder = write_delivery(tmp_path / "d")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(DeliveryRefused, match="manifest.json, line 1: not valid JSON"):
        open_delivery(folder)


def test_extract_date_from_manifest_or_option(tmp_path):
    folder = write_delivery(tmp_path / "d", manifest=False)
    with pytest.raises(DeliveryRefused, match="--extract-date"):
        resolve_extract_date(folder, None)
    assert resolve_extract_date(folder, EXTRACT_DATE) == EXTRACT_DATE
    with_manifest = write_delivery(tmp_path / "m")
    with pytest.raises(DeliveryRefused, match="extracted_at is 2025-12-01"):
        resolve_extract_date(with_manifest, EXTRACT_DATE.replace(day=2))


def test_empty_file_is_refused_naming_it(tmp_path):
    folder = write_delivery(tmp_path / "d", manifest=False)
    (folder / "responses.csv").write_bytes(b"")
    with pytest.raises(DeliveryRefused) as info:
        stage(folder, tmp_path / "t.duckdb")
    assert (info.value.file, info.value.line) == ("responses.csv", 1)


def test_duplicate_header_column_is_refused(tmp_path):
    err = refusal(tmp_path, replace={"procedures": ["cpr;procedure_date;procedure;sks_code;procedure", "1203614417;12-12-2024;asct;;x"]},
                  manifest=False)
    assert (err.file, err.line, err.column) == ("procedures.csv", 1, "procedure")


def _rows_by_definition(raw: bytes) -> int:
    """The manifest's rule read literally: non-blank lines (ASCII white space) after the header."""
    return sum(1 for line in raw.replace(b"\r\n", b"\n").split(b"\n")[1:] if line.strip())


def test_the_manifest_row_count_is_the_rule_read_literally():
    rng = random.Random(17)
    pieces = [b" ", b"\t", b"\r", b"\n", b"\x0b", b"\x0c", b"a", b";", b"\xa0", b"\r\n", b"\x00", b"\x85",
              b"1;2;3\n", b"x\r\n", b"\n\n", b" \r\n"]
    deliveries = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(20000)]
    deliveries += [b"h;i\n" + b"a;b\n" * 1000, b"h;i\r\n" + b"a;b\r\n" * 1000 + b"a;b", b"h\n\n", b"h", b"",
                   b"h\n a\n\t\n", b"h\r\n\r\n", b"h\na\n\x0b\nb\n"]
    assert [count_data_rows(raw) for raw in deliveries] == [_rows_by_definition(raw) for raw in deliveries]
    assert count_data_rows(b"h;i\n" + b"a;b\n" * 1000) == 1000


def test_a_cpr_read_in_an_earlier_file_gets_the_same_pseudonym_and_status_in_a_later_one():
    """Each delivered cpr text is checked and hashed once per delivery (``_pseudonymise`` looks
    a file's values up among those of the files before it): a file read after others gives
    exactly what it gives read first — values seen before, new ones, an invalid number, an
    empty one, the hyphenated and full-width forms of a number, and a malformed line (invalid
    whatever its number)."""
    import polars as pl

    patients = FILES_BY_NAME["patients"]
    labs = FILES_BY_NAME["labs"]
    header = ";".join(patients.columns)
    first = (header + "\n" + "\n".join(";".join({"cpr": cpr, "sex": "M", "birth_date": "01-02-1950"}.get(c, "")
                                                for c in patients.columns)
                                       for cpr in ("0102501234", "0304552345", "3102503456"))).encode()
    lab_rows = ["0102501234", "010250-1234", "\uff10\uff11\uff10\uff12\uff15\uff10\uff11\uff12\uff13\uff14",
                "0506607777", "3102503456", "", "12345", "0304552345;extra;fields"]
    later = (";".join(labs.columns) + "\n" + "\n".join(
        cpr if ";" in cpr else ";".join({"cpr": cpr, "analysis": "ldh"}.get(c, "") for c in labs.columns)
        for cpr in lab_rows)).encode()

    shared = Pseudonymiser(KEY)
    read_raw("patients.csv", first, patients, shared)
    after, _ = read_raw("labs.csv", later, labs, shared)
    alone, _ = read_raw("labs.csv", later, labs, Pseudonymiser(KEY))
    columns = ["_line", "pseudonym", "_cpr_status", "_malformed"]
    assert after.select(columns).equals(alone.select(columns))
    assert after["_cpr_status"].to_list() == ["valid", "valid", "valid", "valid", "invalid", "missing", "invalid",
                                              "invalid"]
    assert after["pseudonym"][0] == after["pseudonym"][1] == after["pseudonym"][2]
    assert after.filter(pl.col("_malformed")).height == 1


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "zip"])
def test_files_are_read_one_at_a_time_and_refused_if_they_changed_since_the_delivery_was_opened(tmp_path, packed):
    """An opened delivery holds no file's bytes (a large one would be held whole): each file is
    read again when the reading step asks for it, and refused, naming it, unless it is exactly
    what was checked when the delivery was opened (the manifest's checksum and row count)."""
    import hashlib

    folder = write_delivery(tmp_path / "DMDB-2025-12-01")
    source = folder
    if packed:
        source = tmp_path / "delivery.zip"
        with zipfile.ZipFile(source, "w") as zf:
            for path in folder.iterdir():
                zf.write(path, f"DMDB-2025-12-01/{path.name}")
    delivery = open_delivery(source)
    assert not any(isinstance(value, bytes) for value in vars(delivery.files).values())
    labs = delivery.files["labs.csv"]
    assert hashlib.sha256(labs).hexdigest() == delivery.checksums["labs.csv"]
    assert set(delivery.files) == {f"{name}.csv" for name in FILES_BY_NAME}

    changed = labs + b"0102501234;04-09-2024;ldh;200;U/L\n"
    if packed:
        with zipfile.ZipFile(source, "w") as zf:
            for path in folder.iterdir():
                zf.writestr(f"DMDB-2025-12-01/{path.name}", changed if path.name == "labs.csv" else path.read_bytes())
    else:
        (folder / "labs.csv").write_bytes(changed)
    with pytest.raises(DeliveryRefused, match="changed while the delivery was being read") as refused:
        delivery.files["labs.csv"]
    assert refused.value.file == "labs.csv" and "0102501234" not in str(refused.value)
    assert delivery.files["patients.csv"]  # the others are as they were
    if packed:
        source.write_bytes(b"")  # no longer a zip
    else:
        (folder / "labs.csv").unlink()
    with pytest.raises(DeliveryRefused):
        delivery.files["labs.csv"]
