"""DAGSTER_HOME in the working folder with telemetry off, and the ui / inbox commands."""

import json
from datetime import date

import pytest
import yaml

from pipelines import cli
from pipelines.operations.home import ensure_home, telemetry_disabled, ui_environment
from pipelines.operations.history import ResultsStore
from tests.delivery_builder import write_delivery
from tests.operations.ops_helpers import delivery

KEY = "registry-key-" + "r" * 32


def test_dagster_home_is_in_the_working_folder_with_telemetry_off(tmp_path):
    home = ensure_home(tmp_path)
    assert home == tmp_path / ".dagster_home"
    assert telemetry_disabled(home)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["concurrency"]["runs"]["tag_concurrency_limits"][0]["key"] == "myeloma-audit/results"
    workspace = yaml.safe_load((home / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    assert workspace == {"module_name": "pipelines.definitions", "location_name": "myeloma_audit",
                         "working_directory": str(tmp_path)}
    # a registry's own settings survive; telemetry is switched off again if someone turned it on
    (home / "dagster.yaml").write_text(yaml.safe_dump({"telemetry": {"enabled": True},
                                                       "run_monitoring": {"enabled": True}}))
    ensure_home(tmp_path)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["telemetry"] == {"enabled": False} and config["run_monitoring"] == {"enabled": True}


def test_ui_on_the_sample_binds_locally_and_leaves_the_key_to_the_run(tmp_path):
    command, env, notes = ui_environment(tmp_path, "127.0.0.1", 3123, environ={"PATH": "/bin"})
    assert command[1:] == ["-m", "dagster", "dev", "-w", str(tmp_path / ".dagster_home" / "workspace.yaml"),
                           "-h", "127.0.0.1", "-p", "3123"]
    assert env["DAGSTER_HOME"] == str(tmp_path / ".dagster_home")
    # the key resource chooses the demo key for the bundled sample when the run starts
    assert "MYELOMA_AUDIT_KEY" not in env and "MYELOMA_AUDIT_INBOX" not in env
    assert any("demo key" in n for n in notes) and any(str(tmp_path / "out") in n for n in notes)


def test_ui_with_an_inbox_needs_the_real_key(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MYELOMA_AUDIT_KEY", raising=False)
    args = ["ui", "--workdir", str(tmp_path), "--inbox", str(tmp_path / "in"), "--results", str(tmp_path / "res")]
    assert cli.main(args) == 1
    assert "MYELOMA_AUDIT_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "registry-key")
    assert cli.main(args) == 1  # issue 13: a short key is refused with a hint
    assert "at least 32 bytes" in capsys.readouterr().err
    assert cli.main(["ui", "--workdir", str(tmp_path), "--inbox", str(tmp_path / "in")]) == 1
    assert "--inbox and --results together" in capsys.readouterr().err
    _, env, _ = ui_environment(tmp_path, "127.0.0.1", 3000, tmp_path / "in", tmp_path / "res", environ={"X": "1"})
    assert env["MYELOMA_AUDIT_INBOX"] == str(tmp_path / "in") and env["MYELOMA_AUDIT_RESULTS"] == str(tmp_path / "res")


@pytest.mark.slow
def test_inbox_command_prints_what_happened_and_exits_1_on_a_refusal(tmp_path, monkeypatch, capsys):
    """Two real audit_job runs in this process: November publishes, December is refused."""
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", KEY)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "DMDB-2026-11-01")
    december = write_delivery(inbox / "DMDB-2026-12-01", extract_date=date(2026, 12, 1),
                              replace={"labs": ["cpr;sample_date;analysis;value", "1203614417;03-09-2024;b2m;3"]})
    manifest = json.loads((december / "manifest.json").read_text())
    (december / "manifest.json").write_text(json.dumps({**manifest, "extract_id": "DMDB-2026-12-01"}))
    argv = ["inbox", "--inbox", str(inbox), "--results", str(results)]
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    assert "published  2026-11  DMDB-2026-11-01" in out
    assert "refused    2026-12  DMDB-2026-12-01: delivery refused: labs.csv, line 1, column unit" in out
    store = ResultsStore(results)
    assert [r["status"] for r in store.records()] == ["published", "refused"]
    assert cli.main(argv) == 0
    assert "nothing new" in capsys.readouterr().out
