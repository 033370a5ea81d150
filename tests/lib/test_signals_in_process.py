"""What a stop does in the process (``pipelines/lib/signals.py``): every process the run
started ends first, then the run's folders go, even while the run's other threads still write
into them. The stop as a user meets it (real signals, the command): tests/hardening/test_signals.py."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading

from pipelines.lib import signals

ENDS_ITS_CHILD = """
import subprocess, sys
from pipelines.lib import signals
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
signals._end_children()
print("ended" if child.poll() is not None else "running")
child.kill()
"""


def test_a_stop_ends_every_process_the_run_started_not_only_multiprocessing_ones():
    """The validation process is started with subprocess: left running, it may still write the
    quality report into the run's folder while the folder is removed."""
    done = subprocess.run([sys.executable, "-c", ENDS_ITS_CHILD], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ended", done.stderr[-2000:]


def test_a_folder_goes_though_a_thread_of_the_process_writes_into_it_by_its_path(tmp_path):
    """As DuckDB does when it makes its write-ahead log again: a plain removal then finds the
    folder not empty at its last step and leaves it."""
    folder = tmp_path / "incoming-x"
    folder.mkdir()
    for number in range(300):  # the removal takes a moment
        (folder / f"part-{number}").write_bytes(b"x" * 100)
    written, stop = threading.Event(), threading.Event()

    def write() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                (folder / "audit.duckdb.wal").write_bytes(b"wal")
                written.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        written.wait(5)
        signals._remove(folder)
        assert not folder.exists()
    finally:
        stop.set()
        writer.join()
    assert list(tmp_path.iterdir()) == []
