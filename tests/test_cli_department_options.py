"""The command's options for the department outputs (issue 15): ``--period`` and the opt-in
re-identification key ``MYELOMA_AUDIT_REID_KEY``, refused before anything is created when
they cannot be used."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from pipelines import cli
from pipelines.lib.vault import REID_KEY_ENV
from pipelines.reports.writer import write_departments
from tests.reports.report_rows import connect

KEY = "cli-test-key-of-at-least-32-bytes!!"


def test_help_names_the_period_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = capsys.readouterr().out
    assert "--period" in text and "12m" in text and "2026-10" in text


def test_a_period_of_another_form_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--period", "2026-13", "--out", str(tmp_path / "out")])
    assert info.value.code == 2 and "no such month" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_period_after_the_extract_date_is_refused_before_anything_is_created(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(REID_KEY_ENV, raising=False)
    code = cli.main(["run", "--period", "2027", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "period 2027 begins after the extract date 2026-11-01" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value, message", [("short", "is 5 bytes long; the re-identification key must be at least 32"),
                                            (KEY, "must not be the pseudonym key")])
def test_a_weak_re_identification_key_is_refused_before_anything_is_created(tmp_path, monkeypatch, capsys,
                                                                             value, message):
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", KEY)
    monkeypatch.setenv(REID_KEY_ENV, value)
    code = cli.main(["run", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and message in err and 'secrets.token_urlsafe(32)' in err
    assert value not in err.replace(message, "") or value == "short"
    assert list(tmp_path.iterdir()) == []


def row(pseudonym: str, status: str, day: date) -> dict:
    return {"pseudonym": pseudonym, "indicator_id": "MM01", "status": status, "reason_code": "X",
            "reason_text": "Anbefaling 1 (A): x", "index_date": day, "guideline_version": "v1.5",
            "department_code": "1301011", "risk": "standard", "risk_rules": "", "values_json": "{}"}


@pytest.mark.parametrize("period, listed", [("2026-10", {"Pa2", "Pa3"}), ("2026", {"Pa1", "Pa2", "Pa3"}),
                                            ("12m", {"Pa0", "Pa1", "Pa2", "Pa3"}), ("1m", {"Pa2", "Pa3"})])
def test_the_lists_cover_the_period_given(tmp_path, monkeypatch, period, listed):
    monkeypatch.delenv(REID_KEY_ENV, raising=False)
    rows = [row("Pa0", "not_met", date(2025, 11, 20)), row("Pa1", "unknown", date(2026, 3, 1)),
            row("Pa2", "not_met", date(2026, 10, 1)), row("Pa3", "justified", date(2026, 10, 31)),
            row("Pa4", "not_met", date(2025, 10, 31)), row("Pa5", "met", date(2026, 10, 15))]
    con = connect(tmp_path / "audit.duckdb", rows)  # no delivery: the extract date is the day after the last row
    values = write_departments(con, tmp_path / "out", period=period)
    found = list(csv.DictReader(io.StringIO((tmp_path / "out" / "departments" / "1301011" / "afvigelser.csv")
                                            .read_bytes()[3:].decode("utf-8")), delimiter=";"))
    assert {r["pseudonym"] for r in found} == listed and values["period"] == period
    record = json.loads((tmp_path / "out" / "comparison.json").read_text(encoding="utf-8"))
    assert record["period"]["period"] == period
