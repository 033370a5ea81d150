"""The reference attacks on a suppressed table (the test oracle of ``small_cells._Attacker``).

Plain and slow on purpose: the linear attack by full elimination modulo ``small_cells.PRIME``,
the bounds attack by propagating through one relation at a time. ``test_report_speed``
checks the fast incremental attacker against these, step by step.
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.reports.small_cells import BIG, PRIME, Cell, _System


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
