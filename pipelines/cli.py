"""The ``myeloma-audit`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from pathlib import Path

from pipelines.lib import signals
from pipelines.lib.errors import AuditError
from pipelines.lib.pseudonym import KEY_ENV, scrub

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    from pipelines.audit import SAMPLE_DELIVERY

    parser = argparse.ArgumentParser(
        prog="myeloma-audit",
        description="Guideline-adherence audit (DMSG HDT guideline, indicators MM01-MM12) of a "
                    "delivery from the national myeloma database.",
        epilog=f"The pseudonym key is read from the environment variable {KEY_ENV}; it is never "
               "printed or stored. Exit codes: 0 success, 1 delivery refused or run failed, 2 usage error.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run the whole audit on a delivery and publish the results",
        description="Ingest a delivery (folder or .zip), quarantine rows that break the format, compute "
                    "the indicators and publish the results contract (patient_results.csv, "
                    "indicator_summary.csv, quarantine.csv, run.json, audit.duckdb, Parquet) into the "
                    "output folder. Results are published only when the whole run succeeds; the previous "
                    "results stay untouched otherwise.",
    )
    run.add_argument("--extract", type=Path, default=SAMPLE_DELIVERY, metavar="PATH",
                     help="delivery folder or .zip of one folder (default: the bundled synthetic sample, "
                          "which may run with a documented demo key)")
    run.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                     help="output folder, replaced as a whole on success (default: ./out)")
    run.add_argument("--extract-date", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                     help="the delivery's extract date; required when the delivery has no manifest.json, "
                          "and must agree with manifest.json's extracted_at when it has one")
    run.add_argument("--comments", type=Path, default=None, metavar="DIR",
                     help="the steering group's comments for the national report: one Markdown file per indicator "
                          "(MM01.md ...), a '## <year>' section per year with '### Kommentar' and '### Anbefaling' "
                          "(README: the national report)")
    run.add_argument("--pdf", action="store_true",
                     help="also write national_report.pdf and national_report_publication.pdf (headless Chromium)")

    synth = sub.add_parser(
        "synth", help="write a synthetic delivery (no real persons) for testing and demos",
        description="Write a synthetic delivery in the exact registry format, deterministic per seed.",
    )
    synth.add_argument("--patients", type=int, required=True, metavar="N", help="number of patients")
    synth.add_argument("--seed", type=int, required=True, metavar="S", help="random seed (same seed, same bytes)")
    synth.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the delivery into")
    synth.add_argument("--extract-date", type=_iso_date, default=date(2026, 11, 1), metavar="YYYY-MM-DD",
                       help="extract date written to manifest.json (default: 2026-11-01)")
    synth.add_argument("--clean", action="store_true", help="no deliberately dirty rows")
    synth.add_argument("--utf8", action="store_true", help="write UTF-8 instead of Windows-1252")
    synth.add_argument("--stats", action="store_true",
                       help="also print the planted scenarios per indicator (the cohort summary is always printed)")

    from pipelines.operations.commands import add_inbox_command, add_ui_command

    add_ui_command(sub)
    add_inbox_command(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    from pipelines.audit import run_audit

    summary = run_audit(extract=args.extract, out_dir=args.out, extract_date=args.extract_date,
                        comments=args.comments, pdf=args.pdf)
    rows = summary.rows
    print(scrub(f"done in {summary.seconds:.1f} s — delivery {summary.extract_id}, extract date {summary.extract_date}"))
    print(f"rows read {rows['in']}: clean {rows['clean']}, quarantined {rows['quarantined']}, "
          f"exact duplicates collapsed {rows['duplicates_collapsed']}")
    for name, counts in summary.files.items():
        print(f"  {name:<24} in {counts['rows_in']:>8}  clean {counts['rows_clean']:>8}  "
              f"quarantined {counts['rows_quarantined']:>6}  duplicates {counts['duplicates_collapsed']:>5}")
    print(scrub(f"outputs in {summary.out_dir}: {', '.join(summary.outputs)}"))
    return EXIT_OK


def _synth(args: argparse.Namespace) -> int:
    from pipelines.synth.generator import write_delivery_with_stats
    from pipelines.synth.stats import format_planted, format_summary

    if args.patients < 1:
        raise AuditError("--patients must be at least 1")
    counts, stats = write_delivery_with_stats(args.out, args.patients, args.seed, args.extract_date,
                                              dirty=not args.clean, encoding="utf-8" if args.utf8 else "cp1252")
    print(f"wrote a synthetic delivery of {args.patients} patients (seed {args.seed}) to {args.out}")
    for name, n in counts.items():
        print(f"  {name:<24} {n:>9} rows")
    print(format_summary(stats["cohort"]))
    if args.stats:
        print(format_planted(stats["cohort"]))
    return EXIT_OK


class _ProgressToStderr(logging.Handler):
    """Progress lines to whatever ``sys.stderr`` is at the moment (stdout stays for results)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(scrub(self.format(record)), file=sys.stderr, flush=True)


def _show_progress() -> None:
    progress = logging.getLogger("myeloma_audit")
    progress.setLevel(logging.INFO)
    progress.propagate = False
    if not any(isinstance(h, _ProgressToStderr) for h in progress.handlers):
        progress.addHandler(_ProgressToStderr())


def _failure(err: BaseException) -> str | None:
    """The one line for a failure that a delivery, a path or the machine can cause (None: a bug)."""
    if isinstance(err, AuditError):  # scrubbed too: a refusal may quote a header cell or a zip entry name
        return str(err)
    if isinstance(err, OSError):  # a path: permission, read-only file system, disk full, name too long …
        where = f": {err.filename}" if err.filename else ""
        return f"cannot use{where}: {err.strerror or type(err).__name__}; nothing was published"
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryException":
        return ("out of memory: the delivery needs more memory than this machine gives the run "
                "(DuckDB's share: MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT); nothing was published")
    return None


def run_guarded(args: argparse.Namespace) -> int:
    """Run a parsed command: every way out is one line (no traceback), Ctrl-C / SIGTERM end it
    with one line and exit 130 / 143, the published results unchanged."""
    _show_progress()
    os.umask(0o077)  # outputs hold pseudonymised patient data: owner-only by default
    with signals.stop_cleanly():
        try:
            handler = getattr(args, "handler", None) or {"run": _run, "synth": _synth}[args.command]
            return handler(args)
        except BaseException as err:  # noqa: BLE001 — every way out is one line
            # a stop signal being handled prints its own line (Dagster turns it into a BaseException)
            signals.wait_if_stopping(0.02 if isinstance(err, Exception) else 0.5)
            if isinstance(err, SystemExit):
                raise
            if isinstance(err, KeyboardInterrupt):
                print(signals.STOPPED, file=sys.stderr)
                return 128 + 2
            message = _failure(err)
            if message is None and os.environ.get("MYELOMA_AUDIT_DEBUG"):
                raise
            if message is None:  # a bug, not bad input: short message, scrubbed, no traceback unless asked
                message = (f"internal error ({type(err).__name__}): {scrub(str(err))[:500]}\n"
                           "nothing was published; set MYELOMA_AUDIT_DEBUG=1 for the full traceback")
            print(f"myeloma-audit: {scrub(message)}", file=sys.stderr)
            return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    return run_guarded(_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
