"""Small-cell suppression of one indicator's published tables (indicators.md, *Small cells*).

Per indicator × year the published table has one row per unit (Danmark, regions, hospitals,
departments) and these counts per row: met (the numerator), not_met, unknown (uoplyst),
denominator, justified, excluded, pending and total (the base population). They are tied
by linear relations an attacker can use:

* in a row: denominator = met + not_met + unknown; total = denominator + justified +
  excluded + pending; and the unpublished denominator − numerator = not_met + unknown;
* down the hierarchy, per count: Danmark = Σ regions; Σ regions of a group = Σ their
  hospitals (one region and its hospitals, unless a hospital spans regions); hospital = Σ
  its departments.

*Primary* suppression: every published count of 1–4. Denominator − numerator of 1–4 is
never published and must not be derivable either. *Complementary* suppression: more cells
until no suppressed cell, and no hidden denominator − numerator of 1–4, can be recovered.
A suppressed cell is shown as ``<5`` ("fewer than five") when it is 0–4 and as ``x`` when it
is 5 or more; so a ``<5`` may hide a zero chosen as a complement, and an attacker knows
only 0–4 for it, and ≥ 5 for an ``x``. Two attacks are run after every added cell, and a
cell is added where one succeeds:

1. linear: the suppressed cells as unknowns of every relation; a cell is recovered when
   the relations fix it (exact elimination, modulo a 61-bit prime);
2. bounds: ``<5`` is 0–4, ``x`` is ≥ 5, a hidden cell is ≥ 0; bounds are propagated
   through every relation until stable; a cell is recovered when its bounds meet (this
   catches e.g. two ``<5`` beside a published total of 8).

When neither finds a cell, a third, stronger one is run before the table is accepted:

3. linear programme: with the same bounds and every relation at once, each protected cell's
   least and greatest value (HiGHS); a cell is recovered when no other whole number lies
   between them. Propagation combines the relations one at a time and misses what only their
   combination fixes (an independent review recovered a region's 4 from its years, its pooled
   figure and the regions beside it).

Before the attacks, a cheap pass gives every relation with exactly one unknown a second
suppressed cell. Complements are chosen among the published cells of a relation the
exposed cell is in, preferring a non-zero count, a cell the caller has not marked costly
(``linked_suppression``: Danmark's total that other indicators share), a status count over
the total, the numerator or the denominator, a department over a hospital over a region over
Danmark, and the smallest value; of the first few, the first that protects the exposed cell on
its own is taken (a costly one only when the best-placed is costly too). The proportion, its
interval, standard met and met / (met + not_met) are withheld wherever the numerator or
denominator is suppressed, or denominator − numerator is 1–4.

*Pooling* (``suppression.suppress(..., pool="2024-2026")``): where the rule withholds a unit's
proportion in a year but its three years together are large enough, the publication adds
the unit's pooled row (numerator, denominator, proportion; its other counts unpublished).
A pooled row is the sum of the unit's yearly rows, and a pooled hospital, region or Danmark
the sum of the pooled rows below it: these relations join the system, the attacks run on an
indicator's yearly and pooled rows together, and complements are taken among the pooled
cells only, so the years' tables stay exactly as without pooling.

*Linked indicators* (the catalogue's ``same_patients_as`` and ``patients_within``: MM02, MM11,
MM12 and MM14 count the same patients, MM05's are among MM01's): each is protected as above,
then the group is protected as one system against the linear programme, the links included
(``linked_suppression.py``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pipelines.reports.programme import Programme

STATUS_COLUMNS = ("met", "not_met", "unknown", "justified", "excluded", "pending")
COUNT_COLUMNS = ("met", "not_met", "unknown", "denominator", "justified", "excluded", "pending", "total")
HIDDEN = "denominator_minus_numerator"
PRIMARY, COMPLEMENT = "<5", "x"
POOLED_SHOWN = ("met", "denominator")  # a pooled row publishes its numerator and denominator only
LEVELS = ("national", "region", "hospital", "department")
SMALL = range(1, 5)
BIG = 10**9
TRIES = 4  # candidates tried one by one for an exposed cell

# lower = suppressed first when a complement is needed
COLUMN_RANK = {"justified": 0, "excluded": 0, "pending": 0, "unknown": 1, "not_met": 1, "total": 2,
               "met": 3, "denominator": 4}

Cell = tuple[int, str]


@dataclass(frozen=True)
class Relation:
    """Σ sign × cell = 0 over ``terms`` (cell, sign)."""

    terms: tuple[tuple[Cell, int], ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return tuple(c for c, _ in self.terms)

    @classmethod
    def sum(cls, total: Cell, parts: Iterable[Cell]) -> "Relation":
        return cls(((total, 1), *((p, -1) for p in parts)))


def relations(rows: list[dict]) -> list[Relation]:
    """Every relation between the cells of ``rows``: one indicator × year table, or (rows
    with a ``period``) an indicator's yearly tables and its pooled rows together.

    ``rows`` carry ``level``, ``unit``, ``region`` (of regions, hospitals and departments)
    and ``hospital`` (of hospitals and departments); in a pooled publication also ``period``
    (the year, or the pooled years) and ``pooled``. Each year's table has the relations of
    one table (``_table_relations``). A pooled row (a unit's years together) has the row
    relations, is the sum of the same unit's yearly rows per count, and is the sum of the
    pooled rows below it where every unit below it has one."""
    if not any(row.get("pooled") for row in rows) and len({row.get("period") for row in rows}) == 1:
        return _table_relations(rows)
    periods: dict[object, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if not row.get("pooled"):
            periods[row.get("period")].append(i)
    out: list[Relation] = []
    for positions in periods.values():
        for rel in _table_relations([rows[i] for i in positions]):
            out.append(Relation(tuple(((positions[k], column), sign) for (k, column), sign in rel.terms)))
    yearly: dict[tuple, list[int]] = defaultdict(list)
    pooled: dict[tuple, int] = {}
    for i, row in enumerate(rows):
        (pooled.__setitem__((row["level"], row["unit"]), i) if row.get("pooled")
         else yearly[(row["level"], row["unit"])].append(i))
    columns = (*COUNT_COLUMNS, HIDDEN)
    for i in pooled.values():
        out += _row_relations(i)
        for column in columns:
            out.append(Relation.sum((i, column), [(j, column) for j in yearly[(rows[i]["level"], rows[i]["unit"])]]))
    # the pooled hierarchy, where every unit below has a pooled row (known from the yearly rows)
    below: dict[tuple, set[tuple]] = defaultdict(set)
    regions_of: dict[tuple, set] = defaultdict(set)   # a hospital's regions, from its departments
    for i, row in enumerate(rows):
        if row.get("pooled"):
            continue
        level, unit = row["level"], row["unit"]
        if level == "region":
            below[("national", "Danmark")].add((level, unit))
        elif level == "hospital":
            below[("region", row["region"])].add((level, unit))
        elif level == "department":
            below[("hospital", row["hospital"])].add((level, unit))
            regions_of[("hospital", row["hospital"])].add(row["region"])
    national = [k for k in pooled if k[0] == "national"]
    for upper, lower in below.items():
        if upper[0] == "national":
            upper = national[0] if national else upper
        if upper not in pooled or not lower <= pooled.keys():
            continue
        if upper[0] == "region" and any(regions_of[h] - {upper[1]} for h in lower):
            continue  # a hospital with departments in another region: not one region's sum
        for column in columns:
            out.append(Relation.sum((pooled[upper], column), [(pooled[k], column) for k in lower]))
    return out


def _row_relations(i: int) -> list[Relation]:
    """The relations within row ``i``."""
    return [
        Relation.sum((i, "denominator"), [(i, "met"), (i, "not_met"), (i, "unknown")]),
        Relation.sum((i, HIDDEN), [(i, "not_met"), (i, "unknown")]),
        Relation.sum((i, "denominator"), [(i, "met"), (i, HIDDEN)]),
        Relation.sum((i, "total"), [(i, "denominator"), (i, "justified"), (i, "excluded"), (i, "pending")]),
        Relation.sum((i, "total"), [(i, c) for c in STATUS_COLUMNS]),
    ]


def _table_relations(rows: list[dict]) -> list[Relation]:
    """The row and hierarchy relations of one table (one indicator, one period)."""
    out: list[Relation] = []
    for i in range(len(rows)):
        out += _row_relations(i)

    by_level: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_level[row["level"]].append(i)
    groups: list[tuple[list[int], list[int]]] = []  # (upper rows, lower rows): Σ upper = Σ lower
    if by_level["national"] and by_level["region"]:
        groups.append((by_level["national"], by_level["region"]))
    # regions and hospitals in connected groups (normally one region with its hospitals)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for i in by_level["department"] + by_level["hospital"]:
        parent[find("r:" + str(rows[i]["region"]))] = find("h:" + str(rows[i]["hospital"]))
    components: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i in by_level["region"]:
        components[find("r:" + str(rows[i]["unit"]))][0].append(i)
    for i in by_level["hospital"]:
        components[find("h:" + str(rows[i]["unit"]))][1].append(i)
    groups.extend(g for g in components.values() if g[0] and g[1])
    hospitals = {rows[i]["unit"]: i for i in by_level["hospital"]}
    departments: dict[int, list[int]] = defaultdict(list)
    for i in by_level["department"]:
        if rows[i]["hospital"] in hospitals:
            departments[hospitals[rows[i]["hospital"]]].append(i)
    groups.extend(([h], ds) for h, ds in departments.items())

    for upper, lower in groups:
        for column in (*COUNT_COLUMNS, HIDDEN):
            out.append(Relation(tuple(((j, column), 1) for j in upper) + tuple(((j, column), -1) for j in lower)))
    return out


class _System:
    """The relations of one table with the true values (which must satisfy every one)."""

    def __init__(self, rels: list[Relation], values: dict[Cell, int]):
        self.values = values
        self.equations = [rel.terms for rel in rels]
        for eq in self.equations:
            if sum(values[c] * s for c, s in eq) != 0:
                raise ValueError(f"the summary's counts break the relation {eq}")


PRIME = (1 << 61) - 1  # linear algebra modulo a large prime: exact integers, no BLAS


class _Shape:
    """What the attacks need that depends only on a table's hierarchy, not on its counts
    (shared by the indicator × year tables with the same units): the relations as cell
    numbers, their terms grouped by relation and by cell (for the bounds), and the linear
    attack's start — every count published, every denominator − numerator hidden."""

    def __init__(self, equations: tuple[tuple[tuple[int, int], ...], ...], n: int, hidden: frozenset[int]):
        eq = [e for e, terms in enumerate(equations) for _ in terms]
        self.term_cell = np.array([k for terms in equations for k, _ in terms], dtype=np.int64)
        self.term_eq = np.array(eq, dtype=np.int64)
        self.positive = np.array([s for terms in equations for _, s in terms], dtype=np.int64) > 0
        self.eq_start = np.flatnonzero(np.r_[True, self.term_eq[1:] != self.term_eq[:-1]])
        self.by_cell = np.argsort(self.term_cell, kind="stable")
        sorted_cells = self.term_cell[self.by_cell]
        self.cell_start = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
        if len(self.cell_start) != n or not np.array_equal(sorted_cells[self.cell_start], np.arange(n)):
            raise ValueError("every cell must be in a relation")
        self.known = frozenset(range(n)) - hidden
        parts = _parts(equations, n, WIDTH)
        spanned = _span_by_parts(parts, n, WIDTH, self.known) if parts else None
        if spanned is None:
            images = _kronecker(parts, n, WIDTH) if parts else _images(equations, n)
            spanned = _span(images, sorted(self.known))
        # basis: the published cells whose images span the published cells' images (the first
        # independent ones, in cell order); coords: cell -> {basis cell: coefficient}, cells in the span
        self.basis, self.coords = spanned
        self.users: dict[int, set[int]] = defaultdict(set)  # basis cell -> cells whose coordinates use it
        for k, coords in self.coords.items():
            for b in coords:
                if b != k:
                    self.users[b].add(k)


def _span(images: list[dict[int, int]], candidates: list[int]) -> tuple[set[int], dict[int, dict[int, int]]]:
    """Of ``candidates`` (in their order), those whose image is independent of the ones before
    (a basis of their span), and every image's coordinates in that basis (images outside the
    span have none): exact elimination modulo ``PRIME``."""
    basis: set[int] = set()
    echelon: dict[int, tuple[dict[int, int], dict[int, int]]] = {}  # pivot -> (vector, as basis cells)

    def reduce(vector: dict[int, int]) -> tuple[dict[int, int], dict[int, int]]:
        rest, combination = dict(vector), {}
        for p in [p for p in rest if p in echelon]:
            factor = rest.get(p, 0)
            if factor:
                row, via = echelon[p]
                _axpy(rest, -factor, row)
                _axpy(combination, factor, via)
        return rest, combination

    for k in candidates:
        rest, combination = reduce(images[k])
        if not rest:
            continue
        pivot = min(rest)
        inverse = pow(rest[pivot], PRIME - 2, PRIME)
        row = {j: v * inverse % PRIME for j, v in rest.items()}
        via = {k: inverse}
        _axpy(via, -inverse, combination)
        for other, other_via in echelon.values():
            factor = other.get(pivot, 0)
            if factor:
                _axpy(other, -factor, row)
                _axpy(other_via, -factor, via)
        echelon[pivot] = (row, via)
        basis.add(k)
    coords: dict[int, dict[int, int]] = {}
    for k in range(len(images)):
        if k in basis:
            coords[k] = {k: 1}
        else:
            rest, combination = reduce(images[k])
            if not rest:
                coords[k] = combination
    return basis, coords


def _span_by_parts(parts: tuple[list[dict[int, int]], list[dict[int, int]]], n: int, width: int,
                   known: frozenset[int]) -> tuple[set[int], dict[int, dict[int, int]]] | None:
    """``_span`` of the published cells' images, from the row and column images alone, when the
    published cells have the shape every summary's have (None otherwise): the full rows publish
    the same columns, every other row publishes some of those and comes after the last full
    row, with a row image spanned by the full rows' (a pooled row: the sum of its years).

    Then every published image is ρ_r ⊗ γ_c with ρ_r in the span R of the full rows' images
    and γ_c in the span C of the published columns' images, so the span is R ⊗ C; taken in cell
    order (row by row), a full row's cell is independent of those before exactly when the row
    image is independent of the earlier full rows' and the column image of the earlier
    columns', so the basis is the row basis × the column basis, and a cell's coordinates are the
    products of its row's and its column's (ρ_r ⊗ γ_c lies in R ⊗ C exactly when ρ_r in R and
    γ_c in C, or one of them is zero). The same basis and coordinates as ``_span`` of the
    cells' images (``tests/reports/test_report_suppression.py`` compares them)."""
    by_row, by_column = parts
    rows = n // width
    published: list[frozenset[int]] = [frozenset(c for c in range(width) if r * width + c in known) for r in range(rows)]
    columns = frozenset().union(*published)
    full = [r for r in range(rows) if published[r] == columns]
    if not full or any(published[r] and r < full[-1] for r in range(rows) if published[r] != columns):
        return None
    row_basis, row_coords = _span(by_row, full)
    if any(published[r] and r not in row_coords for r in range(rows)):
        return None
    column_basis, column_coords = _span(by_column, sorted(columns))
    basis = {r * width + c for r in row_basis for c in column_basis}
    coords: dict[int, dict[int, int]] = {}
    for k in range(n):
        r, c = divmod(k, width)
        if not by_row[r] or not by_column[c]:
            coords[k] = {}  # a zero image: the empty combination
        elif r in row_coords and c in column_coords:
            coords[k] = {a * width + b: u * v % PRIME for a, u in row_coords[r].items() for b, v in column_coords[c].items()}
    return basis, coords


WIDTH = len(COUNT_COLUMNS) + 1  # cells per row: the counts and the hidden denominator − numerator


def _parts(equations: tuple[tuple[tuple[int, int], ...], ...], n: int,
           width: int) -> tuple[list[dict[int, int]], list[dict[int, int]]] | None:
    """The row images and the column images of a table whose relations have the shape of a
    summary's (None otherwise): the same relations within every row, and the same relations
    down every column. The tables satisfying both are then exactly N_rows · Y · N_columnsᵀ
    (N: null-space bases of the two small systems), so a cell's image is the product of its
    row's and its column's image (Kronecker, ``_kronecker``). Any basis of the same space
    gives the same answers (which cells are independent, and how a cell is made of others),
    so the attacks do not change."""
    if n % width:
        return None
    rows = n // width
    in_rows: list[set] = [set() for _ in range(rows)]
    in_columns: list[set] = [set() for _ in range(width)]
    for eq in equations:
        row, column = {k // width for k, _ in eq}, {k % width for k, _ in eq}
        if len(row) == 1 and len(column) > 1:
            in_rows[row.pop()].add(tuple(sorted((k % width, s) for k, s in eq)))
        elif len(column) == 1 and len(row) > 1:
            in_columns[column.pop()].add(tuple(sorted((k // width, s) for k, s in eq)))
        else:
            return None
    if any(r != in_rows[0] for r in in_rows) or any(c != in_columns[0] for c in in_columns):
        return None
    return _images(tuple(sorted(in_columns[0])), rows), _images(tuple(sorted(in_rows[0])), width)


def _kronecker(parts: tuple[list[dict[int, int]], list[dict[int, int]]], n: int, width: int) -> list[dict[int, int]]:
    """Every cell's image from its row's and its column's."""
    by_row, by_column = parts
    size = 1 + max((b for image in by_column for b in image), default=-1)
    return [{a * size + b: u * v % PRIME for a, u in by_row[k // width].items() for b, v in by_column[k % width].items()}
            for k in range(n)]


def _images(equations: tuple[tuple[tuple[int, int], ...], ...], n: int) -> list[dict[int, int]]:
    """Each cell's image: its row of a null-space basis of the relations (the free columns
    of the fully reduced relations, modulo ``PRIME``)."""
    pivots: dict[int, dict[int, int]] = {}
    for eq in equations:
        row: dict[int, int] = {}
        for k, sign in eq:
            row[k] = (row.get(k, 0) + sign) % PRIME
        row = {k: v for k, v in row.items() if v}
        for k in [k for k in row if k in pivots]:
            factor = row.get(k, 0)
            if factor:
                _axpy(row, -factor, pivots[k])
        if not row:
            continue
        pivot = min(row)
        inverse = pow(row[pivot], PRIME - 2, PRIME)
        row = {j: v * inverse % PRIME for j, v in row.items()}
        for other in pivots.values():
            factor = other.get(pivot, 0)
            if factor:
                _axpy(other, -factor, row)
        pivots[pivot] = row
    free = {k: f for f, k in enumerate(k for k in range(n) if k not in pivots)}
    return [{free[j]: -v % PRIME for j, v in pivots[k].items() if j != k} if k in pivots else {free[k]: 1}
            for k in range(n)]


class _Attacker:
    """The attacks on one table, the first two kept up to date while cells are hidden (the
    linear programme, ``programmed``, is built anew when it runs).

    Gives the same answers as the plain reference attacks (``exposed`` in the test oracle
    ``tests/reports/suppression_oracle.py``), faster:

    * linear: the tables that satisfy every relation form a space; a cell's *image* is its
      coordinate functional on that space (its row of a null-space basis of the relations).
      An unknown cell is fixed exactly when its image lies in the span of the published
      cells' images — the same question as the oracle's full elimination asks, in the same
      field (modulo ``PRIME``). That span is kept as a basis of published cells plus the
      coordinates of every cell in it, and updated when a cell is hidden (exchange the
      cell out of the basis, or drop one dimension). Whether hiding one more cell would
      leave a given cell fixed is then read off without any elimination.
    * bounds: the same propagation as the oracle's ``bounds_attack``, all relations at once
      with numpy, until nothing changes. Propagation only narrows bounds that always hold the true
      values, so it ends in the one greatest common fixpoint whatever the order.
    """

    def __init__(self, rels: list[Relation], values: dict[Cell, int], hidden: set[Cell],
                 shapes: dict | None = None, equations: tuple | None = None):
        self.cells = list(values)
        index = self.index = {c: k for k, c in enumerate(self.cells)}
        if equations is None:  # the relations as cell numbers (given: the same, kept from a table like this)
            equations = _equations(rels, index)
        hidden_ids = frozenset(index[c] for c in hidden)
        key = (len(self.cells), hidden_ids, equations)
        shape = shapes.get(key) if shapes is not None else None
        if shape is None:
            shape = _Shape(equations, len(self.cells), hidden_ids)
            if shapes is not None:
                shapes[key] = shape
        self.shape = shape
        self.known = set(shape.known)
        self.basis = set(shape.basis)
        self.coords = {k: dict(v) for k, v in shape.coords.items()}
        self.users = defaultdict(set, {b: set(v) for b, v in shape.users.items()})
        value = self.value = np.array([values[c] for c in self.cells], dtype=np.int64)
        is_hidden = np.zeros(len(self.cells), dtype=bool)
        is_hidden[list(hidden_ids)] = True
        self.start_lo = np.where(is_hidden, 0, np.where(value < 5, 0, 5))
        self.start_hi = np.where(is_hidden, BIG, np.where(value < 5, 4, BIG))
        self.unknown = is_hidden
        self.equations = equations
        self.safe: set[Cell] = set()  # cells the linear programme could not recover

    def _set(self, k: int, coords: dict[int, int] | None) -> None:
        for b in self.coords.pop(k, {}):
            if b != k:
                self.users[b].discard(k)
        if coords is not None:
            self.coords[k] = coords
            for b in coords:
                if b != k:
                    self.users[b].add(k)

    def _replacement(self, c: int) -> int | None:
        """A published cell outside the basis whose coordinates use basis cell ``c``."""
        return min((j for j in self.users[c] if j in self.known and j != c), default=None)

    def hide(self, cell: Cell) -> None:
        """``cell`` (published so far) becomes unknown to the attacker."""
        c = self.index[cell]
        if c not in self.known:
            return
        self.known.discard(c)
        self.unknown[c] = True
        if c not in self.basis:
            return
        k = self._replacement(c)
        if k is None:  # the span loses the direction of c: every cell using it is no longer fixed
            for j in [*self.users[c], c]:
                self._set(j, None)
            self.basis.discard(c)
            return
        # exchange c for k: image(c) = (image(k) − Σ_{b≠c} a_b image(b)) / a_c
        a = self.coords[k]
        inverse = pow(a[c], PRIME - 2, PRIME)
        new_c = {b: -v * inverse % PRIME for b, v in a.items() if b != c}
        new_c[k] = inverse
        coords, users = self.coords, self.users
        for j in [*users[c], c]:  # every cell made with c: c's part made of new_c instead
            if j == k:
                continue
            updated = coords[j]
            factor = updated.pop(c)  # (c's own coordinates are {c: 1})
            for b, v in new_c.items():  # updated += factor × new_c, users kept as _set keeps them
                value = (updated.get(b, 0) + factor * v) % PRIME
                if value:
                    if b not in updated and b != j:
                        users[b].add(j)
                    updated[b] = value
                elif b in updated:
                    del updated[b]
                    if b != j:
                        users[b].discard(j)
        self._set(k, {k: 1})
        users[c].clear()  # no cell is made with c any more
        self.basis.discard(c)
        self.basis.add(k)

    def linear(self) -> set[Cell]:
        """Unknown cells the relations fix."""
        return {self.cells[k] for k in self.coords if k not in self.known}

    def stays_fixed(self, target: Cell, extra: Cell) -> bool:
        """Whether the relations still fix unknown ``target`` once published ``extra`` is hidden too."""
        t, c = self.index[target], self.index[extra]
        if t not in self.coords:
            return False
        if c not in self.basis or self._replacement(c) is not None:
            return True
        return self.coords[t].get(c, 0) == 0

    def bounds(self, extra: Cell | None = None, target: Cell | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """Bounds of every cell after propagation (published cells: their value), with
        ``extra`` hidden too; None as soon as ``target``'s bounds meet."""
        unknown = self.unknown
        if extra is not None:
            unknown = unknown.copy()
            unknown[self.index[extra]] = True
        lo = np.where(unknown, self.start_lo, self.value)
        hi = np.where(unknown, self.start_hi, self.value)
        t = self.index[target] if target is not None else None
        shape = self.shape
        cells, positive, eq, eq_start = shape.term_cell, shape.positive, shape.term_eq, shape.eq_start
        by_cell, cell_start = shape.by_cell, shape.cell_start
        while True:
            lo_t, hi_t = lo[cells], hi[cells]
            low_part = np.where(positive, lo_t, -hi_t)    # least value of sign × cell
            high_part = np.where(positive, hi_t, -lo_t)
            least = np.add.reduceat(low_part, eq_start)[eq]
            most = np.add.reduceat(high_part, eq_start)[eq]
            low = high_part - most                         # sign × cell ≥ −(the others' most)
            high = low_part - least                        # sign × cell ≤ −(the others' least)
            new_lo = np.maximum.reduceat(np.where(positive, low, -high)[by_cell], cell_start)
            new_hi = np.minimum.reduceat(np.where(positive, high, -low)[by_cell], cell_start)
            new_lo = np.where(unknown, np.maximum(lo, new_lo), lo)
            new_hi = np.where(unknown, np.minimum(hi, new_hi), hi)
            if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
                return lo, hi
            lo, hi = new_lo, new_hi
            if t is not None and lo[t] == hi[t]:
                return None

    def exposed(self, protect: set[Cell]) -> set[Cell]:
        """Cells of ``protect`` an attacker can recover (as the oracle's ``exposed``)."""
        found = self.linear() & protect
        lo, hi = self.bounds()
        fixed = np.flatnonzero(self.unknown & (lo == hi))
        return found | ({self.cells[k] for k in fixed} & protect)

    def programmed(self, protect: set[Cell]) -> set[Cell]:
        """Cells of ``protect`` an attacker recovers with a linear programme (``programme.py``):
        every relation at once, the unknown cells within their published bounds."""
        unknown = self.unknown
        upper = np.where(self.start_hi >= BIG, math.inf, self.start_hi)
        lp, column = Programme.over(((eq, 0.0, 0.0) for eq in self.equations), self.value, unknown, self.start_lo,
                                    upper)
        open_cells = [column[self.index[c]] for c in protect - self.safe if unknown[self.index[c]]]
        cell_of = {j: self.cells[k] for k, j in column.items()}
        self.safe |= {cell_of[j] for j in lp.shown_safe(open_cells)}
        found = set()
        for cell in sorted(protect - self.safe):
            k = self.index[cell]
            if not unknown[k]:
                continue
            if lp.recovered(column[k]):
                found.add(cell)
            else:
                self.safe.add(cell)  # hiding more cells only widens the range: it stays safe
        return found

    def protects(self, extra: Cell, target: Cell) -> bool:
        """Whether hiding ``extra`` too leaves ``target`` unrecoverable."""
        return not self.stays_fixed(target, extra) and self.bounds(extra, target) is not None


def _equations(rels: list[Relation], index: dict[Cell, int]) -> tuple[tuple[tuple[int, int], ...], ...]:
    return tuple(tuple((index[c], s) for c, s in rel.terms) for rel in rels)


def _axpy(row: dict[int, int], factor: int, other: dict[int, int]) -> None:
    """row += factor × other (modulo PRIME), dropping zeros."""
    factor %= PRIME
    if not factor:
        return
    for j, v in other.items():
        value = (row.get(j, 0) + factor * v) % PRIME
        if value:
            row[j] = value
        else:
            row.pop(j, None)


def preference(value: int, column: str, depth: int, costly: bool = False) -> tuple:
    """Which published cell is hidden first as a complement (lowest first): a non-zero count, a
    cell whose hiding costs no other table (``costly``: a total other indicators share), a
    status count over the total, the numerator or the denominator, a department over a hospital
    over a region over Danmark (``depth``: the place in ``LEVELS``), the smallest value."""
    return (value == 0, costly, COLUMN_RANK[column], -depth, value)


def worth_trying(options: list, costly: set) -> list:
    """Of complements ranked by ``preference``, the first few to try one by one for whether
    one alone protects the cell: a costly one only where the best-placed is costly too (a
    costly cell often protects on its own, and would otherwise be taken before a cheaper
    pair)."""
    return [c for c in options[:TRIES] if (c in costly) <= (options[0] in costly)]


def related(rows: list[dict], shapes: dict | None) -> tuple[list[Relation], tuple]:
    """``relations(rows)`` and the same as cell numbers (``_equations``: a row's cells in
    ``COUNT_COLUMNS`` order, then its hidden one), made once per hierarchy: they depend on the
    units only (``shapes``: the caller's cache)."""
    hierarchy = ("relations", *((r["level"], r["unit"], r.get("region"), r.get("hospital"), r.get("period"),
                                 bool(r.get("pooled"))) for r in rows))
    cached = shapes.get(hierarchy) if shapes is not None else None
    if cached is None:
        rels = relations(rows)
        index = {(i, column): i * WIDTH + k for i in range(len(rows)) for k, column in enumerate((*COUNT_COLUMNS, HIDDEN))}
        cached = (rels, _equations(rels, index))
        if shapes is not None:
            shapes[hierarchy] = cached
    return cached


def protect(rows: list[dict], shapes: dict | None = None, preset: set[Cell] | None = None,
            frozen: set[Cell] | None = None, costly: set[Cell] | None = None) -> dict[Cell, str]:
    """The suppressed cells of one indicator × year table (or of an indicator's yearly and
    pooled rows, see ``relations``): cell → ``<5`` or ``x``.

    ``shapes`` (any dict, kept by the caller) shares the count-independent part of the
    attacks between tables with the same hierarchy. ``preset``: cells suppressed from the
    start; ``frozen``: cells never taken as complements (their suppression is decided);
    ``costly``: cells taken after any other non-zero one (see ``preference``)."""
    values: dict[Cell, int] = {}
    for i, row in enumerate(rows):
        for column in COUNT_COLUMNS:
            values[(i, column)] = int(row[column])
        values[(i, HIDDEN)] = int(row["denominator"]) - int(row["met"])
    rels, equations = related(rows, shapes)
    _System(rels, values)  # the counts must satisfy every relation
    # never published: denominator − numerator, and a pooled row's counts besides met and denominator
    hidden = {c for c in values if c[1] == HIDDEN or rows[c[0]].get("pooled") and c[1] not in POOLED_SHOWN}
    primary = {c for c, v in values.items() if v in SMALL and c not in hidden}
    sensitive_hidden = {c for c in hidden if values[c] in SMALL}
    suppressed = primary | (preset or set())
    frozen = frozen or set()
    costly = costly or set()
    attacker = _Attacker(rels, values, hidden, shapes, equations)
    for c in sorted(suppressed):
        attacker.hide(c)
    depth = {i: LEVELS.index(row["level"]) for i, row in enumerate(rows)}
    rel_cells = [rel.cells for rel in rels]
    by_cell: dict[Cell, list[int]] = defaultdict(list)
    for r, cells in enumerate(rel_cells):
        for c in cells:
            by_cell[c].append(r)

    yearly = {i: not row.get("pooled") for i, row in enumerate(rows)}

    def score(c: Cell):  # a pooled figure's cells are given up before a year's
        return (yearly[c[0]], *preference(values[c], c[1], depth[c[0]], c in costly), c)

    def candidates(rel_ids: Iterable[int]) -> list[Cell]:
        return sorted({c for r in rel_ids for c in rel_cells[r]
                       if c not in suppressed and c not in hidden and c not in frozen}, key=score)

    # relations whose one unknown must stay unknown (kept up to date as cells are added)
    unknowns = [sum(c in suppressed or c in hidden for c in cells) for cells in rel_cells]

    def lone(r: int) -> bool:
        if unknowns[r] != 1:
            return False
        only = next(c for c in rel_cells[r] if c in suppressed or c in hidden)
        return only in suppressed or only in sensitive_hidden

    lonely = {r for r in range(len(rel_cells)) if lone(r)}

    def suppress_cell(c: Cell) -> None:
        suppressed.add(c)
        attacker.hide(c)
        for r in by_cell[c]:
            unknowns[r] += 1
            if lone(r):
                lonely.add(r)
            else:
                lonely.discard(r)

    while True:
        changed = True
        while changed:  # cheap pass: no relation with a single unknown that must stay unknown
            changed = False
            position = -1  # the relations in order, as a scan of all of them would meet them
            while (r := min((r for r in lonely if r > position), default=None)) is not None:
                position = r
                options = candidates([r])
                if options:
                    suppress_cell(options[0])
                    changed = True
        found = attacker.exposed(suppressed | sensitive_hidden) or attacker.programmed(suppressed | sensitive_hidden)
        if not found:
            return {c: PRIMARY if values[c] < 5 else COMPLEMENT for c in suppressed}
        cell = min(found, key=lambda c: (-depth[c[0]], c))
        reach, options = list(by_cell[cell]), candidates(by_cell[cell])
        seen = {cell}
        while not options:  # widen to the relations of the unknowns next to the cell
            nxt = {c for r in reach for c in rel_cells[r] if c not in seen and (c in suppressed or c in hidden)}
            if not nxt:
                raise RuntimeError(f"cannot protect suppressed cell {cell}")
            seen |= nxt
            reach = [r for c in nxt for r in by_cell[c]]
            options = candidates(reach)
        # the best-placed candidate that protects the cell on its own, else the best-placed one
        suppress_cell(next((c for c in worth_trying(options, costly) if attacker.protects(c, cell)), options[0]))


Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score 95 % interval, as ``sql/macros/indicator_macros.sql`` computes it."""
    if n <= 0:
        return None, None
    p = k / n
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4.0 * n * n))
    centre = p + z * z / (2 * n)
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


LEVEL_ORDER = {level: k for k, level in enumerate(LEVELS)}


def pooled_rows(rows: list[dict], label: str) -> list[dict]:
    """One row per unit of ``rows`` (an indicator's rows of several years): the counts of
    all of them together, with proportion, Wilson interval, standard met and
    met / (met + not_met); ``year`` = ``label``, ``pooled`` = True. Ordered as the report
    orders units: Danmark, each region with its hospitals, each hospital with its departments."""
    units: dict[tuple, dict] = {}
    for row in rows:
        key = (row["level"], row["unit"])
        if key not in units:
            units[key] = {**row, **{c: 0 for c in (*STATUS_COLUMNS, "denominator", "numerator", "total")
                                    if c in row or c in COUNT_COLUMNS}}
        pooled = units[key]
        for column in (*STATUS_COLUMNS, "denominator", "total"):
            pooled[column] += int(row[column])
    out = []
    for pooled in units.values():
        met, denominator = pooled["met"], pooled["denominator"]
        low, high = wilson(met, denominator)
        standard = pooled.get("standard")
        proportion = met / denominator if denominator else None
        pooled.update(year=label, pooled=True, numerator=met, proportion=proportion, ci_low=low, ci_high=high,
                      standard_met=None if standard is None or not denominator else proportion >= standard,
                      proportion_known=met / (met + pooled["not_met"]) if met + pooled["not_met"] else None)
        out.append(pooled)

    def order(r: dict) -> tuple:
        depth = LEVEL_ORDER[r["level"]]
        return (depth > 0, r.get("region") or "", depth > 1, r.get("hospital") or "", depth, str(r["unit"]))
    return sorted(out, key=order)


def _withheld_by_rule(row: dict) -> bool:
    """Whether the primary rule alone withholds a row's proportion (or it has none)."""
    met, denominator = int(row["met"]), int(row["denominator"])
    return not denominator or met in SMALL or denominator in SMALL or denominator - met in SMALL


def pooling_candidates(rows: list[dict], label: str) -> list[dict]:
    """The pooled rows worth publishing for one indicator's yearly ``rows``: units with a
    year whose proportion the primary rule withholds, whose years together it does not."""
    needy = {(r["level"], r["unit"]) for r in rows if _withheld_by_rule(r)}
    return [r for r in pooled_rows(rows, label) if (r["level"], r["unit"]) in needy and not _withheld_by_rule(r)]


def _in_table(local: dict[int, int], marked: set[Cell]) -> set[Cell]:
    """The cells of ``marked`` in one year's table, numbered by its rows (``local``: its row → the indicator's)."""
    return {(k, column) for k, i in local.items() for column in COUNT_COLUMNS if (i, column) in marked}


def years_protected(rows: list[dict], shapes: dict, preset: Iterable[Cell] = (),
                    before: dict[Cell, str] | None = None, costly: Iterable[Cell] = ()) -> dict[Cell, str]:
    """The suppressed cells of an indicator's rows, (row, column) → marker, each year's table
    protected on its own; ``preset``: cells suppressed from the start. ``before``: an earlier
    answer, kept for a year's table whose preset cells it suppresses already. ``costly``: as
    for ``protect``."""
    by_year: dict[object, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_year[row["year"]].append(i)
    preset, costly = set(preset), set(costly)
    decided: dict[Cell, str] = {}
    for positions in by_year.values():
        cells = {(i, column) for i in positions for column in COUNT_COLUMNS}
        if before is not None and preset & cells <= before.keys():
            decided.update({c: marker for c, marker in before.items() if c in cells})
            continue
        local = {k: i for k, i in enumerate(positions)}
        for (k, column), marker in protect([rows[i] for i in positions], shapes, _in_table(local, preset),
                                           costly=_in_table(local, costly)).items():
            decided[(local[k], column)] = marker
    return decided


def pooled_system(rows: list[dict], pool: str) -> list[dict]:
    """An indicator's yearly rows (as given, with their ``period``) and after them the pooled
    rows worth publishing (``pooling_candidates``): the system the pooled rows are protected in."""
    yearly = [{**r, "year": str(r["year"]), "period": str(r["year"]), "pooled": False} for r in rows]
    return yearly + [{**r, "period": pool} for r in pooling_candidates(yearly, pool)]


def pooled_protected(system: list[dict], n: int, suppressed: Iterable[Cell], shapes: dict) -> dict[Cell, str] | None:
    """The suppressed cells of ``system`` (``pooled_system``; its first ``n`` rows the years'),
    ``suppressed`` from the start, the years' tables as those decided: only pooled cells are
    complements. None when nothing is left to hide: the pooled rows are not published."""
    frozen = {(i, column) for i in range(n) for column in COUNT_COLUMNS}
    try:
        return protect(system, shapes, set(suppressed), frozen)
    except RuntimeError:
        return None


def published(rows: list[dict], years: dict[Cell, str], system: list[dict] | None,
              pooled: dict[Cell, str] | None) -> tuple[list[dict], list[dict]]:
    """An indicator's published yearly rows and pooled rows (none without ``system``, or where
    ``pooled`` is None) from its suppressed cells."""
    by_row: dict[int, dict[str, str]] = defaultdict(dict)
    for (i, column), marker in years.items():
        by_row[i][column] = marker
    if system is None:
        return [_shown(r, by_row[i], False) for i, r in enumerate(rows)], []
    n = len(rows)
    extra = system[n:] if pooled is not None else []
    pooled_by_row: dict[int, dict[str, str]] = defaultdict(dict)
    for (i, column), marker in (pooled or {}).items():
        if i >= n:
            pooled_by_row[i][column] = marker
    return ([{**_shown(r, by_row[i], False), "year": str(r["year"]), "pooled": False} for i, r in enumerate(rows)],
            [_shown(r, pooled_by_row[n + j], True) for j, r in enumerate(extra)])


def _shown(record: dict, cells: dict[str, str], pooled: bool) -> dict:
    """A published row: counts as text, the suppressed ones as their marker (a pooled row
    shows met and denominator only), proportion etc. withheld where the rule says."""
    out = {k: v for k, v in record.items() if k != "period"}
    for column in COUNT_COLUMNS:
        if pooled and column not in POOLED_SHOWN:
            out[column] = None
        else:
            out[column] = cells.get(column, str(record[column]))
    out["numerator"] = out["met"]
    dmn = int(record["denominator"]) - int(record["met"])
    withheld = "met" in cells or "denominator" in cells or dmn in SMALL
    out["withheld"] = withheld
    if withheld:
        out.update(proportion=None, ci_low=None, ci_high=None, standard_met=None)
    if withheld or pooled or "not_met" in cells:
        out["proportion_known"] = None
    return out
