"""DAGSTER_HOME inside the project's working folder: ``<workdir>/.dagster_home`` keeps the run
history, schedule and sensor state (SQLite) across restarts. Its ``dagster.yaml`` turns
telemetry off and lets only one run at a time work on one results folder (the runs'
``myeloma-audit/results`` tag), so queued runs wait instead of meeting the output lock."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

HOME_DIRNAME = ".dagster_home"
LOCATION_NAME = "myeloma_audit"
DEFINITIONS_MODULE = "pipelines.definitions"

INSTANCE_CONFIG = {
    "telemetry": {"enabled": False},
    "concurrency": {"runs": {"tag_concurrency_limits": [
        {"key": "myeloma-audit/results", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]}},
}


def home_dir(workdir: Path) -> Path:
    return Path(workdir).absolute() / HOME_DIRNAME


def ensure_home(workdir: Path) -> Path:
    """Create ``<workdir>/.dagster_home`` with ``dagster.yaml`` and ``workspace.yaml``; an
    existing ``dagster.yaml`` is kept (a registry may have added storage settings) but
    telemetry is always switched off in it."""
    home = home_dir(workdir)
    home.mkdir(parents=True, exist_ok=True)
    config_path = home / "dagster.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.is_file() else None
    if not isinstance(config, dict):
        config = dict(INSTANCE_CONFIG)
    if config.get("telemetry") != {"enabled": False} or not config_path.is_file():
        config["telemetry"] = {"enabled": False}
        _write(config_path, "# written by myeloma-audit; telemetry stays off\n" + yaml.safe_dump(config, sort_keys=False))
    workspace = {"load_from": [{"python_module": {"module_name": DEFINITIONS_MODULE, "location_name": LOCATION_NAME,
                                                  "working_directory": str(Path(workdir).absolute())}}]}
    _write(home / "workspace.yaml", yaml.safe_dump(workspace, sort_keys=False))
    return home


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def telemetry_disabled(home: Path) -> bool:
    config = yaml.safe_load((Path(home) / "dagster.yaml").read_text(encoding="utf-8")) or {}
    return config.get("telemetry", {}).get("enabled") is False
