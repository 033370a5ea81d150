"""End to end on a synthetic delivery: the generator knows, row by row, which dirty rows it
wrote and why; the pipeline must quarantine exactly those (per file and reason), collapse
exactly the exact duplicates, and reconcile every file."""

import csv
import json
from collections import Counter

from pipelines.audit import run_audit
from pipelines.synth.generator import write_delivery_with_stats


def test_pipeline_quarantines_exactly_what_the_generator_made_dirty(tmp_path):
    _, stats = write_delivery_with_stats(tmp_path / "delivery", 1500, seed=11)
    run_audit(tmp_path / "delivery", tmp_path / "out", key=b"synthetic-key")

    with open(tmp_path / "out" / "quarantine.csv", encoding="utf-8") as handle:
        got = Counter((row["file"].removesuffix(".csv"), row["reason_code"]) for row in csv.DictReader(handle))
    expected = Counter({(file, reason): n for file, reasons in stats["expected_quarantine"].items()
                        for reason, n in reasons.items() if n})
    assert got == expected

    record = json.loads((tmp_path / "out" / "run.json").read_text())
    for name, counts in record["files"].items():
        assert counts["duplicates_collapsed"] == stats["exact_duplicates"][name.removesuffix(".csv")], name
        assert counts["rows_in"] == counts["rows_clean"] + counts["rows_quarantined"] + counts["duplicates_collapsed"]


def test_bundled_sample_runs_with_the_demo_key_and_says_so(tmp_path, monkeypatch, capsys):
    from pipelines import cli

    monkeypatch.delenv("MYELOMA_AUDIT_KEY", raising=False)
    assert cli.main(["run", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "demo pseudonym key" in captured.err
    assert "rows read" in captured.out
    statuses = {line.split(",")[2] for line in (tmp_path / "out" / "patient_results.csv").read_text().splitlines()[1:]}
    assert {"met", "not_met", "excluded"} <= statuses
