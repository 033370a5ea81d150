"""Deliveries over time: one results folder per period, corrected re-deliveries replace it
without duplicates, refused ones leave the last good results published, and the previous
period's results are handed to the next audit for the comparison."""

from datetime import date

import pytest

from pipelines.lib.errors import DeliveryRefused, QualityBlocked, RunLocked
from pipelines.lib.publish import publish_lock
from pipelines.operations.history import ResultsStore
from pipelines.operations.inbox import describe
from pipelines.operations.process import (OperationFailed, audit_delivery, monthly_audit, national_report,
                                          process_inbox, run_with_lock_wait)
from tests.operations.ops_helpers import FakeAudit, delivery, published_id

NOW = 1_800_000_000.0


def visible(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def audit(path, results, fake, **kw):
    return audit_delivery(path, results, audit_fn=fake, now=NOW, **kw)


def test_each_period_has_one_folder_and_a_corrected_redelivery_replaces_it(tmp_path):
    results, fake = tmp_path / "results", FakeAudit()
    first = audit(delivery(tmp_path / "in" / "DMDB-2026-11-01"), results, fake)
    corrected = delivery(tmp_path / "in" / "DMDB-2026-11-01-rettet", extract_id="DMDB-2026-11-01", version=2,
                         extra={"labs": ["1203614417;04-09-2024;ldh;200;U/L"]})
    second = audit(corrected, results, fake)
    assert first["delivery_key"] != second["delivery_key"]
    assert visible(results / "periods") == ["2026-11"]  # hidden: the period's lock file
    assert visible(results) == ["history.json", "latest", "periods"]
    store = ResultsStore(results)
    assert store.published("2026-11")["delivery_key"] == second["delivery_key"]
    old = store.records()[0]
    assert old["replaced_by"] == second["delivery_key"] and second["replaced"] == [first["delivery_key"]]
    assert [r["period"] for r in store.good()] == ["2026-11"]


def test_higher_version_replaces_and_an_older_delivery_never_does(tmp_path):
    results, fake = tmp_path / "results", FakeAudit()
    audit(delivery(tmp_path / "a", extract_id="NOV-A", version=1), results, fake)
    audit(delivery(tmp_path / "b", extract_id="NOV-B", version=2), results, fake)
    assert published_id(ResultsStore(results).period_dir("2026-11")) == "NOV-B"
    with pytest.raises(OperationFailed, match="already has results from the newer delivery NOV-B"):
        audit(delivery(tmp_path / "c", extract_id="NOV-OLD", version=1), results, fake)
    assert published_id(ResultsStore(results).period_dir("2026-11")) == "NOV-B"
    assert len(fake.calls) == 2


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

    assert (november / "patient_results.csv").read_bytes() == before
    assert not store.period_dir("2026-12").exists()
    assert (results / "latest").resolve() == november.resolve()
    assert store.latest_good()["delivery_id"] == "DMDB-2026-11-01"
    assert [r["status"] for r in store.records()] == ["published", "refused", "refused"]


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
    assert store.previous_results("2026-12") == store.period_dir("2026-11") / "patient_results.csv"
    # a redelivery of an old period does not move "latest" backwards
    audit(delivery(tmp_path / "oct2", extract_id="OCT", version=2, extracted_at=date(2026, 10, 1)), results, fake)
    assert (results / "latest").resolve() == store.period_dir("2026-11").resolve()


def test_audit_function_without_previous_results_still_runs(tmp_path):
    results = tmp_path / "results"
    calls = []

    def old_style_run_audit(extract, out_dir, key=None, extract_date=None, parameters=None):
        calls.append(extract)
        return FakeAudit()(extract, out_dir)

    audit(delivery(tmp_path / "oct", extract_id="OCT", extracted_at=date(2026, 10, 1)), results, old_style_run_audit)
    record = audit(delivery(tmp_path / "nov", extract_id="NOV"), results, old_style_run_audit)
    assert record["status"] == "published" and record["compared_with_previous"] is False and len(calls) == 2


def test_a_run_waits_for_the_lock_and_gives_up_with_a_clear_message(tmp_path):
    fake = FakeAudit(fail=[RunLocked("another myeloma-audit run is publishing to X"),
                           RunLocked("another myeloma-audit run is publishing to X"), None])
    run_with_lock_wait(fake, wait_for_lock_seconds=5, poll_seconds=0.01, extract=delivery(tmp_path / "d"),
                       out_dir=tmp_path / "out")
    assert len(fake.calls) == 3 and (tmp_path / "out" / "run.json").is_file()

    with publish_lock(tmp_path / "out2"):
        with pytest.raises(RunLocked, match=r"another myeloma-audit run is publishing .*\(waited 0.2 s\)"):
            run_with_lock_wait(FakeAudit(), 0.2, poll_seconds=0.05, extract=tmp_path / "d", out_dir=tmp_path / "out2")


def test_lock_timeout_is_recorded_as_failed_not_refused(tmp_path):
    results = tmp_path / "results"
    period = ResultsStore(results).period_dir("2026-11")
    with publish_lock(period):
        with pytest.raises(OperationFailed, match="waited 0.2 s") as err:
            audit(delivery(tmp_path / "d"), results, FakeAudit(), wait_for_lock_seconds=0.2)
    assert err.value.record["status"] == "failed"


def test_monthly_audit_uses_the_period_delivery_once_and_reports_a_missing_one(tmp_path):
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    delivery(inbox / "DMDB-2026-11-01")
    delivery(inbox / "DMDB-2026-12-01", extract_id="DMDB-2026-12-01", extracted_at=date(2026, 12, 1))
    record = monthly_audit("2026-12", inbox, results, audit_fn=fake, now=NOW)
    assert record["status"] == "published" and record["period"] == "2026-12" and record["trigger"] == "monthly"
    assert [c["extract"].name for c in fake.calls] == ["DMDB-2026-12-01"]
    again = monthly_audit("2026-12", inbox, results, audit_fn=fake, now=NOW)
    assert again["status"] == "skipped" and "already audited" in again["message"] and len(fake.calls) == 1

    with pytest.raises(OperationFailed, match="no complete delivery for 2027-01") as missing:
        monthly_audit("2027-01", inbox, results, audit_fn=fake, now=NOW)
    assert "results of 2026-12 (DMDB-2026-12-01) stay published" in str(missing.value)


def test_monthly_audit_picks_the_highest_version_of_the_period(tmp_path):
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    delivery(inbox / "nov-v1", extract_id="NOV", version=1)
    delivery(inbox / "nov-v2", extract_id="NOV-CORR", version=2)
    monthly_audit("2026-11", inbox, results, audit_fn=fake, now=NOW)
    assert published_id(ResultsStore(results).period_dir("2026-11")) == "NOV-CORR"


def test_national_report_uses_a_delivery_after_the_year_and_compares_with_last_year(tmp_path):
    results, fake = tmp_path / "results", FakeAudit()
    # a year earlier than the other tests: an extract date in the future is refused (issue 13)
    with pytest.raises(OperationFailed, match="no good results from a delivery extracted after 31-12-2025"):
        national_report(2025, results, audit_fn=fake)
    audit(delivery(tmp_path / "jan25", extract_id="JAN25", extracted_at=date(2025, 1, 1)), results, fake)
    national_report(2024, results, audit_fn=fake)
    audit(delivery(tmp_path / "dec25", extract_id="DEC25", extracted_at=date(2025, 12, 1)), results, fake)
    audit(delivery(tmp_path / "feb26", extract_id="FEB26", extracted_at=date(2026, 2, 1)), results, fake)
    record = national_report(2025, results, audit_fn=fake)
    store = ResultsStore(results)
    assert record["delivery_id"] == "FEB26" and record["out_dir"] == str(store.national_dir(2025))
    assert fake.calls[-1]["previous_results"] == store.national_dir(2024) / "patient_results.csv"
    assert published_id(store.national_dir(2025)) == "FEB26"


def test_inbox_pass_processes_each_delivery_once_oldest_first(tmp_path):
    inbox, results, fake = tmp_path / "inbox", tmp_path / "results", FakeAudit()
    delivery(inbox / "b-december", extract_id="DEC", extracted_at=date(2026, 12, 1))
    delivery(inbox / "a-november", extract_id="NOV")
    report = process_inbox(inbox, results, audit_fn=fake)
    assert [r["delivery_id"] for r in report["published"]] == ["NOV", "DEC"]
    assert fake.calls[1]["previous_results"] == ResultsStore(results).period_dir("2026-11") / "patient_results.csv"
    again = process_inbox(inbox, results, audit_fn=fake)
    assert again["published"] == [] and len(again["already"]) == 2 and len(fake.calls) == 2


def test_inbox_pass_reports_refusals_once_and_retries_only_failures_on_request(tmp_path):
    inbox, results = tmp_path / "inbox", tmp_path / "results"
    delivery(inbox / "nov", extract_id="NOV")
    delivery(inbox / "dec", extract_id="DEC", extracted_at=date(2026, 12, 1))
    from pipelines.lib.pseudonym import MissingKeyError
    failing = FakeAudit(fail=[DeliveryRefused("labs.csv", "bad"), MissingKeyError("MYELOMA_AUDIT_KEY is not set")])
    report = process_inbox(inbox, results, audit_fn=failing)
    assert [r["delivery_id"] for r in report["refused"]] == ["NOV"]
    assert [r["delivery_id"] for r in report["failed"]] == ["DEC"]
    fine = FakeAudit()
    assert process_inbox(inbox, results, audit_fn=fine)["published"] == []
    retried = process_inbox(inbox, results, audit_fn=fine, retry_failed=True)
    assert [r["delivery_id"] for r in retried["published"]] == ["DEC"] and len(fine.calls) == 1


def test_describe_dates_a_delivery_without_manifest_by_its_name(tmp_path):
    entry = describe(delivery(tmp_path / "DMDB-2026-11-01", manifest=False), NOW, settle_seconds=0)
    assert entry.complete and entry.period == "2026-11" and entry.delivery_id == "DMDB-2026-11-01"
    undated = describe(delivery(tmp_path / "leverance", manifest=False), NOW, settle_seconds=0)
    with pytest.raises(OperationFailed, match="no extract date"):
        audit_delivery(undated.path, tmp_path / "results", entry=undated, audit_fn=FakeAudit())


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
    report = process_inbox(inbox, results, audit_fn=fake, now=lambda: NOW, settle_seconds=0)
    assert [r["source"].rsplit("/", 1)[-1] for r in report["published"]] == ["a-first"]
    [refused] = report["refused"]
    assert refused["message"].startswith("delivery refused: duplicate of the delivery already published for 2026-11")
    assert refused["duplicate_of"] == report["published"][0]["delivery_key"]
    store = ResultsStore(results)
    assert store.published("2026-11")["delivery_key"] == report["published"][0]["delivery_key"]
    assert len(fake.calls) == 1
