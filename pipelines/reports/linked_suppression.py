"""Small-cell suppression across indicators that count the same patients.

MM02, MM11, MM12 and MM14 all count the patients with a first HDT (ASCT) in the year, so per
unit and year their totals are equal; MM05's patients are among MM01's and MM08's among
MM02's (the catalogue's ``same_patients_as`` and ``patients_within``). A reader of the
publication knows that from the definitions and can join the indicators' tables: a total
hidden in one and published in another is known, and the bounds each table puts on a shared
hidden total can meet. An independent review pinned dozens of counts of 1–4 so (05-12-2026)
in tables each safe on its own.

A linked group is protected together, after each indicator is protected on its own
(``small_cells.py``):

1. a total shared by equal populations is hidden in every one of them where one hides it
   (each table then protected again with it hidden, until nothing changes);
2. the years' tables as one system — every indicator's relations and the links, where they
   hold for the true counts — under the linear programme (``programme.py``): while a count of
   1–4 (suppressed, or never published) has one whole number left, one more cell is hidden,
   taken among the published cells that hold its least or greatest value where it is (the
   programme's non-zero reduced costs), by the same preferences as within a table; of the
   first few, the first that frees the cell on its own. Each table is then protected again
   on its own with those cells hidden, so that within an indicator every suppressed cell
   stays unrecoverable, as for any indicator. Steps 1 and 2 are done twice, with Danmark's
   shared totals as ordinary complements and as complements of last resort
   (``_shared_totals``), and the protection of the years that publishes more proportions
   (then more of Danmark's, then hides fewer cells) is kept;
3. with pooling, the same for the pooled rows: each indicator's as within a table, then the
   join with the years fixed and complements among the pooled cells only (so the years'
   tables are the same with and without pooling), then each indicator's again. An
   indicator's pooled rows that cannot be protected so are not published.

Hiding more only widens what every programme allows, so what an attack showed safe stays
safe. Across indicators only counts of 1–4 are protected: a complement of 5 or more (``x``)
may be recovered from the join (it is not a small count).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from pipelines.indicators.catalogue import BY_ID
from pipelines.reports import small_cells as S
from pipelines.reports.programme import Programme

Member = tuple[int, int, str]  # (indicator's place in the group, row, column)


def protect_linked(blocks: list[list[dict]], pool: str | None, shapes: dict) -> list[tuple[list[dict], list[dict]]]:
    """``suppression._protect_indicator`` of each block (one indicator's rows) of a linked group,
    protected together (see the module's text)."""
    ids = [rows[0]["indicator_id"] for rows in blocks]
    shared = _shared_totals(blocks, ids)
    years = _years_protected(blocks, ids, shapes, [set() for _ in blocks])
    if any(shared):
        careful = _years_protected(blocks, ids, shapes, shared)
        if _shown(blocks, careful) > _shown(blocks, years):
            years = careful
    if pool is None:
        return [S.published(rows, decided, None, {}) for rows, decided in zip(blocks, years)]
    systems = [S.pooled_system(rows, pool) for rows in blocks]
    pooled = [S.pooled_protected(system, len(rows), decided, shapes)
              for system, rows, decided in zip(systems, blocks, years)]
    while True:
        kept = [cells is not None for cells in pooled]
        try:
            joined = _Joint([system if keep else system[:len(rows)] for system, rows, keep in zip(systems, blocks, kept)],
                            ids, [cells if keep else decided for cells, decided, keep in zip(pooled, years, kept)],
                            pooled_only=True, shapes=shapes).protected()
        except _Unprotectable as error:  # nothing left to hide: pooled rows not published
            if not any(kept):  # the years alone were protected above: cannot happen
                raise RuntimeError(f"cannot protect the linked group {ids}") from error
            for m in [error.member] if kept[error.member] else range(len(blocks)):
                pooled[m] = None
            continue
        break
    pooled = [None if not keep else before if cells.keys() == before.keys() else
              S.pooled_protected(system, len(rows), cells.keys(), shapes)
              for system, rows, cells, before, keep in zip(systems, blocks, joined, pooled, kept)]
    return [S.published(*parts) for parts in zip(blocks, years, systems, pooled)]


def _years_protected(blocks: list[list[dict]], ids: list[str], shapes: dict, costly: list[set[S.Cell]]) -> list[dict]:
    """Steps 1 and 2 of the module's text: each indicator's years, then the join."""
    years = [S.years_protected(rows, shapes, costly=cells) for rows, cells in zip(blocks, costly)]
    _share_hidden_totals(blocks, ids, years, shapes, costly)
    joined = _Joint([[{**r, "period": str(r["year"])} for r in rows] for rows in blocks], ids, years,
                    pooled_only=False, shapes=shapes, costly=costly).protected()
    # every cell hidden for the group protected in its own table too (hiding more keeps the join safe)
    return [S.years_protected(rows, shapes, cells.keys(), decided, wanted)
            for rows, cells, decided, wanted in zip(blocks, joined, years, costly)]


def _shown(blocks: list[list[dict]], years: list[dict]) -> tuple[int, int, int]:
    """What a protection of the group's years publishes, to compare two: its proportions,
    Danmark's among them, and (fewer is better) the cells it hides."""
    national = proportions = 0
    for rows, decided in zip(blocks, years):
        for row in S.published(rows, decided, None, {})[0]:
            if not row["withheld"] and row["denominator"] != "0":
                proportions += 1
                national += row["level"] == "national"
    return proportions, national, -sum(len(decided) for decided in years)


def _equal_class(iid: str) -> str:
    indicator = BY_ID.get(iid)
    return (indicator.same_patients_as if indicator else None) or iid


def _total_key(blocks: list[list[dict]], ids: list[str], m: int, i: int) -> tuple:
    row = blocks[m][i]
    return (_equal_class(ids[m]), row["year"], row["level"], row["unit"], int(row["total"]))


def _shared_totals(blocks: list[list[dict]], ids: list[str]) -> list[set[S.Cell]]:
    """Per indicator Danmark's totals another indicator of the group has too (the same
    patients, equal): hiding one hides it in all (``_share_hidden_totals``), and the others'
    national proportions often with it. On the 10,000-patient synthetic delivery MM11 hid
    Danmark's 2024 and 2025 totals for an excluded count of 2 and 3, and so MM02's and MM14's
    national proportions were withheld; taken as complements of last resort
    (``small_cells.preference``) they are published. Where hiding them shows more (hiding other
    cells instead can cascade), the ordinary protection is kept (``protect_linked``). Below
    Danmark the rule withheld more proportions than it freed on the decks measured
    (05-12-2026)."""
    keys = [[_total_key(blocks, ids, m, i) for i in range(len(rows))] for m, rows in enumerate(blocks)]
    seen: dict[tuple, int] = defaultdict(int)
    for member in keys:
        for key in set(member):
            seen[key] += 1
    return [{(i, "total") for i, key in enumerate(member) if seen[key] > 1 and key[2] == "national"} for member in keys]


def _share_hidden_totals(blocks: list[list[dict]], ids: list[str], years: list[dict], shapes: dict,
                         shared: list[set[S.Cell]]) -> None:
    """A total hidden in one indicator is hidden in every indicator with the same patients
    (where their totals are equal), each table protected again with it, until none changes."""
    while True:
        hidden = {_total_key(blocks, ids, m, i) for m, decided in enumerate(years) for i, column in decided
                  if column == "total"}
        changed = False
        for m, rows in enumerate(blocks):
            wanted = {(i, "total") for i in range(len(rows)) if _total_key(blocks, ids, m, i) in hidden} - years[m].keys()
            if wanted:
                years[m] = S.years_protected(rows, shapes, years[m].keys() | wanted, years[m], shared[m])
                changed = True
        if not changed:
            return


class _Unprotectable(Exception):
    def __init__(self, member: int):
        super().__init__(member)
        self.member = member


class _Joint:
    """The group's tables as one system under the linear programme; ``protected`` hides cells
    until no count of 1–4 is recovered."""

    def __init__(self, systems: list[list[dict]], ids: list[str], decided: list[dict], pooled_only: bool,
                 shapes: dict, costly: list[set[S.Cell]] | None = None):
        self.rows: dict[tuple[int, int], dict] = {}
        values: dict[Member, int] = {}
        self.never: set[Member] = set()   # never published
        self.marks: dict[Member, str] = {}
        totals: dict[tuple, Member] = {}
        equations: list[tuple[list[tuple[Member, int]], float, float]] = []
        for m, system in enumerate(systems):
            for i, row in enumerate(system):
                self.rows[(m, i)] = row
                for column in S.COUNT_COLUMNS:
                    values[(m, i, column)] = int(row[column])
                values[(m, i, S.HIDDEN)] = int(row["denominator"]) - int(row["met"])
                self.never.add((m, i, S.HIDDEN))
                if row.get("pooled"):
                    self.never |= {(m, i, c) for c in S.COUNT_COLUMNS if c not in S.POOLED_SHOWN}
                else:
                    totals[(ids[m], row["period"], row["level"], row["unit"])] = (m, i, "total")
            equations += [([((m, *c), a) for c, a in rel.terms], 0.0, 0.0) for rel in S.related(system, shapes)[0]]
            self.marks.update({(m, *c): marker for c, marker in decided[m].items() if c[0] < len(system)})
        for (iid, *place), cell in totals.items():  # the links, where the true counts keep them
            indicator = BY_ID.get(iid)
            if indicator is None:
                continue
            same = totals.get((indicator.same_patients_as, *place))
            if same is not None and values[same] == values[cell]:
                equations.append(([(cell, 1), (same, -1)], 0.0, 0.0))
            larger = totals.get((indicator.patients_within, *place))
            if larger is not None and values[cell] <= values[larger]:
                equations.append(([(larger, 1), (cell, -1)], 0.0, math.inf))
        self.values = values
        self.equations = equations
        self.by_cell: dict[Member, list[int]] = defaultdict(list)
        for e, (terms, _, _) in enumerate(equations):
            for c, _ in terms:
                self.by_cell[c].append(e)
        self.decided = decided
        self.pooled_only = pooled_only
        self.costly = {(m, *c) for m, cells in enumerate(costly or []) for c in cells}
        # the programme's columns: the unknown cells and those that may be hidden; a cell published
        # for good is a constant of its rows (a smaller model, the same answers)
        every = list(values)
        position = {c: k for k, c in enumerate(every)}
        truth = np.array([values[c] for c in every], dtype=float)
        lower, upper = truth.copy(), truth.copy()
        for c in self.never | self.marks.keys():
            lower[position[c]], upper[position[c]] = self._bounds(c)
        rows = [([(position[c], a) for c, a in terms], low, high) for terms, low, high in equations]
        columns = np.array([self._unknown(c) or self._may_hide(c) for c in every])
        self.lp, column = Programme.over(rows, truth, columns, lower, upper)
        self.cells = [every[k] for k in column]  # (in column order: ``column`` keeps the cells' order)
        self.index = {c: column[position[c]] for c in self.cells}

    def _bounds(self, c: Member) -> tuple[float, float]:
        if c in self.never:
            return 0.0, math.inf
        return (0.0, 4.0) if self.values[c] < 5 else (5.0, math.inf)

    def _unknown(self, c: Member) -> bool:
        return c in self.never or c in self.marks

    def _may_hide(self, c: Member) -> bool:
        return not self._unknown(c) and bool(self.rows[c[:2]].get("pooled")) == self.pooled_only

    def _score(self, c: Member) -> tuple:
        return (*S.preference(self.values[c], c[2], S.LEVELS.index(self.rows[c[:2]]["level"]), c in self.costly), c)

    def _hide(self, c: Member) -> None:
        self.marks[c] = S.PRIMARY if self.values[c] < 5 else S.COMPLEMENT
        self.lp.bound(self.index[c], *self._bounds(c))

    def _publish(self, c: Member) -> None:
        del self.marks[c]
        value = float(self.values[c])
        self.lp.bound(self.index[c], value, value)

    def _neighbours(self, target: Member) -> list[Member]:
        """Cells that may be hidden in the relations of ``target``, widened through the
        unknown cells next to it while there are none."""
        seen, reach = {target}, list(self.by_cell[target])
        while True:
            options = sorted({c for e in reach for c, _ in self.equations[e][0] if self._may_hide(c)}, key=self._score)
            if options:
                return options
            nearby = {c for e in reach for c, _ in self.equations[e][0] if c not in seen and self._unknown(c)}
            if not nearby:
                return []
            seen |= nearby
            reach = [e for c in nearby for e in self.by_cell[c]]

    def protected(self) -> list[dict]:
        """Each indicator's suppressed cells, (row, column) → marker, after the joint attack.
        One pass is enough: hiding a cell never lets a cell already freed be recovered again."""
        sensitive = [self.index[c] for c in self.cells if self._unknown(c) and self.values[c] in S.SMALL]
        safe = self.lp.shown_safe(sensitive)
        for target in sorted((self.cells[k] for k in sensitive if k not in safe),
                             key=lambda c: (-S.LEVELS.index(self.rows[c[:2]]["level"]), c)):
            binding: list[int] = []
            while self.lp.recovered(self.index[target], binding):
                self._hide(self._complement(target, binding))
                binding = []
        out: list[dict] = [{} for _ in self.decided]
        for (m, i, column), marker in self.marks.items():
            out[m][(i, column)] = marker
        return out

    def _complement(self, target: Member, binding: list[int]) -> Member:
        """The cell to hide for ``target``: of the best-placed cells that hold its extremes (else
        its neighbours), the first that frees it on its own, else the first."""
        options = sorted({self.cells[k] for k in binding if self._may_hide(self.cells[k])}, key=self._score)
        options = options or self._neighbours(target)
        if not options:
            raise _Unprotectable(target[0])
        for c in S.worth_trying(options, self.costly):
            self._hide(c)
            frees = not self.lp.recovered(self.index[target])
            self._publish(c)
            if frees:
                return c
        return options[0]
