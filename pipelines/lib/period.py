"""The audit period of the department lists and dashboards (``--period``).

A period is given as ``2026-10`` (a calendar month), ``2026`` (a calendar year) or ``12m``
(the N whole months before the extract date: with extract date 01-11-2026, ``12m`` is
01-11-2025 – 31-10-2026). The default is ``12m``. Department lists and dashboards cover the
indicator rows whose index date lies in the period, plus every row still pending (its
window is open at the extract date, whatever its index date). The national report keeps
its three years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DEFAULT = "12m"
MONTHS_DA = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
             "november", "december")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"(\d{4})")
_MONTHS_BACK = re.compile(r"([1-9]\d{0,2})m")


class PeriodError(ValueError):
    """A ``--period`` that is not one of the accepted forms, or lies after the extract date."""


def check_period(text: str | None) -> str:
    """``text`` if it is an accepted period (``YYYY-MM``, ``YYYY``, ``Nm``; empty = the default)."""
    text = (text or "").strip()
    if not text:
        return DEFAULT
    if m := _MONTH.fullmatch(text):
        if not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
            raise PeriodError(f"period '{text}': no such month")
        return text
    if m := _YEAR.fullmatch(text):
        if int(text) < 1900:
            raise PeriodError(f"period '{text}': no such year")
        return text
    if _MONTHS_BACK.fullmatch(text):
        return text
    raise PeriodError(f"period '{text}' is not a month (2026-10), a year (2026) or a number of months "
                      "before the extract date from 1m to 999m (12m)")


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day where it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    if index < 12:  # before year 1 (an absurd extract date, refused where the delivery is read)
        return date.min
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _dato(day: date) -> str:
    return day.strftime("%d-%m-%Y")


@dataclass(frozen=True)
class AuditPeriod:
    spec: str            # as given: "12m", "2026-10", "2026"
    start: date          # first index date in the period
    end: date            # last index date in the period (inclusive)
    extract_date: date

    @property
    def partial(self) -> bool:
        """The period reaches past the extract date (a month or year still running)."""
        return self.end >= self.extract_date

    @property
    def shown_end(self) -> date:
        return min(self.end, self.extract_date)

    @property
    def label_da(self) -> str:
        """How the pages name the period: ``01-11-2025 – 31-10-2026``, ``oktober 2026``,
        ``2026 (til 01-11-2026)``."""
        if _MONTHS_BACK.fullmatch(self.spec):
            return f"{_dato(self.start)} – {_dato(self.end)}"
        if _MONTH.fullmatch(self.spec):
            text = f"{MONTHS_DA[self.start.month - 1]} {self.start.year}"
        else:
            text = str(self.start.year)
        return f"{text} (til {_dato(self.extract_date)})" if self.partial else text

    @property
    def description_da(self) -> str:
        """One sentence for the pages: what the figures and lists cover."""
        if m := _MONTHS_BACK.fullmatch(self.spec):
            months = int(m.group(1))
            what = "den måned" if months == 1 else f"de {months} måneder"
            head = f"Auditperiode {self.label_da} ({what} før udtræksdatoen {_dato(self.extract_date)})"
        else:
            head = f"Auditperiode {self.label_da} ({_dato(self.start)} – {_dato(self.shown_end)})"
        return (head + ": patienter, hvis indeksdato ligger i perioden, samt alle patienter, der afventer "
                "(vinduet er ikke lukket på udtræksdatoen).")

    def as_dict(self) -> dict:
        return {"period": self.spec, "start": self.start.isoformat(), "end": self.end.isoformat()}


def resolve_period(text: str | None, extract_date: date) -> AuditPeriod:
    """The period ``text`` (default ``12m``) for an extract of ``extract_date``; a period that
    begins after the extract date is refused (it could hold nothing)."""
    spec = check_period(text)
    if m := _MONTH.fullmatch(spec):
        year, month = int(m.group(1)), int(m.group(2))
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    elif _YEAR.fullmatch(spec):
        start, end = date(int(spec), 1, 1), date(int(spec), 12, 31)
    else:
        months = int(spec[:-1])
        start = _months_before(extract_date, months)
        end = extract_date - timedelta(days=1) if extract_date > date.min else date.min
    if start > extract_date:
        raise PeriodError(f"period {spec} begins after the extract date {extract_date.isoformat()}: "
                          "it would hold no patients")
    return AuditPeriod(spec, start, end, extract_date)
