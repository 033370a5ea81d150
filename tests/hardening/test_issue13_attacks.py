"""Issue 13 (personal data and hostile deliveries, round two): every successful attack of the
issue replayed, class by class, with variants. The whole-run CPR scan of synthetic deliveries
is in ``test_cpr_scan.py``, the stop signals in ``test_signals.py``; the duplicate inbox
delivery in ``tests/operations/test_ops_history.py``.

Each attack must now end in one of: the value pseudonymised (data), masked (messages), or a
refusal of one line naming the file (and line and column) and the limit — never an internal
error, never a clear CPR, never a deleted file the run did not write.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines.ingest.delivery import (check_extract_id, open_delivery, parse_extracted_at, peek_manifest,
                                       resolve_extract_date)
from pipelines.ingest.raw_reader import read_raw
from pipelines.lib import cpr, limits
from pipelines.lib.errors import DeliveryRefused
from pipelines.lib.extract_format import FILES_BY_NAME
from pipelines.lib.pseudonym import Pseudonymiser, pseudonym
from pipelines.lib.publish import FILE_LIST, incoming_dir, publish
from tests.delivery_builder import KEY, raw_rows, stage, write_delivery
from tests.hardening.hardening_deck import PATH_LIKE_EXTRACT_ID

REPO = Path(__file__).resolve().parents[2]
ENV_KEY = "issue-13-key-of-at-least-32-bytes-long"


def cli(args: list[str], monkeypatch, *, key: str = ENV_KEY) -> tuple[int, str, str]:
    """The command in this process (its real error handling), under umask 022."""
    from pipelines import cli as command

    monkeypatch.setenv("MYELOMA_AUDIT_KEY", key)
    out, err = io.StringIO(), io.StringIO()
    old = os.umask(0o022)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = command.main(args)
    finally:
        os.umask(old)
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("myeloma-audit:")]
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    return lines[0]


def tables(con) -> dict[str, str]:
    return {t: "\n".join(map(str, con.execute(f"select * from {t}").fetchall()))
            for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}


def clear(haystacks: dict[str, str], digits: set[str]) -> list[tuple[str, str]]:
    """Every place one of the CPR numbers ``digits`` appears in any written form."""
    return [(where, f.digits) for where, text in haystacks.items() for f in cpr.find(text, dated=False)
            if f.digits in digits]


# --- 1 and 2: CPR shapes the scrub skipped --------------------------------------------------------

SHAPES = {  # as typed into a field → its ten digits
    "pt0102031237": "0102031237", "0102031238x": "0102031238", "CPR0102031262": "0102031262",
    "010203 1236": "0102031236", "010203\u20131241": "0102031241", "010203\u20111242": "0102031242",
    "010203\u20141243": "0102031243", "010203/1244": "0102031244", "010203.1245": "0102031245",
    "\uff10\uff11\uff10\uff12\uff10\uff13\uff11\uff12\uff14\uff16": "0102031246",
    # separators after the day and the month, and the year in full (stayed clear before 2026-12)
    "0102 03 1247": "0102031247", "01.02.03-1248": "0102031248", "01 02 03 1251": "0102031251",
    "01.02.1903-1252": "0102031252", "01021903 1253": "0102031253",
}


@pytest.mark.parametrize("typed,digits", SHAPES.items())
def test_cpr_shapes_in_any_field_are_pseudonymised_at_ingest(tmp_path, typed, digits):
    """Issue 13, 2: ``pt0102031237``, ``0102031238x``, ``CPR0102031262``, a space, an en
    dash, a non-breaking hyphen … passed the scrub. Typed into a free-text field, a code, a
    date, an extra column and a malformed line, each is now its pseudonym in every table."""
    folder = write_delivery(tmp_path / "d", {
        "treatment_courses": [f"1203614417;K9001;andet;Reg {typed};16-09-2024;;1;21"],
        "drugs": [f"K1001;L01AA01;drug {typed};1;mg;1", f"K1001;{typed};x;1;mg;1"],
        "labs": [f"1203614417;{typed};ldh;1;U/L", f"{typed}03-09-2024;ldh;1;U/L"],  # bad date; malformed
        "departments": [f"4202011;Afd {typed};Hosp;Syddanmark"],
    }, replace={"anthropometrics": ["cpr;measure_date;height_cm;weight_kg;note", f"1203614417;08-02-2025;181;86,5;{typed}"]},
        manifest=False)
    con = stage(folder, tmp_path / "db.duckdb")
    hay = tables(con)
    assert clear(hay, {digits}) == []
    assert pseudonym(KEY, digits) in hay["stg_treatment_courses"]  # the pseudonym, so it can be joined


def test_the_malformed_cytogenetics_line_of_synth_seed_3_is_pseudonymised():
    """Issue 13, 1: ``130647310004-06-2017;gain1q;pos;`` (separator missing, the CPR touches
    the date) stayed clear in quarantine.csv, raw_cytogenetics and stg_quarantine."""
    raw = "cpr;sample_date;aberration;result;clonal_fraction_pct\n130647310004-06-2017;gain1q;pos;\n".encode()
    frame, _ = read_raw("cytogenetics.csv", raw, FILES_BY_NAME["cytogenetics"], Pseudonymiser(KEY))
    record = raw_rows(FILES_BY_NAME["cytogenetics"], frame)["_record"][0]
    assert record == pseudonym(KEY, "1306473100") + "04-06-2017;gain1q;pos;"
    assert frame["_malformed"][0]


@pytest.mark.parametrize("header", ["cpr;sample_date;analysis;value;unit;pt0102031290;pt0102031290",
                                    "cpr;sample_date;analysis;value;unit;0102031290;0102031290"])
def test_a_refusal_quoting_a_header_holds_no_cpr(header):
    """Issue 13, 2: ``column 'pt0102031290' appears twice``."""
    raw = (header + "\n").encode()
    with pytest.raises(DeliveryRefused) as info:
        read_raw("labs.csv", raw, FILES_BY_NAME["labs"], Pseudonymiser(KEY))
    assert "appears twice" in str(info.value) and clear({"m": str(info.value)}, {"0102031290"}) == []


def test_a_refusal_quoting_a_zip_entry_holds_no_cpr(tmp_path):
    zpath = tmp_path / "delivery.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("DMDB/pt0102031290/../../x.csv", "x")
    with pytest.raises(DeliveryRefused, match="points outside its folder") as info:
        open_delivery(zpath)
    assert clear({"m": str(info.value)}, {"0102031290"}) == []


# --- 3: names from the delivery -----------------------------------------------------------------

@pytest.mark.parametrize("extract_id,problem", [
    ("x" * 2_000, "at most 64"),   # the 2 MB id (a 437 MB output folder) is refused as a manifest > 1 MiB
    (PATH_LIKE_EXTRACT_ID, "may hold only letters"),
    ("<script>alert(1)</script>", "may hold only letters"),
    ("a\nb", "may hold only letters"),
    (12, "must be a text"),
    (["DMDB"], "must be a text"),
])
def test_extract_id_must_be_a_short_safe_token(tmp_path, extract_id, problem):
    folder = write_delivery(tmp_path / "d", manifest={"extract_id": extract_id, "extracted_at": "2025-12-01"})
    for step in (lambda: peek_manifest(folder), lambda: open_delivery(folder), lambda: resolve_extract_date(folder, None)):
        with pytest.raises(DeliveryRefused, match=f"manifest.json: extract_id {problem}|manifest.json: extract_id .*{problem}"):
            step()


def test_names_with_a_cpr_are_pseudonymised_and_public_pages_show_a_safe_label(hostile_run):
    """Issue 13, 3: a CPR in the extract id, the delivery's folder name and an extra header was
    printed and written into run.json, DuckDB and every page, the public one included."""
    import duckdb

    from pipelines.lib.labels import extract_label

    assert hostile_run.returncode == 0, hostile_run.stderr[-2000:]
    record = json.loads((hostile_run.out / "run.json").read_text())
    label = extract_label(record["extract_date"], {n: f["sha256"] for n, f in record["files"].items()})
    public = (hostile_run.out / "national_report_publication.html").read_text(encoding="utf-8")
    assert label in public and "DMDB" not in public and record["extract_id"] not in public
    # internal pages name the extract by its id, Danish date and checksum (issue 15); an id that held
    # a CPR (a pseudonym now) is left out: it would put another person's pseudonym on every page
    day, checksum = label.split(" · ")
    internal = (hostile_run.out / "dashboard.html").read_text(encoding="utf-8")
    assert f"Udtræk af {day} (kontrolsum {checksum})" in internal
    assert record["extract_id"] not in internal
    key = hostile_run.key.encode()
    with duckdb.connect(str(hostile_run.out / "audit.duckdb"), read_only=True) as con:
        extra = con.execute("select extra_columns from raw_file_info where file = 'anthropometrics.csv'").fetchone()[0]
    assert extra == ["pt" + pseudonym(key, "1505702223")]
    assert f"delivery DMDB-{pseudonym(key, '1505702223')}," in hostile_run.stdout          # the extract id
    assert f"delivery DMDB-{pseudonym(key, '0807580128')}-hostile" in hostile_run.stderr   # the folder name


def test_inbox_names_with_a_cpr_never_reach_history_state_or_run_configuration(tmp_path, monkeypatch):
    """Issue 13, 3 (history.json) in the operations layer: a delivery whose folder name and
    extract id hold CPR numbers is recorded, observed (sensor cursor, inbox state) and handed to
    its Dagster run (run configuration, tags) under its shown name; the run finds it again."""
    from pipelines.operations.inbox import resolve
    from pipelines.operations.process import process_inbox
    from pipelines.operations.sensors import evaluate_inbox
    from tests.operations.ops_helpers import FakeAudit, delivery

    monkeypatch.setenv("MYELOMA_AUDIT_KEY", ENV_KEY)
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    folder = delivery(inbox / "DMDB-0807580128-2026-11-01", extract_id="DMDB-1505702223")
    sensor = evaluate_inbox(None, inbox, results, now=time.time(), settle=0, give_up=3600)
    [request] = sensor.run_requests
    ref = request.run_config["resources"]["audit_settings"]["config"]["extract_path"]
    assert resolve(ref) == folder
    fake = FakeAudit()
    report = process_inbox(inbox, results, job=fake.job, settle_seconds=0)
    assert len(report["published"]) == 1 and fake.calls[0]["extract"] == folder  # the run finds it again
    hay = {"history.json": (results / "history.json").read_text(), "state": (results / ".inbox-state.json").read_text(),
           "cursor": sensor.cursor, "run config": json.dumps(request.run_config), "tags": json.dumps(request.tags),
           "run key": request.run_key}
    assert clear(hay, {"0807580128", "1505702223"}) == []
    assert "DMDB-" + pseudonym(ENV_KEY.encode(), "1505702223") in hay["history.json"]


# --- 4: data loss -------------------------------------------------------------------------------

def published_results(out: Path) -> dict[str, bytes]:
    staging = incoming_dir(out)
    (staging / "run.json").write_text('{"earlier": true}')
    (staging / "patient_results.csv").write_text("pseudonym\n")
    publish(staging, out)
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_a_delivery_copied_into_the_output_folder_is_never_deleted(tmp_path, monkeypatch):
    """Issue 13, 4: ``cp -a delivery out/incoming && myeloma-audit run --extract out/incoming
    --out out`` exited 0 and the delivery was gone."""
    out = tmp_path / "out"
    before = published_results(out)
    shutil.copytree(write_delivery(tmp_path / "delivery"), out / "incoming")
    code, _, err = cli(["run", "--extract", str(out / "incoming"), "--out", str(out)], monkeypatch)
    assert code == 1 and "lies inside the output folder" in one_line(err)
    assert (out / "incoming" / "labs.csv").is_file()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_an_output_folder_holding_anything_else_is_never_replaced(tmp_path, monkeypatch):
    out = tmp_path / "out"
    published_results(out)
    (out / "my notes.txt").write_text("mine")
    code, _, err = cli(["run", "--extract", str(write_delivery(tmp_path / "d")), "--out", str(out)], monkeypatch)
    assert code == 1 and "my notes.txt (added)" in one_line(err)
    assert (out / "my notes.txt").read_text() == "mine" and (out / FILE_LIST).is_file()


# --- 5: zips that lie ---------------------------------------------------------------------------

def set_central_sizes(path: Path, member: str, file_size: int) -> None:
    data = bytearray(path.read_bytes())
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46: pos + 46 + name_len]) == member.encode():
            struct.pack_into("<I", data, pos + 24, file_size)
            path.write_bytes(bytes(data))
            return
        pos += 4
    raise AssertionError(member)


# The child's own peak (VmHWM of its memory after exec): ru_maxrss would include the parent's
# peak, which Linux carries across fork and exec.
READ_IN_CHILD = """
import re, sys
from pathlib import Path
from pipelines.ingest.delivery import open_delivery
from pipelines.lib.errors import DeliveryRefused
try:
    open_delivery(Path(sys.argv[1]))
    print("accepted")
except DeliveryRefused as err:
    print(err)
status = Path("/proc/self/status").read_text()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


@pytest.mark.slow
def test_a_gigabyte_of_zeros_declared_as_9641_bytes_is_refused_in_bounded_memory(tmp_path):
    """Issue 13, 5: the member was read whole (2.26 GB) before it was refused. Members are now
    decompressed in chunks and counted, so memory stays near what the process needs anyway."""
    folder = write_delivery(tmp_path / "folder")
    zpath = tmp_path / "DMDB-BOMB.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(folder.iterdir()):
            if path.name != "labs.csv":
                zf.write(path, "DMDB-BOMB/" + path.name)
        with zf.open("DMDB-BOMB/labs.csv", "w") as member:
            chunk = b"\0" * (1 << 24)
            for _ in range(64):
                member.write(chunk)
    set_central_sizes(zpath, "DMDB-BOMB/labs.csv", 9641)
    proc = subprocess.run([sys.executable, "-c", READ_IN_CHILD, str(zpath)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    message, peak_mb = proc.stdout.strip().splitlines()
    assert message.startswith("delivery refused: DMDB-BOMB.zip:"), proc.stdout + proc.stderr
    assert int(peak_mb) < 400, f"peak RSS {peak_mb} MB"


def test_a_bomb_refusal_says_its_size_readably(tmp_path):
    """Issue 13, 5: the refusal read ``expands suspiciously (<cpr> bytes)``."""
    from tests.hardening.test_zip_safety import make_zip, set_sizes

    zpath = make_zip(tmp_path, [("DMDB-TEST/padding.bin", b"\0" * 1000)])
    set_sizes(zpath, "DMDB-TEST/padding.bin", file_size=1_073_741_824)
    with pytest.raises(DeliveryRefused, match=r"expands suspiciously \(declares 1,073,741,824 bytes") as info:
        open_delivery(zpath)
    assert "<cpr>" not in str(info.value)


def test_a_member_producing_more_than_the_file_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MYELOMA_AUDIT_MAX_FILE_BYTES", "100")
    from tests.hardening.test_zip_safety import make_zip

    zpath = make_zip(tmp_path)
    with pytest.raises(DeliveryRefused, match="DMDB-TEST.zip: zip entry .* at most 100 bytes are allowed"):
        open_delivery(zpath)
    with pytest.raises(DeliveryRefused, match=r"\.csv: the file is .* at most 100 bytes are allowed \(MYELOMA_AUDIT_MAX_FILE_BYTES\)"):
        open_delivery(tmp_path / "folder")


# --- 6: internal errors that are refusals now ---------------------------------------------------

def test_an_encrypted_member_is_refused(tmp_path):
    """Issue 13, 6: ``RuntimeError … is encrypted`` (internal error)."""
    from tests.hardening.test_zip_safety import make_zip

    zpath = make_zip(tmp_path)
    data = bytearray(zpath.read_bytes())
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:  # flag bit 0 (encrypted) on every entry
        struct.pack_into("<H", data, pos + 8, struct.unpack_from("<H", data, pos + 8)[0] | 1)
        pos += 4
    zpath.write_bytes(bytes(data))
    with pytest.raises(DeliveryRefused, match="DMDB-TEST.zip: zip entry .* is encrypted"):
        open_delivery(zpath)


@pytest.mark.parametrize("manifest,problem", [
    ('{"extracted_at": "2025-12-01", "files": {"labs.csv": {"rows": ' + "9" * 5001 + "}}}",
     "a number has 5,001 digits; at most 18 are allowed"),
    ('{"files": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested 100,001 levels deep; at most 16 are allowed"),
    ('{"extracted_at": "2025-12-01", "extracted_at": "2099-01-01"}', "the key 'extracted_at' appears twice"),
    ('{"files": {"labs.csv": {"rows": NaN}}}', "NaN is not a JSON number"),
    ('{"files": {}, "pad": "' + "x" * (2 * 1024**2) + '"}', "at most 1,048,576 bytes are allowed"),
])
def test_manifest_bounds_are_refusals_naming_the_limit(tmp_path, manifest, problem):
    """Issue 13, 6: 5,001 digits (``Exceeds the limit (4300 digits)``), 100k deep
    (``RecursionError``) were internal errors."""
    folder = write_delivery(tmp_path / "d", manifest=False)
    (folder / "manifest.json").write_text(manifest, encoding="utf-8")
    for step in (lambda: resolve_extract_date(folder, date(2025, 12, 1)), lambda: open_delivery(folder)):
        with pytest.raises(DeliveryRefused, match="manifest.json") as info:
            step()
        assert problem in str(info.value)


@pytest.mark.parametrize("columns,problem", [
    (1_000_000, r"labs.csv, line 1: the header line is 7,888,925 characters long; at most 1,000,000"),
    (5_000, r"labs.csv, line 1: the header has 5,005 columns; at most 1,000"),
])
def test_a_million_column_header_is_refused_at_once(columns, problem):
    """Issue 13, 6: 6 GB of memory, then a 9-line OutOfMemoryException."""
    raw = ("cpr;sample_date;analysis;value;unit;" + ";".join(f"c{i}" for i in range(columns)) + "\n").encode()
    started = time.monotonic()
    with pytest.raises(DeliveryRefused, match=problem):
        read_raw("labs.csv", raw, FILES_BY_NAME["labs"], Pseudonymiser(KEY))
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("line,problem", [
    ("1203614417;03-09-2024;b2m;" + "9" * (limits.MAX_FIELD_CHARS + 1) + ";mg/L", "line 2, column value: the field is longer"),
    ("x" * (limits.MAX_LINE_CHARS + 1), "line 2: the line is longer than 1,000,000 characters"),
    ("1203614417;" + "y" * (limits.MAX_FIELD_CHARS + 1), "line 2: a field is longer than 10,000"),  # malformed
])
def test_lines_and_fields_beyond_the_limit_are_refused_naming_them(line, problem):
    raw = ("cpr;sample_date;analysis;value;unit\n" + line + "\n").encode()
    with pytest.raises(DeliveryRefused, match="labs.csv") as info:
        read_raw("labs.csv", raw, FILES_BY_NAME["labs"], Pseudonymiser(KEY))
    assert problem in str(info.value)


def test_a_column_name_beyond_the_limit_is_refused():
    raw = ("cpr;sample_date;analysis;value;unit;" + "n" * 300 + "\n").encode()
    with pytest.raises(DeliveryRefused, match="column name 6 is 300 characters long; at most 200"):
        read_raw("labs.csv", raw, FILES_BY_NAME["labs"], Pseudonymiser(KEY))


@pytest.mark.parametrize("out", ["a\\b", "line\nbreak"])
def test_an_output_path_duckdb_cannot_take_is_refused_before_anything_is_created(tmp_path, monkeypatch, out):
    """Issue 13, 6: a backslash in --out failed after 105 s (DuckDB turns it into /)."""
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = cli(["run", "--extract", str(write_delivery(tmp_path / "d")), "--out", str(tmp_path / out)],
                       monkeypatch)
    assert code == 1 and "choose" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["d"])


@pytest.mark.slow
def test_an_output_path_with_pattern_characters_publishes_and_compares(tmp_path):
    """Found while replaying class 6: DuckDB reads a ``?`` in the database path as options
    (refused above); polars reads ``*``, ``[``, ``{`` in the previous results' path as a
    pattern, so the second run into such a folder failed. The run now reads a private copy."""
    from pipelines.audit import run_audit

    delivery = write_delivery(tmp_path / "d")
    out = tmp_path / "odd [x] {a} *%s $HOME æ ~ 'q' #" / "out*"
    run_audit(delivery, out, key=b"example-key")
    summary = run_audit(delivery, out, key=b"example-key")
    assert "patient_results.csv" in summary.outputs
    assert [p.name for p in (out.parent / ".out*.myeloma-audit").iterdir()] == ["lock"]


def test_an_unwritable_parent_folder_is_one_line(tmp_path, monkeypatch):
    """Issue 13, 6: a read-only parent folder ended in ``PermissionError`` (internal error).
    As root mode bits do not stop a write, so both ways are forced: the pre-check (os.access)
    and an OSError where the folder is created."""
    delivery = write_delivery(tmp_path / "d")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **kw: False if str(p) == str(tmp_path / "ro") else real_access(p, m))
    (tmp_path / "ro").mkdir()
    code, _, err = cli(["run", "--extract", str(delivery), "--out", str(tmp_path / "ro" / "out")], monkeypatch)
    assert code == 1 and "is not writable (permission denied or a read-only file system)" in one_line(err)

    real_mkdir = os.mkdir

    def refuse(path, *args, **kw):
        if str(path).startswith(str(tmp_path / "ro2")):
            raise PermissionError(13, "Permission denied", str(path))
        return real_mkdir(path, *args, **kw)

    monkeypatch.setattr(os, "mkdir", refuse)
    code, _, err = cli(["run", "--extract", str(delivery), "--out", str(tmp_path / "ro2" / "out")], monkeypatch)
    assert code == 1 and "Permission denied" in one_line(err)


# --- 8: files outside --out -----------------------------------------------------------------------

def test_out_root_is_refused_and_creates_nothing(tmp_path, monkeypatch):
    """Issue 13, 8: ``--out /`` left ``/..lock``."""
    code, _, err = cli(["run", "--extract", str(write_delivery(tmp_path / "d")), "--out", "/"], monkeypatch)
    assert code == 1 and "cannot be the output folder" in one_line(err)
    assert not Path("/..lock").exists() and not Path("/.myeloma-audit").exists() and not Path("/..myeloma-audit").exists()


def test_a_link_planted_at_the_lock_is_not_followed_by_the_command(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (tmp_path / ".out.myeloma-audit").mkdir(mode=0o700)
    (tmp_path / ".out.myeloma-audit" / "lock").symlink_to(victim)
    code, _, err = cli(["run", "--extract", str(write_delivery(tmp_path / "d")), "--out", str(tmp_path / "out")],
                       monkeypatch)
    assert code == 1 and "cannot open the lock" in one_line(err)
    assert victim.read_text() == "keep" and not (tmp_path / "out").exists()


# --- 9: manifest values --------------------------------------------------------------------------

@pytest.mark.parametrize("value,problem", [
    ("2099-01-01", "the extract date 2099-01-01 is in the future"),
    ((date.today() + timedelta(days=3)).isoformat(), "is in the future"),
    ("2026-11-01T99:99 garbage", "is not a real date"),
    ("2026-11-01T99:99", "is not a real date"),
    ("2026-02-30", "is not a real date"),
    ("01-12-2025", "is not a real date"),
    (20251201, "must be a text"),
])
def test_extracted_at_must_be_a_real_date_not_in_the_future(tmp_path, value, problem):
    with pytest.raises(DeliveryRefused, match="manifest.json") as info:
        parse_extracted_at(value)
    assert problem in str(info.value)
    folder = write_delivery(tmp_path / "d", manifest={"extract_id": "X", "extracted_at": value})
    with pytest.raises(DeliveryRefused, match=problem):
        resolve_extract_date(folder, None)


def test_an_iso_date_and_time_is_a_real_date():
    assert parse_extracted_at("2025-12-01T06:30:00+01:00") == date(2025, 12, 1)


def test_a_future_extract_date_on_the_command_line_is_refused(tmp_path):
    folder = write_delivery(tmp_path / "d", manifest=False)
    with pytest.raises(DeliveryRefused, match="--extract-date: the extract date 2099-01-01 is in the future"):
        resolve_extract_date(folder, date(2099, 1, 1))


def test_an_extract_date_before_most_dated_rows_is_refused_at_ingest():
    """Issue 13, 9: ``extracted_at`` 0001-01-01 quarantined 7,445 of 7,475 rows and published
    the rest with exit 0. The date is wrong, not the rows: refused."""
    from pipelines.ingest.delivery import check_extract_date_plausible
    from tests.delivery_builder import BASE

    facts = {}
    for name, lines in BASE.items():
        raw = ("\n".join(lines) + "\n").encode()
        _, facts[name] = read_raw(f"{name}.csv", raw, FILES_BY_NAME[name], Pseudonymiser(KEY), date(1, 1, 1))
    with pytest.raises(DeliveryRefused, match=r"manifest.json: the extract date 0001-01-01 is before 2\d of the 2\d dated rows"):
        check_extract_date_plausible(date(1, 1, 1), facts, "manifest.json")
    check_extract_date_plausible(date(2025, 12, 1), {n: read_raw(f"{n}.csv", ("\n".join(lines) + "\n").encode(),
                                                                 FILES_BY_NAME[n], Pseudonymiser(KEY), date(2025, 12, 1))[1]
                                                     for n, lines in BASE.items()}, "manifest.json")


@pytest.mark.slow
def test_extract_date_0001_01_01_refuses_the_whole_run(tmp_path, monkeypatch):
    folder = write_delivery(tmp_path / "d", manifest={"extract_id": "EARLY", "extracted_at": "0001-01-01"})
    code, _, err = cli(["run", "--extract", str(folder), "--out", str(tmp_path / "out")], monkeypatch)
    assert code == 1
    assert "manifest.json: the extract date 0001-01-01 is before" in one_line(err)
    assert not (tmp_path / "out").exists()


# --- 10: smaller ----------------------------------------------------------------------------------

def test_cr_only_line_ends_are_named_as_such():
    """Issue 13, 10: reported as ``column 'm' appears twice``."""
    raw = "cpr;sex;birth_date;death_date\r1203614417;M;12-03-1961;\r0807580128;K;08-07-1958;\r".encode()
    with pytest.raises(DeliveryRefused, match="patients.csv, line 1: .* bare CR"):
        read_raw("patients.csv", raw, FILES_BY_NAME["patients"], Pseudonymiser(KEY))


def test_check_extract_id_accepts_the_ids_registries_use():
    for good in ("DMDB-2026-11-01", "SYNTH-2026-2026-11-01", "DECK-2026-11-01", "TEST-1", "a.b_c-1"):
        assert check_extract_id(good) == good


def test_duckdb_gets_a_memory_limit_and_spills_into_the_runs_folder(tmp_path, monkeypatch):
    """Bounded resources: DuckDB is given a memory limit (half the machine, or the setting) and
    a temp directory inside the run's folder, so beyond the limit it spills instead of taking
    the machine."""
    from pipelines.resources import duckdb_memory_limit, duckdb_resource

    for given, expected in (("", duckdb_memory_limit()), ("1GB", "1GB")):
        monkeypatch.setenv("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", given)
        database = tmp_path / f"a{len(given)}.duckdb"
        resource = duckdb_resource(database, temp_directory=tmp_path / "spill")  # as each run opens its own
        with resource.get_connection() as con:
            limit, temp = con.execute("select current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
        assert temp == str(tmp_path / "spill")
        import duckdb

        with duckdb.connect(config={"memory_limit": expected}) as reference:
            assert limit == reference.execute("select current_setting('memory_limit')").fetchone()[0]
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    monkeypatch.delenv("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT")
    assert int(duckdb_memory_limit().removesuffix("MB")) == max(total // 2 // 1024**2, 1024)
