"""The results contract's files; the summary's workbook may be finished after the contract step,
and publishing waits for it."""

import multiprocessing
import shutil

import duckdb
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


def _write(sample_database, folder, **options):
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "audit.duckdb"
    shutil.copyfile(sample_database, database)
    con = duckdb.connect(str(database))
    extract_date = con.execute("select extract_date from raw_delivery_info").fetchone()[0]
    prepare_session(con, extract_date)
    try:
        return contract.write_contract(con, folder / "out", AuditConfig(extract_path=str(SAMPLE_DELIVERY),
                                                                        output_dir=str(folder / "out")), **options)
    finally:
        con.close()


def test_a_workbook_finished_later_is_the_workbook_written_at_once(sample_database, tmp_path):
    at_once = _write(sample_database, tmp_path / "a")
    later = _write(sample_database, tmp_path / "b", workbook_later=True)
    contract.workbook_written()
    assert later == at_once
    assert (tmp_path / "b/out/indicator_summary.xlsx").read_bytes() == \
        (tmp_path / "a/out/indicator_summary.xlsx").read_bytes()
    assert not multiprocessing.active_children()


def _broken_workbook(rows, columns, path):
    raise OSError("no space left on device (injected)")


def test_an_error_of_a_workbook_finished_later_is_raised_where_it_is_waited_for(sample_database, tmp_path, monkeypatch):
    monkeypatch.setattr(contract, "write_summary_xlsx", _broken_workbook)
    _write(sample_database, tmp_path, workbook_later=True)
    with pytest.raises(OSError, match="injected"):
        contract.workbook_written()
    assert not multiprocessing.active_children()


def test_a_stopped_run_ends_the_workbook_being_written(sample_database, tmp_path):
    _write(sample_database, tmp_path, workbook_later=True)
    contract.discard_workbook()
    contract.workbook_written()  # nothing left to wait for
    assert not multiprocessing.active_children()


def _limit(con) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def _shown(size: str) -> str:
    with duckdb.connect(config={"memory_limit": size}) as reference:
        return _limit(reference)


class _Watched:
    """A connection that notes DuckDB's memory limit at every COPY it runs."""

    def __init__(self, con):
        self._con, self.limits = con, []

    def execute(self, query, *args):
        if query.lstrip().startswith("copy"):
            self.limits.append(_limit(self._con))
        return self._con.execute(query, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_the_contract_is_written_under_its_own_memory_bound_and_the_runs_limit_comes_back(
        sample_database, tmp_path, monkeypatch):
    monkeypatch.setenv("MYELOMA_AUDIT_DUCKDB_MEMORY_LIMIT", "8GB")
    database = tmp_path / "audit.duckdb"
    shutil.copyfile(sample_database, database)
    con = duckdb.connect(str(database), config={"memory_limit": "8GB"})
    prepare_session(con, con.execute("select extract_date from raw_delivery_info").fetchone()[0])
    watched = _Watched(con)
    contract.write_contract(watched, tmp_path / "out", AuditConfig(extract_path=str(SAMPLE_DELIVERY),
                                                                  output_dir=str(tmp_path / "out")))
    assert watched.limits and set(watched.limits) == {_shown(contract.CONTRACT_MEMORY)}
    assert _limit(con) == _shown("8GB")
    con.close()


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
