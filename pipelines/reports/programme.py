"""The strongest attack the small-cell suppression answers: a linear programme over a whole
published system (``small_cells.py``, within one indicator; ``linked_suppression.py``, across
indicators that count the same patients).

Every cell is a column: a published cell fixed at its value, an unknown one within what the
publication says of it (``<5``: 0–4, ``x``: 5 or more, unpublished: 0 or more). Every relation
is a row (a sum, or a range: one indicator's patients among another's). A cell is
*recovered* when its least and greatest value leave no whole number but its own. Solved with
HiGHS (``highspy``), imported only when a programme is made: not on every run's imports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

Row = tuple[Sequence[tuple[int, int]], float, float]  # (cell, coefficient) terms, least and greatest sum


class Programme:
    def __init__(self, rows: Iterable[Row], truth: np.ndarray, lower: np.ndarray, upper: np.ndarray):
        """``truth``: every cell's true value; ``lower``/``upper``: what the attacker knows of it
        (equal to the truth for a published cell; ``math.inf`` for no greatest value)."""
        import highspy

        self._highspy = highspy
        self.truth = np.asarray(truth, dtype=float)
        self.lower = np.asarray(lower, dtype=float).copy()
        self.upper = np.where(np.isinf(upper), highspy.kHighsInf, np.asarray(upper, dtype=float))
        starts, cells, coefficients, least, most = [0], [], [], [], []
        for terms, low, high in rows:
            cells += [k for k, _ in terms]
            coefficients += [float(a) for _, a in terms]
            starts.append(len(cells))
            least.append(low)
            most.append(highspy.kHighsInf if high == math.inf else high)
        lp = self.lp = highspy.Highs()
        lp.setOptionValue("output_flag", False)
        n = len(self.truth)
        self._all = np.arange(n, dtype=np.int32)
        lp.addVars(n, self.lower, self.upper)
        lp.addRows(len(least), np.array(least, dtype=float), np.array(most, dtype=float), len(cells),
                   np.array(starts[:-1], dtype=np.int32), np.array(cells, dtype=np.int32),
                   np.array(coefficients, dtype=float))

    @classmethod
    def over(cls, rows: Iterable[Row], truth: np.ndarray, columns: np.ndarray, lower: np.ndarray,
             upper: np.ndarray) -> tuple[Programme, dict[int, int]]:
        """The programme of ``rows`` over the cells marked in ``columns`` only, the others' true
        values moved into each row's sum: the same answers from a smaller model, for cells whose
        value the attacker knows for good. Also each kept cell's column."""
        cells = np.flatnonzero(columns)
        column = {int(k): j for j, k in enumerate(cells)}
        kept_rows = []
        for terms, low, high in rows:
            kept = [(column[k], a) for k, a in terms if k in column]
            if kept:
                fixed = float(sum(a * truth[k] for k, a in terms if k not in column))
                kept_rows.append((kept, low - fixed, high - fixed))
        return cls(kept_rows, truth[cells], lower[cells], upper[cells]), column

    def bound(self, k: int, lower: float, upper: float) -> None:
        """What the attacker knows of cell ``k`` from now on."""
        self.lower[k] = lower
        self.upper[k] = self._highspy.kHighsInf if upper == math.inf else upper
        self.lp.changeColBounds(k, self.lower[k], self.upper[k])

    def shown_safe(self, cells: Iterable[int]) -> set[int]:
        """Of ``cells``, those a few programmes show not recovered: the sum of the open cells
        pushed up (then down), each held within one of its true value so the optimum is
        bounded; any table found satisfies every relation, so a cell it puts one away from its
        value is safe. Repeated while it shows more."""
        highspy, lp, truth = self._highspy, self.lp, self.truth
        open_cells, safe = sorted(set(cells)), set()
        while open_cells:
            proven: set[int] = set()
            for sign, bound in ((-1.0, np.minimum(self.upper, truth + 1)), (1.0, np.maximum(self.lower, truth - 1))):
                todo = np.array([k for k in open_cells if k not in proven], dtype=np.int32)
                if not len(todo):
                    break
                held = (self.lower, bound) if sign < 0 else (bound, self.upper)
                lp.changeColsBounds(len(truth), self._all, *held)
                lp.changeColsCost(len(todo), todo, np.full(len(todo), sign))
                lp.run()
                if lp.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                    values = np.asarray(lp.getSolution().col_value)
                    proven |= {int(k) for k in todo if abs(values[k] - truth[k]) >= 1 - 1e-6}
                lp.changeColsCost(len(todo), todo, np.zeros(len(todo)))
            lp.changeColsBounds(len(truth), self._all, self.lower, self.upper)
            if not proven:
                break
            safe |= proven
            open_cells = [k for k in open_cells if k not in proven]
        return safe

    def recovered(self, k: int, binding: list[int] | None = None) -> bool:
        """Whether cell ``k``'s least and greatest value leave no other whole number. A
        programme not solved counts as recovered, never as safe. ``binding`` gets the cells
        whose fixed value or bound holds an extreme where it is (non-zero reduced cost): the
        cells worth hiding to free it."""
        highspy, lp = self._highspy, self.lp
        truth = self.truth[k]
        for sign in (-1.0, 1.0):  # greatest, then least
            lp.changeColCost(k, sign)
            lp.run()
            status, objective = lp.getModelStatus(), lp.getInfo().objective_function_value
            if binding is not None and status == highspy.HighsModelStatus.kOptimal:
                reduced = np.asarray(lp.getSolution().col_dual)
                binding += [int(j) for j in np.flatnonzero(np.abs(reduced) > 1e-9) if j != k]
            lp.changeColCost(k, 0.0)  # (a change to the model clears its solution: read first)
            if status == highspy.HighsModelStatus.kUnbounded:
                return False
            if status == highspy.HighsModelStatus.kOptimal:
                extreme = sign * objective
                if (extreme >= truth + 1 - 1e-6) if sign < 0 else (extreme <= truth - 1 + 1e-6):
                    return False
        return True
