"""``myeloma-audit ui`` and ``myeloma-audit inbox``: add them to the command's subparsers with
``add_ui_command(sub)`` / ``add_inbox_command(sub)``; each sets ``handler`` (args → exit code)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipelines.lib.errors import AuditError

WEBSERVER_PIN = "dagster-webserver==1.13.27"


def add_ui_command(subparsers) -> argparse.ArgumentParser:
    ui = subparsers.add_parser(
        "ui", help="start the Dagster UI (dagster dev) with run history, schedules and the inbox sensor",
        description="Start dagster dev on pipelines.definitions with DAGSTER_HOME in <workdir>/.dagster_home "
                    "(telemetry off, run history kept). Without --inbox it shows the bundled synthetic sample "
                    "(materialize it from the asset graph; the demo key is used when MYELOMA_AUDIT_KEY is not set). "
                    "With --inbox and --results the inbox sensor and both schedules are switched on. The daemon "
                    "inside dagster dev fires them; stop with Ctrl-C.",
    )
    ui.add_argument("--port", type=int, default=3000, help="web port (default 3000)")
    ui.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only; the UI shows pseudonymised "
                         "results and has no login)")
    ui.add_argument("--workdir", type=Path, default=Path("."), metavar="DIR",
                    help="working folder: holds .dagster_home/ and out/dagster/ (default: the current folder)")
    ui.add_argument("--inbox", type=Path, metavar="DIR", help="inbox folder deliveries are dropped into")
    ui.add_argument("--results", type=Path, metavar="DIR", help="results folder (periods/, national/, history.json)")
    ui.set_defaults(handler=run_ui)
    return ui


def add_inbox_command(subparsers) -> argparse.ArgumentParser:
    from pipelines.operations.inbox import DEFAULT_GIVE_UP_SECONDS, DEFAULT_SETTLE_SECONDS
    from pipelines.operations.process import DEFAULT_WAIT_FOR_LOCK_SECONDS

    inbox = subparsers.add_parser(
        "inbox", help="audit every complete new delivery in an inbox folder once (no daemon needed)",
        description="One pass over the inbox, as the inbox sensor does it: every complete delivery (folder or "
                    ".zip) not handled before is audited into <results>/periods/<YYYY-MM> (a corrected "
                    "re-delivery of a period replaces that period's results), recorded in <results>/history.json, "
                    "and <results>/latest points at the newest good results. Half-copied deliveries are left for "
                    "the next pass; refused ones are reported and not tried again. Suits cron. Exit code 1 when "
                    "a delivery was refused or failed in this pass.",
    )
    inbox.add_argument("--inbox", type=Path, required=True, metavar="DIR", help="inbox folder")
    inbox.add_argument("--results", type=Path, required=True, metavar="DIR", help="results folder")
    inbox.add_argument("--settle", type=float, default=DEFAULT_SETTLE_SECONDS, metavar="SECONDS",
                       help=f"a delivery without manifest.json must stay unchanged this long (default {DEFAULT_SETTLE_SECONDS})")
    inbox.add_argument("--give-up", type=float, default=DEFAULT_GIVE_UP_SECONDS, metavar="SECONDS",
                       help="an incomplete delivery unchanged this long is refused with its reason "
                            f"(default {DEFAULT_GIVE_UP_SECONDS})")
    inbox.add_argument("--wait-for-lock", type=float, default=DEFAULT_WAIT_FOR_LOCK_SECONDS, metavar="SECONDS",
                       help="wait this long for another run publishing to the same period "
                            f"(default {DEFAULT_WAIT_FOR_LOCK_SECONDS})")
    inbox.add_argument("--no-wait", action="store_true",
                       help="do not wait for deliveries without manifest to settle; leave them for the next pass")
    inbox.add_argument("--retry-failed", action="store_true",
                       help="try again deliveries whose run failed for a reason outside the delivery "
                            "(missing key, lock held); refused deliveries are never retried")
    inbox.set_defaults(handler=run_inbox)
    return inbox


def ui_environment(args: argparse.Namespace) -> tuple[list[str], dict[str, str], Path, list[str]]:
    """(command, environment, working folder, notes) for ``dagster dev``."""
    from pipelines.audit import DEMO_KEY
    from pipelines.lib.pseudonym import KEY_ENV, user_key_from_env
    from pipelines.operations.home import ensure_home
    from pipelines.operations.settings import INBOX_ENV, RESULTS_ENV

    if (args.inbox is None) != (args.results is None):
        raise AuditError("give --inbox and --results together (or neither, to look at the bundled sample)")
    user_key_from_env()  # a key that is set must be at least 32 bytes (refused with a hint otherwise)
    workdir = args.workdir.absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    home = ensure_home(workdir)
    env = dict(os.environ, DAGSTER_HOME=str(home))
    notes = [f"DAGSTER_HOME={home} (telemetry off)"]
    if args.inbox is not None:
        if not os.environ.get(KEY_ENV):
            raise AuditError(f"{KEY_ENV} is not set: the deliveries in the inbox need the registry's pseudonym key "
                             f"(export {KEY_ENV}=... before starting the UI; it is never printed or stored)")
        env[INBOX_ENV], env[RESULTS_ENV] = str(args.inbox.absolute()), str(args.results.absolute())
        args.inbox.mkdir(parents=True, exist_ok=True)
        args.results.mkdir(parents=True, exist_ok=True)
        notes.append(f"inbox sensor and schedules on: inbox {env[INBOX_ENV]}, results {env[RESULTS_ENV]}")
    else:
        env.pop(INBOX_ENV, None)
        env.pop(RESULTS_ENV, None)
        if not os.environ.get(KEY_ENV):
            env[KEY_ENV] = DEMO_KEY.decode("utf-8")
            notes.append(f"{KEY_ENV} not set: the documented demo key is used (bundled synthetic sample only)")
        notes.append("no --inbox: the asset graph runs the bundled synthetic sample into out/dagster/")
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(home / "workspace.yaml"),
               "-h", args.host, "-p", str(args.port)]
    return command, env, workdir, notes


def run_ui(args: argparse.Namespace) -> int:
    try:
        import dagster_webserver  # noqa: F401
    except ImportError:
        raise AuditError(f"the Dagster UI is not installed: pip install {WEBSERVER_PIN}") from None
    command, env, workdir, notes = ui_environment(args)
    for note in notes:
        print(note, file=sys.stderr)
    print(f"Dagster UI on http://{args.host}:{args.port} — Ctrl-C stops it", file=sys.stderr, flush=True)
    os.chdir(workdir)
    sys.stdout.flush()
    os.execve(command[0], command, env)  # dagster dev takes over this process (signals reach it directly)


def run_inbox(args: argparse.Namespace) -> int:
    from pipelines.lib.pseudonym import user_key_from_env
    from pipelines.operations.process import process_inbox

    user_key_from_env()  # a short key is refused before any delivery is looked at

    report = process_inbox(args.inbox, args.results, settle_seconds=args.settle, give_up_seconds=args.give_up,
                           wait_for_lock_seconds=args.wait_for_lock, retry_failed=args.retry_failed,
                           wait_to_settle=not args.no_wait)
    for record in report["published"]:
        print(f"published  {record['period']}  {record['delivery_id']}  → {record['out_dir']} ({record['seconds']:.0f} s)")
    for status in ("refused", "failed"):
        for record in report[status]:
            print(f"{status:<10} {record.get('period') or '?':<8} {record['delivery_id']}: {record['message']}")
    for entry in report["waiting"]:
        print(f"waiting    {entry['name']}: {entry['reason']}")
    if not any(report[k] for k in ("published", "refused", "failed", "waiting")):
        print(f"nothing new in {args.inbox}" + (f" ({len(report['already'])} handled before)" if report["already"] else ""))
    return 1 if report["refused"] or report["failed"] else 0


def main(argv: list[str] | None = None) -> int:
    """The two commands on their own (``python -m pipelines.operations.commands``), with the
    same handling of failures and stop signals as ``myeloma-audit``."""
    from pipelines.cli import run_guarded

    parser = argparse.ArgumentParser(prog="myeloma-audit")
    sub = parser.add_subparsers(dest="command", required=True)
    add_ui_command(sub)
    add_inbox_command(sub)
    return run_guarded(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
