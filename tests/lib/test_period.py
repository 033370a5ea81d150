"""The audit period (``--period``): a month, a year, or N months before the extract date."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.lib.period import DEFAULT, PeriodError, check_period, resolve_period

EXTRACT = date(2026, 11, 1)


@pytest.mark.parametrize("spec, start, end, label", [
    ("12m", date(2025, 11, 1), date(2026, 10, 31), "01-11-2025 – 31-10-2026"),
    ("", date(2025, 11, 1), date(2026, 10, 31), "01-11-2025 – 31-10-2026"),
    (None, date(2025, 11, 1), date(2026, 10, 31), "01-11-2025 – 31-10-2026"),
    ("1m", date(2026, 10, 1), date(2026, 10, 31), "01-10-2026 – 31-10-2026"),
    ("2026-10", date(2026, 10, 1), date(2026, 10, 31), "oktober 2026"),
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30), "november 2026 (til 01-11-2026)"),
    ("2026-02", date(2026, 2, 1), date(2026, 2, 28), "februar 2026"),
    ("2024-12", date(2024, 12, 1), date(2024, 12, 31), "december 2024"),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026 (til 01-11-2026)"),
    ("2025", date(2025, 1, 1), date(2025, 12, 31), "2025"),
])
def test_periods_and_how_the_pages_name_them(spec, start, end, label):
    period = resolve_period(spec, EXTRACT)
    assert (period.start, period.end, period.label_da) == (start, end, label)
    assert period.description_da.startswith("Auditperiode ") and "afventer" in period.description_da


def test_months_before_a_day_the_shorter_month_lacks():
    period = resolve_period("1m", date(2026, 3, 31))
    assert (period.start, period.end) == (date(2026, 2, 28), date(2026, 3, 30))


@pytest.mark.parametrize("bad", ["2026-13", "26", "12", "m", "0m", "12 m", "2026-1", "last year", "1899", "1200m"])
def test_other_forms_are_refused(bad):
    with pytest.raises(PeriodError):
        check_period(bad)


def test_the_most_months_back():
    assert check_period("999m") == "999m"
    with pytest.raises(PeriodError, match="a number of months before the extract date from 1m to 999m"):
        check_period("1200m")


def test_a_period_after_the_extract_date_is_refused():
    with pytest.raises(PeriodError, match="after the extract date"):
        resolve_period("2026-12", EXTRACT)
    assert check_period("") == DEFAULT == "12m"
