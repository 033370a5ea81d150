"""Errors that stop a run with one clear message (and never a traceback or a clear CPR)."""

from __future__ import annotations


class AuditError(Exception):
    """A run that cannot go on; ``str(err)`` is the whole message for the user."""


class DeliveryRefused(AuditError):
    """The delivery cannot be read as a whole: nothing from it is published."""

    def __init__(self, file: str, problem: str, line: int | None = None, column: str | None = None):
        from pipelines.lib.pseudonym import scrub  # a file name, header cell or zip entry may hold a CPR

        self.file, self.problem, self.line = scrub(file), scrub(problem), line
        self.column = scrub(column) if column is not None else None
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
