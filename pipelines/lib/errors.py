"""Errors that stop a run with one clear message (and never a traceback or a clear CPR)."""

from __future__ import annotations

import unicodedata

from pipelines.lib import cpr

SHOWN_NAME_CHARS = 120      # a delivered name quoted in a message (file, zip entry, column)
SHOWN_PROBLEM_CHARS = 2_000


def shown(text: object, limit: int = SHOWN_NAME_CHARS) -> str:
    """Text from a delivery made fit for a one-line message: CPR-shaped tokens masked, line
    breaks and other control or invisible characters shown as ``?``, cut to ``limit``."""
    text = cpr.scrub(str(text))
    if not text.isprintable():
        text = "".join(c if c.isprintable() or c == " " else "?" for c in text)
        text = "".join("?" if unicodedata.category(c) in ("Zl", "Zp") else c for c in text)
        text = cpr.scrub(text)  # a line break shown as '?' separates what it did not ('200478?2853')
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AuditError(Exception):
    """A run that cannot go on; ``str(err)`` is the whole message for the user."""


class DeliveryRefused(AuditError):
    """The delivery cannot be read as a whole: nothing from it is published. The message names
    the file (and line and column where there is one); every part of it is scrubbed of
    CPR-shaped tokens, since a file name, header cell or zip entry may hold one."""

    def __init__(self, file: str, problem: str, line: int | None = None, column: str | None = None):
        self.file, self.problem, self.line = shown(file), shown(problem, SHOWN_PROBLEM_CHARS), line
        self.column = shown(column) if column is not None else None
        where = self.file
        if line is not None:
            where += f", line {line}"
        if self.column is not None:
            where += f", column {self.column}"
        super().__init__(f"delivery refused: {where}: {self.problem}")


class RunLocked(AuditError):
    pass


class QualityBlocked(AuditError):
    """Blocking data-quality checks failed: indicators would be wrong, so nothing is published."""
