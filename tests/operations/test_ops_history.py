"""Deliveries over time: one results folder per period, corrected re-deliveries replace it
without duplicates, refused ones leave the last good results published, and the previous
period's results are handed to the next audit for the comparison. Every audit here is a run
of the audit job (the audit itself stood in for by ``FakeAudit``): the destination decides,
publishes and records."""

import threading
import time
from datetime import date

import pytest

from pipelines.lib.errors import DeliveryRefused, QualityBlocked
from pipelines.lib.publish import publish_lock
from pipelines.operations.history import ResultsStore
from pipelines.operations.inbox import describe
from pipelines.operations.process import OperationFailed, audit_delivery, process_inbox
from tests.operations.ops_helpers import FakeAudit, delivery, published_id

NOW = 1_800_000_000.0


def visible(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def audit(path, results, fake, **kw):
    return audit_delivery(path, results, job=fake.job, now=NOW, **kw)


def test_each_period_has_one_folder_and_a_corrected_redelivery_replaces_it(tmp_path):
    results, fake = tmp_path / "results", FakeAudit()
    first = audit(delivery(tmp_path / "in" / "DMDB-2026-11-01"), results, fake)
    corrected = delivery(tmp_path / "in" / "DMDB-2026-11-01-rettet", extract_id="DMDB-2026-11-01", version=2,
                         extra={"labs": ["1203614417;04-09-2024;ldh;200;U/L"]})
    second = audit(corrected, results, fake)
    assert first["delivery_key"] != second["delivery_key"]
    assert visible(results / "periods") == ["2026-11"]  # hidden: the period's turn and its run's own folder
    assert visible(results) == ["history.json", "latest", "periods"]
    store = ResultsStore(results)
    assert store.published("2026-11")["delivery_key"] == second["delivery_key"]
    old = store.records()[0]
    assert old["replaced_by"] == second["delivery_key"] and second["replaced"] == [first["delivery_key"]]
    assert [r["period"] for r in store.good()] == ["2026-11"]
    assert second["out_dir"] == str(store.period_dir("2026-11")) and second["extract_id"] == "DMDB-2026-11-01"


def test_higher_version_replaces_and_an_older_delivery_never_does(tmp_path):
    results, fake = tmp_path / "results", FakeAudit()
    audit(delivery(tmp_path / "a", extract_id="NOV-A", version=1), results, fake)
    audit(delivery(tmp_path / "b", extract_id="NOV-B", version=2), results, fake)
    assert published_id(ResultsStore(results).period_dir("2026-11")) == "NOV-B"
    with pytest.raises(OperationFailed, match="already has results from the newer delivery NOV-B"):
        audit(delivery(tmp_path / "c", extract_id="NOV-OLD", version=1), results, fake)
    assert published_id(ResultsStore(results).period_dir("2026-11")) == "NOV-B"
    assert len(fake.calls) == 2  # the older one was refused before the audit started


def test_refused_delivery_keeps_the_last_good_results_published(tmp_path):
    results = tmp_path / "results"
    audit(delivery(tmp_path / "nov"), results, FakeAudit())
    store = ResultsStore(results)
    november = store.period_dir("2026-11")
    before = (november / "patient_results.csv").read_bytes()

    december = delivery(tmp_path / "dec", extract_id="DMDB-2026-12-01", extracted_at=date(2026, 12, 1))
    with pytest.raises(OperationFailed, match="blocking data-quality checks failed") as refused:
        audit(december, results, FakeAudit(fail=QualityBlocked("blocking data-quality checks failed on stg_labs")))
    assert refused.value.record["status"] == "refused"
    renovember = delivery(tmp_path / "nov2", extract_id="DMDB-2026-11-01-v2", version=2)
    with pytest.raises(OperationFailed) as refused_again:
        audit(renovember, results, FakeAudit(fail=DeliveryRefused("labs.csv", "line 3: not valid cp1252")))
    assert refused_again.value.record["published_kept"] == "DMDB-2026-11-01"
    assert refused_again.value.record["message"] == "delivery refused: labs.csv: line 3: not valid cp1252"

    assert (november / "patient_results.csv").read_bytes() == before
    assert not store.period_dir("2026-12").exists()
    assert (results / "latest").resolve() == november.resolve()
    assert store.latest_good()["delivery_id"] == "DMDB-2026-11-01"
    assert [r["status"] for r in store.records()] == ["published", "refused", "refused"]


def test_a_failure_outside_the_delivery_is_recorded_as_failed(tmp_path):
    results = tmp_path / "results"
    with pytest.raises(OperationFailed) as failed:
        audit(delivery(tmp_path / "nov"), results, FakeAudit(fail=PermissionError(13, "Permission denied", "/x/y")))
    assert failed.value.record["status"] == "failed"
    assert failed.value.record["message"] == "cannot use /x/y: Permission denied"
    with pytest.raises(OperationFailed) as bug:
        audit(delivery(tmp_path / "nov"), results, FakeAudit(fail=ZeroDivisionError("division by zero")))
    assert bug.value.record["message"] == "internal error (ZeroDivisionError): division by zero"


def test_previous_period_results_feed_the_comparison(tmp_path):
    results, fake = tmp_path / "results", FakeAudit()
    audit(delivery(tmp_path / "oct", extract_id="OCT", extracted_at=date(2026, 10, 1)), results, fake)
    audit(delivery(tmp_path / "nov", extract_id="NOV"), results, fake)
    audit(delivery(tmp_path / "nov2", extract_id="NOV", version=2, extra={"labs": ["1203614417;04-09-2024;ldh;200;U/L"]}),
          results, fake)
    store = ResultsStore(results)
    assert fake.calls[0]["previous_results"] is None
    assert fake.calls[1]["previous_results"] == store.period_dir("2026-10") / "patient_results.csv"
    # the corrected November compares with October, not with the November it replaces
    assert fake.calls[2]["previous_results"] == store.period_dir("2026-10") / "patient_results.csv"
    assert store.records()[-1]["compared_with_previous"] is True
    assert store.records()[0]["compared_with_previous"] is False
    assert store.previous_results("2026-12") == store.period_dir("2026-11") / "patient_results.csv"
    # a redelivery of an old period does not move "latest" backwards
    audit(delivery(tmp_path / "oct2", extract_id="OCT", version=2, extracted_at=date(2026, 10, 1)), results, fake)
    assert (results / "latest").resolve() == store.period_dir("2026-11").resolve()


def test_the_assets_write_into_the_runs_own_folder_beside_the_period(tmp_path):
    results, fake = tmp_path / "results", FakeAudit()
    audit(delivery(tmp_path / "nov"), results, fake)
    [call] = fake.calls
    period = ResultsStore(results).period_dir("2026-11")
    assert call["out_dir"].parent == period.parent / ".2026-11.myeloma-audit"
    assert call["out_dir"].name.startswith("incoming-") and not call["out_dir"].exists()  # swapped into place
    assert call["extract"] == tmp_path / "nov" and call["extract_date"] == "2026-11-01"


def test_a_run_waits_for_the_lock_and_gives_up_with_a_clear_message(tmp_path):
    results = tmp_path / "results"
    period = ResultsStore(results).period_dir("2026-11")
    held = threading.Event()

    def hold_for_a_moment():
        with publish_lock(period):
            held.set()
            time.sleep(1.5)

    holder = threading.Thread(target=hold_for_a_moment)
    holder.start()
    held.wait(10)
    record = audit(delivery(tmp_path / "d"), results, FakeAudit(), wait_for_lock_seconds=30)  # waits, then publishes
    holder.join()
    assert record["status"] == "published"

    with publish_lock(period):
        with pytest.raises(OperationFailed, match=r"another myeloma-audit run is publishing .*\(waited 1 s\)") as err:
            audit(delivery(tmp_path / "e", extract_id="NOV-2", version=2), results, FakeAudit(), wait_for_lock_seconds=1)
    assert err.value.record["status"] == "failed"  # not the delivery's fault: it may be retried
    assert err.value.record["published_kept"] == "DMDB-2026-11-01"


def test_describe_dates_a_delivery_without_manifest_by_its_name(tmp_path):
    entry = describe(delivery(tmp_path / "DMDB-2026-11-01", manifest=False), NOW, settle_seconds=0)
    assert entry.complete and entry.period == "2026-11" and entry.delivery_id == "DMDB-2026-11-01"
    undated = describe(delivery(tmp_path / "leverance", manifest=False), NOW, settle_seconds=0)
    fake = FakeAudit()
    with pytest.raises(OperationFailed, match="no extract date") as err:
        audit_delivery(undated.path, tmp_path / "results", job=fake.job, entry=undated)
    assert err.value.record["status"] == "refused" and fake.calls == []


def test_inbox_pass_processes_each_delivery_once_oldest_first(tmp_path):
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    delivery(inbox / "b-december", extract_id="DEC", extracted_at=date(2026, 12, 1))
    delivery(inbox / "a-november", extract_id="NOV")
    report = process_inbox(inbox, results, job=fake.job)
    assert [r["delivery_id"] for r in report["published"]] == ["NOV", "DEC"]
    assert [r["trigger"] for r in report["published"]] == ["inbox", "inbox"]
    assert fake.calls[1]["previous_results"] == ResultsStore(results).period_dir("2026-11") / "patient_results.csv"
    again = process_inbox(inbox, results, job=fake.job)
    assert again["published"] == [] and len(again["already"]) == 2 and len(fake.calls) == 2


def test_inbox_pass_reports_refusals_once_and_retries_only_failures_on_request(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "nov", extract_id="NOV")
    delivery(inbox / "dec", extract_id="DEC", extracted_at=date(2026, 12, 1))
    from pipelines.lib.pseudonym import MissingKeyError
    failing = FakeAudit(fail=[DeliveryRefused("labs.csv", "bad"), MissingKeyError("MYELOMA_AUDIT_KEY is not set")])
    report = process_inbox(inbox, results, job=failing.job)
    assert [r["delivery_id"] for r in report["refused"]] == ["NOV"]
    assert [r["delivery_id"] for r in report["failed"]] == ["DEC"]
    assert report["failed"][0]["message"] == "MYELOMA_AUDIT_KEY is not set"
    fine = FakeAudit()
    assert process_inbox(inbox, results, job=fine.job)["published"] == []
    retried = process_inbox(inbox, results, job=fine.job, retry_failed=True)
    assert [r["delivery_id"] for r in retried["published"]] == ["DEC"] and len(fine.calls) == 1


def test_two_deliveries_of_one_period_take_turns(tmp_path):
    """Deciding whether a delivery may replace the published one and publishing it happen in
    one turn per period, so an older delivery cannot slip in behind a newer one."""
    results = tmp_path / "results"
    store = ResultsStore(results)
    with store.period_turn("2026-11", wait_seconds=1):
        with pytest.raises(OperationFailed, match="another delivery of 2026-11 is being audited") as err:
            audit(delivery(tmp_path / "d"), results, FakeAudit(), wait_for_lock_seconds=0.2)
    assert err.value.record["status"] == "failed"
    assert audit(delivery(tmp_path / "d"), results, FakeAudit())["status"] == "published"  # its turn now


def test_a_second_delivery_with_the_same_id_and_date_is_a_duplicate_not_a_replacement(tmp_path):
    """Issue 13, 9: two inbox deliveries with the same extract_id and extracted_at (and version)
    — the second silently replaced the first. Now it is refused as a duplicate, reported in
    history.json, and the first stays published."""
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    delivery(inbox / "a-first", extract_id="DMDB-2026-11-01")
    delivery(inbox / "b-second", extract_id="DMDB-2026-11-01", extra={"labs": ["1203614417;04-09-2024;ldh;200;U/L"]})
    report = process_inbox(inbox, results, job=fake.job, now=lambda: NOW, settle_seconds=0)
    assert [r["source"].rsplit("/", 1)[-1] for r in report["published"]] == ["a-first"]
    [refused] = report["refused"]
    assert refused["message"].startswith("delivery refused: duplicate of the delivery already published for 2026-11")
    assert refused["duplicate_of"] == report["published"][0]["delivery_key"]
    store = ResultsStore(results)
    assert store.published("2026-11")["delivery_key"] == report["published"][0]["delivery_key"]
    assert len(fake.calls) == 1
