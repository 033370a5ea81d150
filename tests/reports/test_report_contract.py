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
