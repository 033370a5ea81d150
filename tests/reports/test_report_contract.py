"""The results contract's files; the files and the summary's workbook may be finished after the
contract step, and publishing waits for them."""

import multiprocessing
import shutil
import threading
from contextlib import ExitStack

import duckdb
import polars as pl
import pytest

from pipelines.audit import run_audit
from pipelines.indicators.build import prepare_session
from pipelines.lib.environment import SAMPLE_DELIVERY
from pipelines.reports import contract
from pipelines.resources import AuditConfig


@pytest.fixture(scope="module")
def sample_database(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    run_audit(SAMPLE_DELIVERY, out)
    return out / "audit.duckdb"


class _Watched:
    """A connection that notes DuckDB's memory limit at every COPY it runs, and which thread
    closed it."""

    def __init__(self, con):
        self._con, self.limits, self.closed_by = con, [], None

    def execute(self, query, *args):
        if query.lstrip().startswith("copy"):
            self.limits.append(_limit(self._con))
        return self._con.execute(query, *args)

    def close(self):
        self.closed_by = threading.current_thread().name
        self._con.close()

    def __getattr__(self, name):
        return getattr(self._con, name)


def _copy(sample_database, folder, **config):
    """A connection to a copy of the sample's database in ``folder``, ready for the contract."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "audit.duckdb"
    shutil.copyfile(sample_database, database)
    con = duckdb.connect(str(database), config=config)
    prepare_session(con, con.execute("select extract_date from raw_delivery_info").fetchone()[0])
    return con


def _audit(folder):
    return AuditConfig(extract_path=str(SAMPLE_DELIVERY), output_dir=str(folder / "out"))


def _write(sample_database, folder, later: bool = False):
    """The contract of the sample's database (a copy) into ``folder/out``, and the connection used."""
    con = _Watched(_copy(sample_database, folder))
    with ExitStack() as stack:
        stack.callback(con.close)
        return contract.write_contract(con, folder / "out", _audit(folder), later=stack if later else None), con


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_files_finished_later_are_the_files_written_at_once(sample_database, tmp_path):
    (at_once, _), (later, con) = _write(sample_database, tmp_path / "a"), _write(sample_database, tmp_path / "b", True)
    assert con.closed_by is None  # still writing, or written and waiting to be taken
    contract.written()
    assert con.closed_by == threading.current_thread().name
    assert later == at_once
    assert later == {name: pl.read_parquet(tmp_path / f"b/out/{name}.parquet").height for name in later}
    assert _files(tmp_path / "b/out") == _files(tmp_path / "a/out")
    assert set(_files(tmp_path / "a/out")) == {"run.json", "indicator_summary.xlsx", *(
        f"{name}.{kind}" for name in at_once for kind in ("csv", "parquet"))}
    assert not multiprocessing.active_children()


def _broken_workbook(rows, columns, path):
    raise OSError("no space left on device (injected)")


def test_an_error_of_a_workbook_finished_later_is_raised_where_it_is_waited_for(sample_database, tmp_path, monkeypatch):
    monkeypatch.setattr(contract, "write_summary_xlsx", _broken_workbook)
    _, con = _write(sample_database, tmp_path, later=True)
    with pytest.raises(OSError, match="injected"):
        contract.written()
    assert con.closed_by is not None
    assert not multiprocessing.active_children()


def test_an_error_of_files_written_later_is_raised_where_they_are_waited_for(sample_database, tmp_path, monkeypatch):
    def broken_files(con, tables, out_dir):
        raise duckdb.IOException("could not write patient_results.csv (injected)")

    monkeypatch.setattr(contract, "_write_files", broken_files)
    _, con = _write(sample_database, tmp_path, later=True)
    with pytest.raises(duckdb.IOException, match="injected"):
        contract.written()
    assert con.closed_by is not None
    contract.written()  # nothing left to wait for
    assert not multiprocessing.active_children()


def test_a_stopped_run_ends_the_files_and_the_workbook_being_written(sample_database, tmp_path, monkeypatch):
    started, stopped = threading.Event(), threading.Event()

    def slow_files(con, tables, out_dir):
        started.set()
        try:
            con.execute("select count(*) from range(10000000000) as a(i) where i % 7 = 3").fetchone()
        except duckdb.InterruptException:
            stopped.set()
            raise

    monkeypatch.setattr(contract, "_write_files", slow_files)
    _, con = _write(sample_database, tmp_path, later=True)
    assert started.wait(30)
    contract.discard()
    assert stopped.is_set() and con.closed_by is not None
    contract.written()  # nothing left to wait for
    assert not multiprocessing.active_children()


def _limit(con) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def _shown(size: str) -> str:
    with duckdb.connect(config={"memory_limit": size}) as reference:
        return _limit(reference)


def test_the_contract_is_written_under_its_own_memory_bound_and_the_runs_limit_comes_back(
        sample_database, tmp_path, monkeypatch):
    monkeypatch.setenv("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", "8GB")
    con = _copy(sample_database, tmp_path, memory_limit="8GB")
    watched = _Watched(con)
    contract.write_contract(watched, tmp_path / "out", _audit(tmp_path))
    assert watched.limits and set(watched.limits) == {_shown(contract.CONTRACT_MEMORY)}
    assert _limit(con) == _shown("8GB")
    con.close()


def test_files_written_later_are_written_under_the_bound_and_the_runs_limit_comes_back_before_the_close(
        sample_database, tmp_path, monkeypatch):
    monkeypatch.setenv("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", "8GB")
    con = _copy(sample_database, tmp_path, memory_limit="8GB")
    watched, at_close = _Watched(con), []
    with ExitStack() as stack:
        stack.callback(con.close)
        stack.callback(lambda: at_close.append(_limit(con)))
        contract.write_contract(watched, tmp_path / "out", _audit(tmp_path), later=stack)
    contract.written()
    assert watched.limits and set(watched.limits) == {_shown(contract.CONTRACT_MEMORY)}
    assert at_close == [_shown("8GB")]


def test_a_run_given_less_memory_than_the_bound_keeps_its_own_and_an_error_restores_the_runs(monkeypatch):
    con = duckdb.connect(config={"memory_limit": "1GB"})
    monkeypatch.setenv("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", "1GB")
    with contract._memory_bounded(con, "2.5GB"):
        assert _limit(con) == _shown("1GB")
    con.execute("set memory_limit = '8GB'")
    monkeypatch.setenv("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", "8GB")
    with pytest.raises(RuntimeError), contract._memory_bounded(con, "2.5GB"):
        assert _limit(con) == _shown("2.5GB")
        raise RuntimeError("a COPY failed")
    assert _limit(con) == _shown("8GB")


@pytest.mark.parametrize("size, expected", [("6GB", 6 * 1000**3), ("11776MB", 11776 * 1000**2),
                                            ("1.5 GiB", int(1.5 * 1024**3)), ("500", 500), ("2gb", 2 * 1000**3),
                                            ("lots", None), ("", None)])
def test_memory_sizes_are_read_as_duckdb_reads_them(size, expected):
    from pipelines.resources import memory_bytes

    assert memory_bytes(size) == expected
