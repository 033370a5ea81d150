"""The hand-made deck re-shaped as real deliveries arrive: Windows-1252, CRLF, every CPR
hyphenated, no manifest (extract date given as on the command line), zipped. The results
must be exactly the deck's hand-worked expectations."""

import csv
import re
import zipfile
from datetime import date
from pathlib import Path

from pipelines.audit import run_audit

DECK = Path(__file__).resolve().parents[1] / "data_samples" / "deck"
CPR_AT_LINE_START = re.compile(r"^(\d{6})(\d{4});", re.M)


def reshape(folder: Path) -> Path:
    folder.mkdir()
    for source in DECK.glob("*.csv"):
        if source.name == "expected_patient_results.csv":
            continue
        text = source.read_text(encoding="utf-8")
        text = CPR_AT_LINE_START.sub(r"\1-\2;", text).replace("\n", "\r\n")
        (folder / source.name).write_bytes(text.encode("cp1252"))
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{folder.name}/{path.name}")
    return archive


def rows(path: Path) -> set[tuple[str, ...]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return {(r["pseudonym"], r["indicator_id"], r["status"], r["reason_code"]) for r in csv.DictReader(handle)}


def test_real_shaped_deck_gives_the_hand_worked_results(tmp_path):
    archive = reshape(tmp_path / "DECK-cp1252")
    assert b"\r\n" in zipfile.ZipFile(archive).read("DECK-cp1252/patients.csv")
    summary = run_audit(archive, tmp_path / "out", key=b"deck-key", extract_date=date(2026, 11, 1))
    assert summary.rows["quarantined"] == 0
    assert {f["encoding"] for f in summary.files.values()} <= {"cp1252", "utf-8"}
    assert summary.files["departments.csv"]["encoding"] == "cp1252"
    assert rows(tmp_path / "out" / "patient_results.csv") == rows(DECK / "expected_patient_results.csv")
