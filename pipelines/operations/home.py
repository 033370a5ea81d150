"""DAGSTER_HOME inside the project's working folder: ``<workdir>/.dagster_home`` keeps the run
history, schedule and sensor state (SQLite) across restarts. Its ``dagster.yaml`` turns
telemetry off and lets only one run at a time work on one results folder (the runs'
``myeloma-audit/results`` tag), so queued runs wait instead of meeting the output lock.
Results never go here, and Dagster's storage never goes into a results folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from pipelines.lib.environment import KEY_ENV
from pipelines.operations.settings import INBOX_ENV, RESULTS_ENV

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


def ui_environment(workdir: Path, host: str, port: int, inbox: Path | None = None, results: Path | None = None,
                   environ: dict[str, str] | None = None) -> tuple[list[str], dict[str, str], list[str]]:
    """(command, environment, notes) for ``dagster dev`` on the code location, with its
    ``DAGSTER_HOME`` in ``workdir`` (created here). With an inbox and a results folder the
    sensor and the schedules find them in the environment (``settings.py``)."""
    environ = dict(os.environ if environ is None else environ)
    home = ensure_home(workdir)
    env = dict(environ, DAGSTER_HOME=str(home))
    notes = [f"DAGSTER_HOME={home} (telemetry off)"]
    if inbox is not None:
        env[INBOX_ENV], env[RESULTS_ENV] = str(Path(inbox).absolute()), str(Path(results).absolute())
        notes.append(f"inbox sensor and schedules on: inbox {env[INBOX_ENV]}, results {env[RESULTS_ENV]}")
    else:
        env.pop(INBOX_ENV, None)
        env.pop(RESULTS_ENV, None)
        if not environ.get(KEY_ENV):
            notes.append(f"{KEY_ENV} not set: the documented demo key is used (bundled synthetic sample only)")
        notes.append(f"no --inbox: \"Materialize all\" audits the bundled synthetic sample into {Path(workdir) / 'out'}")
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(home / "workspace.yaml"), "-h", host, "-p", str(port)]
    return command, env, notes
