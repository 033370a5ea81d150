"""DAGSTER_HOME in the working folder with telemetry off, and the ui / inbox commands."""

import argparse
from datetime import date

import pytest
import yaml

from pipelines.lib.errors import AuditError
from pipelines.operations import commands, process
from pipelines.operations.commands import add_inbox_command, add_ui_command, ui_environment
from pipelines.operations.home import ensure_home, telemetry_disabled
from tests.operations.ops_helpers import FakeAudit, delivery


def parse(argv):
    parser = argparse.ArgumentParser(prog="myeloma-audit")
    sub = parser.add_subparsers(dest="command", required=True)
    add_ui_command(sub)
    add_inbox_command(sub)
    return parser.parse_args(argv)


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


def test_ui_on_the_sample_binds_locally_with_the_demo_key(tmp_path, monkeypatch):
    monkeypatch.delenv("MYELOMA_AUDIT_KEY", raising=False)
    command, env, workdir, notes = ui_environment(parse(["ui", "--workdir", str(tmp_path), "--port", "3123"]))
    assert command[1:] == ["-m", "dagster", "dev", "-w", str(tmp_path / ".dagster_home" / "workspace.yaml"),
                           "-h", "127.0.0.1", "-p", "3123"]
    assert env["DAGSTER_HOME"] == str(tmp_path / ".dagster_home")
    assert env["MYELOMA_AUDIT_KEY"].startswith("myeloma-audit-demo-key")
    assert "MYELOMA_AUDIT_INBOX" not in env and workdir == tmp_path
    assert any("demo key" in n for n in notes)


def test_ui_with_an_inbox_needs_the_real_key_and_never_uses_the_demo_key(tmp_path, monkeypatch):
    monkeypatch.delenv("MYELOMA_AUDIT_KEY", raising=False)
    args = ["ui", "--workdir", str(tmp_path), "--inbox", str(tmp_path / "in"), "--results", str(tmp_path / "res")]
    with pytest.raises(AuditError, match="MYELOMA_AUDIT_KEY is not set"):
        ui_environment(parse(args))
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "registry-key")
    with pytest.raises(AuditError, match="at least 32 bytes"):  # issue 13: a short key is refused with a hint
        ui_environment(parse(args))
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "registry-key-" + "r" * 32)
    _, env, _, _ = ui_environment(parse(args))
    assert env["MYELOMA_AUDIT_INBOX"] == str(tmp_path / "in") and env["MYELOMA_AUDIT_RESULTS"] == str(tmp_path / "res")
    assert env["MYELOMA_AUDIT_KEY"] == "registry-key-" + "r" * 32
    with pytest.raises(AuditError, match="--inbox and --results together"):
        ui_environment(parse(["ui", "--workdir", str(tmp_path), "--inbox", str(tmp_path / "in")]))


def test_inbox_command_prints_what_happened_and_exits_1_on_a_refusal(tmp_path, monkeypatch, capsys):
    from pipelines.lib.errors import DeliveryRefused

    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "DMDB-2026-11-01")
    delivery(inbox / "DMDB-2026-12-01", extract_id="DMDB-2026-12-01", extracted_at=date(2026, 12, 1))
    fake = FakeAudit(fail=[None, DeliveryRefused("labs.csv", "line 7: date 31-02-2026 does not exist")])
    monkeypatch.setattr(process, "_default_audit", lambda: fake)
    argv = ["inbox", "--inbox", str(inbox), "--results", str(results)]
    assert commands.main(argv) == 1
    out = capsys.readouterr().out
    assert "published  2026-11  DMDB-2026-11-01" in out
    assert "refused    2026-12  DMDB-2026-12-01: delivery refused: labs.csv: line 7: date 31-02-2026 does not exist" in out
    assert commands.main(argv) == 0
    assert "nothing new" in capsys.readouterr().out
