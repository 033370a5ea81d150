"""Small-cell suppression for the published national report (indicators.md, *Small cells*).

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

Before the attacks, a cheap pass gives every relation with exactly one unknown a second
suppressed cell. Complements are chosen among the published cells of a relation the
exposed cell is in, preferring a non-zero count, a status count over the total, the
numerator or the denominator, a department over a hospital over a region over Danmark,
and the smallest value; of the first few, the first that protects the exposed cell on its
own is taken. The proportion, its interval, standard met and met / (met + not_met) are
withheld wherever the numerator or denominator is suppressed, or denominator − numerator
is 1–4.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

STATUS_COLUMNS = ("met", "not_met", "unknown", "justified", "excluded", "pending")
COUNT_COLUMNS = ("met", "not_met", "unknown", "denominator", "justified", "excluded", "pending", "total")
HIDDEN = "denominator_minus_numerator"
PRIMARY, COMPLEMENT = "<5", "x"
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
    """Every row and hierarchy relation between the cells of one indicator × year table.

    ``rows`` carry ``level``, ``unit``, ``region`` (of regions, hospitals and departments)
    and ``hospital`` (of hospitals and departments)."""
    out: list[Relation] = []
    for i in range(len(rows)):
        out.append(Relation.sum((i, "denominator"), [(i, "met"), (i, "not_met"), (i, "unknown")]))
        out.append(Relation.sum((i, HIDDEN), [(i, "not_met"), (i, "unknown")]))
        out.append(Relation.sum((i, "denominator"), [(i, "met"), (i, HIDDEN)]))
        out.append(Relation.sum((i, "total"), [(i, "denominator"), (i, "justified"), (i, "excluded"), (i, "pending")]))
        out.append(Relation.sum((i, "total"), [(i, c) for c in STATUS_COLUMNS]))

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


def _linear_exposed(system: _System, unknown: list[Cell]) -> set[Cell]:
    """Unknowns the equations fix: after full reduction (RREF), those whose pivot row has
    no other entry (e_i lies in the row space exactly then)."""
    index = {c: k for k, c in enumerate(unknown)}
    pivots: dict[int, dict[int, int]] = {}  # pivot column -> fully reduced row
    for eq in system.equations:
        row: dict[int, int] = {}
        for c, sign in eq:
            if c in index:
                k = index[c]
                row[k] = (row.get(k, 0) + sign) % PRIME
        row = {k: v for k, v in row.items() if v}
        for k in [k for k in row if k in pivots]:  # reduce by the known pivots
            factor = row.get(k, 0)
            if factor:
                for j, v in pivots[k].items():
                    row[j] = (row.get(j, 0) - factor * v) % PRIME
                row = {j: v for j, v in row.items() if v}
        if not row:
            continue
        pivot = min(row)
        inverse = pow(row[pivot], PRIME - 2, PRIME)
        row = {j: v * inverse % PRIME for j, v in row.items()}
        for other in pivots.values():  # keep every pivot row fully reduced
            factor = other.get(pivot, 0)
            if factor:
                for j, v in row.items():
                    other[j] = (other.get(j, 0) - factor * v) % PRIME
                for j in [j for j, v in other.items() if not v]:
                    del other[j]
        pivots[pivot] = row
    return {unknown[k] for k, row in pivots.items() if len(row) == 1}


def bounds_attack(system: _System, suppressed: set[Cell], hidden: set[Cell]) -> dict[Cell, tuple[int, int]]:
    """Bounds of every unknown after propagating through every equation until stable: a
    published ``<5`` is 0–4, an ``x`` is ≥ 5, a hidden cell ≥ 0."""
    lo: dict[Cell, int] = {}
    hi: dict[Cell, int] = {}
    for c in suppressed | hidden:
        if c in hidden:
            lo[c], hi[c] = 0, BIG
        else:
            lo[c], hi[c] = (0, 4) if system.values[c] < 5 else (5, BIG)
    equations = []  # (unknown terms, constant): Σ s·x = −constant
    touching: dict[Cell, list[int]] = defaultdict(list)
    for eq in system.equations:
        terms = [(c, s) for c, s in eq if c in lo]
        if terms:
            for c, _ in terms:
                touching[c].append(len(equations))
            equations.append((terms, sum(system.values[c] * s for c, s in eq if c not in lo)))
    queue, queued = list(range(len(equations))), set(range(len(equations)))
    while queue:
        e = queue.pop()
        queued.discard(e)
        terms, constant = equations[e]
        mins = [s * (lo[c] if s > 0 else hi[c]) for c, s in terms]
        maxs = [s * (hi[c] if s > 0 else lo[c]) for c, s in terms]
        total_min, total_max = sum(mins), sum(maxs)
        for k, (c, s) in enumerate(terms):
            low = -constant - (total_max - maxs[k])  # range of s·x
            high = -constant - (total_min - mins[k])
            new_lo, new_hi = (low, high) if s > 0 else (-high, -low)
            new_lo, new_hi = max(lo[c], new_lo), min(hi[c], new_hi)
            if (new_lo, new_hi) != (lo[c], hi[c]) and new_lo <= new_hi:
                lo[c], hi[c] = new_lo, new_hi
                for other in touching[c]:
                    if other not in queued:
                        queued.add(other)
                        queue.append(other)
    return {c: (lo[c], hi[c]) for c in lo}


def exposed(system: _System, suppressed: set[Cell], hidden: set[Cell], protect: set[Cell]) -> set[Cell]:
    """Cells of ``protect`` an attacker can recover from the published table."""
    found = _linear_exposed(system, sorted(suppressed | hidden)) & protect
    bounds = bounds_attack(system, suppressed, hidden)
    found |= {c for c in protect if c in bounds and bounds[c][0] == bounds[c][1]}
    return found


def protect(rows: list[dict]) -> dict[Cell, str]:
    """The suppressed cells of one indicator × year table: cell → ``<5`` or ``x``."""
    rels = relations(rows)
    values: dict[Cell, int] = {}
    for i, row in enumerate(rows):
        for column in COUNT_COLUMNS:
            values[(i, column)] = int(row[column])
        values[(i, HIDDEN)] = int(row["denominator"]) - int(row["met"])
    system = _System(rels, values)
    hidden = {c for c in values if c[1] == HIDDEN}
    primary = {c for c, v in values.items() if v in SMALL and c not in hidden}
    sensitive_hidden = {c for c in hidden if values[c] in SMALL}
    suppressed = set(primary)
    depth = {i: LEVELS.index(row["level"]) for i, row in enumerate(rows)}
    by_cell: dict[Cell, list[Relation]] = defaultdict(list)
    for rel in rels:
        for c in rel.cells:
            by_cell[c].append(rel)

    def score(c: Cell):
        return (values[c] == 0, COLUMN_RANK[c[1]], -depth[c[0]], values[c], c)

    def candidates(rels_: Iterable[Relation]) -> list[Cell]:
        return sorted({c for rel in rels_ for c in rel.cells if c not in suppressed and c not in hidden}, key=score)

    def attack(cells: set[Cell]) -> set[Cell]:
        return exposed(system, cells, hidden, cells | sensitive_hidden)

    while True:
        changed = True
        while changed:  # cheap pass: no relation with a single unknown that must stay unknown
            changed = False
            for rel in rels:
                unknown = [c for c in rel.cells if c in suppressed or c in hidden]
                if len(unknown) == 1 and (unknown[0] in suppressed or unknown[0] in sensitive_hidden):
                    options = candidates([rel])
                    if options:
                        suppressed.add(options[0])
                        changed = True
        found = attack(suppressed)
        if not found:
            return {c: PRIMARY if values[c] < 5 else COMPLEMENT for c in suppressed}
        cell = min(found, key=lambda c: (-depth[c[0]], c))
        reach, options = list(by_cell[cell]), candidates(by_cell[cell])
        seen = {cell}
        while not options:  # widen to the relations of the unknowns next to the cell
            nxt = {c for rel in reach for c in rel.cells if c not in seen and (c in suppressed or c in hidden)}
            if not nxt:
                raise RuntimeError(f"cannot protect suppressed cell {cell}")
            seen |= nxt
            reach = [rel for c in nxt for rel in by_cell[c]]
            options = candidates(reach)
        # the best-placed candidate that protects the cell on its own, else the best-placed one
        chosen = next((c for c in options[:TRIES] if cell not in attack(suppressed | {c})), options[0])
        suppressed.add(chosen)


def suppress(summary: pl.DataFrame) -> pl.DataFrame:
    """The publication table: counts as text (``<5``, ``x`` or the number), proportions withheld.

    ``summary`` has per row ``indicator_id, year, level, unit, region, hospital``, the status
    counts, ``denominator``, ``proportion, ci_low, ci_high, proportion_known, standard_met``.
    Adds ``total``; returns the same rows and order with ``<count>`` columns as text and
    ``withheld`` (bool)."""
    frame = summary.with_columns(total=pl.sum_horizontal(*STATUS_COLUMNS))
    records = frame.to_dicts()
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for k, row in enumerate(records):
        blocks[(row["indicator_id"], row["year"])].append(k)
    shown: list[dict] = [dict(r) for r in records]
    for positions in blocks.values():
        rows = [records[k] for k in positions]
        cells = protect(rows)
        for i, k in enumerate(positions):
            out = shown[k]
            for column in COUNT_COLUMNS:
                out[column] = cells.get((i, column), str(records[k][column]))
            dmn = records[k]["denominator"] - records[k]["met"]
            withheld = (i, "met") in cells or (i, "denominator") in cells or dmn in SMALL
            out["withheld"] = withheld
            if withheld:
                out.update(proportion=None, ci_low=None, ci_high=None, standard_met=None)
            if withheld or (i, "not_met") in cells:
                out["proportion_known"] = None
    schema = {**frame.schema, **{c: pl.String for c in COUNT_COLUMNS}, "withheld": pl.Boolean}
    return pl.DataFrame(shown, schema=schema)
