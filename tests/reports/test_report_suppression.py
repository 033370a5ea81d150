"""Small-cell suppression of the publication variant, attacked from the published files.

The attacker here is independent of ``pipelines.reports.suppression``: it reads only what is
published — ``indicator_summary_publication.csv`` (the contract's columns) and the
published HTML (the "I alt" column, the nesting of units) — rebuilds every linear relation
a reader can see (row sums; Danmark = Σ regions, region = Σ its hospitals, hospital = Σ its
departments, per count and year; a pooled row ``2024-2026`` = Σ the unit's years, and a
pooled unit = Σ the pooled units below it where all of them are published) and tries to
recover each suppressed or unpublished cell by (1) solving relations with one unknown,
iteratively, (2) exact Gaussian elimination over the rationals, (3) bound propagation
(``<5`` is 0–4, ``x`` ≥ 5, an unpublished count ≥ 0). Any success on a suppressed cell fails
the test, as does a recoverable count of 1–4 that is not published (denominator − numerator,
a pooled row's other counts).
"""

from __future__ import annotations

import html.parser
import math
import os
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.lib import forked
from pipelines.reports import small_cells, suppression
from pipelines.reports.data import load
from pipelines.reports.national import SUMMARY_COLUMNS, write_national_reports
from tests.reports.report_rows import DEPARTMENTS, cohort, connect

COUNTS = ["met", "not_met", "unknown", "denominator", "justified", "excluded", "pending", "total"]
STATUSES = ["met", "not_met", "unknown", "justified", "excluded", "pending"]
DMN = "dmn"  # denominator − numerator: never published
BIG = 10**9


def read_published(path: Path, page: Path | None = None, truth: pl.DataFrame | None = None) -> pl.DataFrame:
    """The publication CSV (the contract's format and columns), with what a reader adds from
    the published page: ``total`` (the "I alt" column) and each unit's region and hospital."""
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "the publication CSV has the contract's format (no BOM)"
    frame = pl.read_csv(path, infer_schema=False)
    assert frame.columns == SUMMARY_COLUMNS
    if page is None:
        return frame
    cells = _Cells()
    cells.feed(page.read_text(encoding="utf-8"))
    totals = [cells.cells.get((r["indicator_id"], r["year"], r["unit"], "total"), "")
              for r in frame.iter_rows(named=True)]
    place = {(r["level"], r["unit"]): (r["region"], r["hospital"]) for r in truth.iter_rows(named=True)}
    return frame.with_columns(
        total=pl.Series([t.replace(".", "") or None for t in totals], dtype=pl.String),
        region=pl.Series([place[(r["level"], r["unit"])][0] for r in frame.iter_rows(named=True)], dtype=pl.String),
        hospital=pl.Series([place[(r["level"], r["unit"])][1] for r in frame.iter_rows(named=True)], dtype=pl.String))


def pooled(row: dict) -> bool:
    return "-" in str(row["year"])


def _table(rows: list[int], all_rows: list[dict]) -> list[list[tuple[tuple[int, str], int]]]:
    """The hierarchy relations of one table (rows of one indicator and period)."""
    rels = []
    level = defaultdict(list)
    for i in rows:
        level[all_rows[i]["level"]].append(i)
    groups = [(level["national"], level["region"])]
    for i in level["region"]:
        groups.append(([i], [j for j in level["hospital"] if all_rows[j]["region"] == all_rows[i]["unit"]]))
    for i in level["hospital"]:
        groups.append(([i], [j for j in level["department"] if all_rows[j]["hospital"] == all_rows[i]["unit"]]))
    for upper, lower in groups:
        if upper and lower:
            for c in COUNTS + [DMN]:
                rels.append([((j, c), 1) for j in upper] + [((j, c), -1) for j in lower])
    return rels


def _relations(rows: list[dict]) -> list[list[tuple[tuple[int, str], int]]]:
    """Σ coefficient × cell = 0 for every relation a reader of an indicator's tables can write down."""
    rels = []
    for i in range(len(rows)):
        rels.append([((i, "denominator"), 1), ((i, "met"), -1), ((i, "not_met"), -1), ((i, "unknown"), -1)])
        rels.append([((i, "total"), 1)] + [((i, c), -1) for c in STATUSES])
        rels.append([((i, "total"), 1), ((i, "denominator"), -1), ((i, "justified"), -1), ((i, "excluded"), -1),
                     ((i, "pending"), -1)])
        rels.append([((i, DMN), 1), ((i, "denominator"), -1), ((i, "met"), 1)])
    years = defaultdict(list)
    for i, r in enumerate(rows):
        if not pooled(r):
            years[r["year"]].append(i)
    for positions in years.values():
        rels += _table(positions, rows)
    pooled_rows = {(r["level"], r["unit"]): i for i, r in enumerate(rows) if pooled(r)}
    for (level, unit), p in pooled_rows.items():
        parts = [i for i, r in enumerate(rows) if not pooled(r) and (r["level"], r["unit"]) == (level, unit)]
        for c in COUNTS + [DMN]:
            rels.append([((p, c), 1)] + [((i, c), -1) for i in parts])
    # a pooled unit = Σ the pooled units below it, where every unit below it (in any year) is there
    below = defaultdict(set)
    for r in rows:
        if pooled(r):
            continue
        parent = {"region": ("national", "Danmark"), "hospital": ("region", r["region"]),
                  "department": ("hospital", r["hospital"])}.get(r["level"])
        if parent:
            below[parent].add((r["level"], r["unit"]))
    for upper, lower in below.items():
        if upper in pooled_rows and lower <= pooled_rows.keys():
            for c in COUNTS + [DMN]:
                rels.append([((pooled_rows[upper], c), 1)] + [((pooled_rows[k], c), -1) for k in lower])
    return rels


def _parse(rows: list[dict]) -> tuple[dict, dict]:
    """Known values and the markers of unknown cells ('<5', 'x', or 'hidden': not published)."""
    known, unknown = {}, {}
    for i, r in enumerate(rows):
        for c in COUNTS:
            value = r[c]
            if value is not None and value.isdigit():
                known[(i, c)] = int(value)
            elif value is None or value == "":
                assert pooled(r) and c not in ("met", "denominator"), (r, c)
                unknown[(i, c)] = "hidden"
            else:
                assert value in ("<5", "x"), value
                unknown[(i, c)] = value
        unknown[(i, DMN)] = "hidden"
    return known, unknown


def attack_iteratively(rels, known: dict) -> dict:
    """Solve every relation with exactly one unknown, again and again."""
    solved = dict(known)
    changed = True
    while changed:
        changed = False
        for rel in rels:
            missing = [(c, a) for c, a in rel if c not in solved]
            if len(missing) == 1:
                (cell, coefficient), = missing
                solved[cell] = -sum(a * solved[c] for c, a in rel if c in solved) // coefficient
                changed = True
    return {c: v for c, v in solved.items() if c not in known}


def attack_exactly(rels, known: dict, unknown: dict) -> set:
    """Cells fixed by the relations: exact elimination over the rationals (RREF)."""
    cells = sorted(unknown)
    index = {c: k for k, c in enumerate(cells)}
    pivots: dict[int, dict[int, Fraction]] = {}
    for rel in rels:
        row: dict[int, Fraction] = {}
        for c, a in rel:
            if c in index:
                row[index[c]] = row.get(index[c], Fraction(0)) + a
        row = {k: v for k, v in row.items() if v}
        for k in sorted(k for k in row if k in pivots):
            if k in row:
                factor = row[k]
                for j, v in pivots[k].items():
                    row[j] = row.get(j, Fraction(0)) - factor * v
                row = {j: v for j, v in row.items() if v}
        if not row:
            continue
        p = min(row)
        row = {j: v / row[p] for j, v in row.items()}
        for other in pivots.values():
            if p in other:
                factor = other[p]
                for j, v in row.items():
                    other[j] = other.get(j, Fraction(0)) - factor * v
                for j in [j for j, v in other.items() if not v]:
                    del other[j]
        pivots[p] = row
    return {cells[p] for p, row in pivots.items() if len(row) == 1}


def attack_bounds(rels, known: dict, unknown: dict) -> dict:
    lo = {c: (0 if m != "x" else 5) for c, m in unknown.items()}
    hi = {c: (4 if m == "<5" else BIG) for c, m in unknown.items()}
    for _ in range(1000):
        changed = False
        for rel in rels:
            terms = [(c, a) for c, a in rel if c in lo]
            if not terms:
                continue
            constant = sum(a * known[c] for c, a in rel if c not in lo)
            for c, a in terms:
                rest_lo = sum(a2 * (lo[c2] if a2 > 0 else hi[c2]) for c2, a2 in terms if c2 != c)
                rest_hi = sum(a2 * (hi[c2] if a2 > 0 else lo[c2]) for c2, a2 in terms if c2 != c)
                low, high = -constant - rest_hi, -constant - rest_lo  # range of a·x
                new = (low, high) if a > 0 else (-high, -low)
                new_lo, new_hi = max(lo[c], new[0]), min(hi[c], new[1])
                if (new_lo, new_hi) != (lo[c], hi[c]):
                    lo[c], hi[c] = new_lo, new_hi
                    changed = True
        if not changed:
            break
    return {c: lo[c] for c in lo if lo[c] == hi[c]}


def attack_programme(rels, known: dict, unknown: dict) -> set:
    """Cells whose least and greatest value under every relation at once (a linear programme
    per cell, the markers as bounds) leave one whole number: what propagation, one relation at
    a time, misses (an independent review recovered cells so)."""
    import highspy

    cells = sorted(unknown)
    index = {c: k for k, c in enumerate(cells)}
    lp = highspy.Highs()
    lp.setOptionValue("output_flag", False)
    for c in cells:
        marker = unknown[c]
        lp.addVar(5.0 if marker == "x" else 0.0, 4.0 if marker == "<5" else highspy.kHighsInf)
    for rel in rels:
        terms = [(index[c], float(a)) for c, a in rel if c in index]
        if terms:
            value = -float(sum(a * known[c] for c, a in rel if c not in index))
            lp.addRow(value, value, len(terms), np.array([k for k, _ in terms], dtype=np.int32),
                      np.array([a for _, a in terms]))
    found = set()
    for c, k in index.items():
        extremes = []
        for sign in (1.0, -1.0):
            lp.changeColCost(k, sign)
            lp.run()
            status, objective = lp.getModelStatus(), lp.getInfo().objective_function_value
            lp.changeColCost(k, 0.0)
            extremes.append(sign * objective if status == highspy.HighsModelStatus.kOptimal else None)
        least, greatest = extremes
        if least is not None and greatest is not None and math.ceil(least - 1e-6) == math.floor(greatest + 1e-6):
            found.add(c)
    return found


def _attack(rows: list[dict]) -> set:
    known, unknown = _parse(rows)
    rels = _relations(rows)
    return (set(attack_iteratively(rels, known)) | attack_exactly(rels, known, unknown)
            | set(attack_bounds(rels, known, unknown)))


def recovered_cells(published: pl.DataFrame) -> list[str]:
    """Every suppressed (indicator, year, unit, column) an attacker recovers; empty when
    protected. (Unpublished counts: see ``small_unpublished_exposed``.)"""
    leaks = []
    for (indicator,), block in published.group_by(["indicator_id"], maintain_order=True):
        rows = block.to_dicts()
        for i, column in sorted(_attack(rows)):
            if column != DMN and rows[i][column] in ("<5", "x"):
                leaks.append(f"{indicator} {rows[i]['year']} {rows[i]['unit']} {column}")
    return leaks


def _true_values(truth: pl.DataFrame, years: list[int]) -> dict:
    """(indicator, year text, level, unit) → counts incl. dmn and total; pooled rows summed."""
    values: dict[tuple, dict] = {}
    label = f"{min(years)}-{max(years)}"
    for r in truth.filter(pl.col("year").is_in(years)).iter_rows(named=True):
        counts = {c: r[c] for c in STATUSES} | {"denominator": r["denominator"],
                                                "total": sum(r[c] for c in STATUSES)}
        counts[DMN] = r["denominator"] - r["met"]
        values[(r["indicator_id"], str(r["year"]), r["level"], r["unit"])] = counts
        pooled_counts = values.setdefault((r["indicator_id"], label, r["level"], r["unit"]), defaultdict(int))
        for c, v in counts.items():
            pooled_counts[c] += v
    return values


def small_unpublished_exposed(published: pl.DataFrame, truth: pl.DataFrame) -> list[str]:
    """Unpublished counts of 1–4 (denominator − numerator, a pooled row's other counts) that
    the attacks recover."""
    years = sorted({int(y) for y in published["year"].to_list() if "-" not in str(y)})
    values = _true_values(truth, years)
    leaks = []
    for (indicator,), block in published.group_by(["indicator_id"], maintain_order=True):
        rows = block.to_dicts()
        for i, column in _attack(rows):
            if column != DMN and rows[i][column] not in (None, ""):
                continue
            value = values[(indicator, str(rows[i]["year"]), rows[i]["level"], rows[i]["unit"])][column]
            if 1 <= value <= 4:
                leaks.append(f"{indicator} {rows[i]['year']} {rows[i]['unit']} {column}")
    return leaks


def programmed_leaks(published: pl.DataFrame, truth: pl.DataFrame) -> list[str]:
    """Suppressed cells, and unpublished counts of 1–4, that a linear programme recovers."""
    years = sorted({int(y) for y in published["year"].to_list() if "-" not in str(y)})
    values = _true_values(truth, years)
    leaks = []
    for (indicator,), block in published.group_by(["indicator_id"], maintain_order=True):
        rows = block.to_dicts()
        known, unknown = _parse(rows)
        for i, column in sorted(attack_programme(_relations(rows), known, unknown)):
            value = values[(indicator, str(rows[i]["year"]), rows[i]["level"], rows[i]["unit"])][column]
            if unknown[(i, column)] != "hidden" or 1 <= value <= 4:
                leaks.append(f"{indicator} {rows[i]['year']} {rows[i]['unit']} {column}")
    return leaks


def publish(con, folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    data = load(con, patients="none")
    write_national_reports(data, folder)
    published = read_published(folder / "indicator_summary_publication.csv",
                               folder / "national_report_publication.html", data.summary)
    return published, data.summary


def record_starts(monkeypatch) -> list[bool]:
    """Every suppression started from now on: True when ``start_ahead`` started it."""
    started: list[bool] = []
    real_started, real_start_ahead, ahead = suppression._started, suppression.start_ahead, []

    def start_ahead(*args, **kwargs):
        ahead.append(True)
        try:
            return real_start_ahead(*args, **kwargs)
        finally:
            ahead.pop()

    monkeypatch.setattr(suppression, "start_ahead", start_ahead)
    monkeypatch.setattr(suppression, "_started", lambda table, pool: started.append(bool(ahead)) or real_started(table, pool))
    return started


@pytest.fixture(scope="module")
def published_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("publication")
    published, truth = publish(connect(tmp / "audit.duckdb"), tmp)
    return tmp, published, truth


def yearly(published: pl.DataFrame) -> pl.DataFrame:
    return published.filter(~pl.col("year").str.contains("-"))


def test_no_suppressed_cell_can_be_recovered(published_run):
    _, published, _ = published_run
    assert published.height > 500
    assert published.filter(pl.col("year").str.contains("-")).height > 20, "pooled rows are published"
    assert recovered_cells(published) == []


def test_no_unpublished_count_of_one_to_four_can_be_recovered(published_run):
    _, published, truth = published_run
    assert small_unpublished_exposed(published, truth) == []


def test_no_cell_can_be_recovered_by_a_linear_programme(published_run):
    """Every relation at once, the markers as bounds: no suppressed cell and no unpublished
    count of 1–4 has one whole number left (an independent review recovered a region's 4 from
    its years, its pooled figure and the regions beside it, which propagation alone missed)."""
    _, published, truth = published_run
    assert programmed_leaks(published, truth) == []


def test_pooling_only_adds_to_the_yearly_tables(published_run, tmp_path):
    """The years' tables are exactly those of the publication without pooling; the pooled
    rows add proportions where a year is withheld."""
    _, published, truth = published_run
    plain = suppression.suppress(truth.filter(pl.col("year").is_in([2024, 2025, 2026])))
    shown = yearly(published)
    assert shown.height == plain.height
    for a, b in zip(shown.iter_rows(named=True), plain.iter_rows(named=True)):
        assert [a[c] for c in ("met", "not_met", "unknown", "denominator", "justified", "excluded", "pending")] == \
            [b[c] for c in ("met", "not_met", "unknown", "denominator", "justified", "excluded", "pending")]
        assert (a["proportion"] is None) == (b["proportion"] is None)
    pooled_rows = published.filter(pl.col("year") == "2024-2026")
    with_proportion = pooled_rows.filter(pl.col("proportion").is_not_null())
    assert with_proportion.height > 20
    for r in with_proportion.iter_rows(named=True):
        own = shown.filter((pl.col("indicator_id") == r["indicator_id"]) & (pl.col("unit") == r["unit"])
                           & (pl.col("level") == r["level"]))
        assert own["proportion"].null_count() >= 1, "a pooled figure only where a year is withheld"
        assert int(r["denominator"]) >= 5 and not 1 <= int(r["denominator"]) - int(r["met"]) <= 4


def test_counts_of_one_to_four_are_shown_as_fewer_than_five_and_numbers_are_true(published_run):
    _, published, truth = published_run
    published = yearly(published)
    truth = truth.filter(pl.col("year").is_in(published["year"].cast(pl.Int64).unique().to_list())).with_columns(
        total=pl.sum_horizontal(*STATUSES))
    assert published.height == truth.height
    for shown, real in zip(published.iter_rows(named=True), truth.iter_rows(named=True)):
        assert (shown["indicator_id"], shown["unit"]) == (real["indicator_id"], real["unit"])
        for c in COUNTS:
            value = real[c]
            if 1 <= value <= 4:
                assert shown[c] == "<5", (shown["unit"], c, value)
            elif shown[c] == "<5":
                assert value == 0
            elif shown[c] == "x":
                assert value >= 5
            else:
                assert int(shown[c]) == value
        assert shown["numerator"] == shown["met"]


def test_proportion_and_interval_are_withheld_exactly_when_the_spec_says(published_run):
    _, published, truth = published_run
    published = yearly(published)
    for shown, real in zip(published.iter_rows(named=True), truth.filter(
            pl.col("year").is_in(published["year"].cast(pl.Int64).unique().to_list())).iter_rows(named=True)):
        small = 1 <= real["denominator"] - real["met"] <= 4
        hidden = not (shown["met"].isdigit() and shown["denominator"].isdigit())
        if small or hidden or not real["denominator"]:
            assert shown["proportion"] is None and shown["ci_low"] is None and shown["ci_high"] is None, shown
            assert shown["standard_met"] is None
        else:
            assert float(shown["proportion"]) == pytest.approx(real["proportion"])
            assert float(shown["ci_low"]) == pytest.approx(real["ci_low"])


class _Cells(html.parser.HTMLParser):
    """Text of every data-col cell of the summary tables, by (indicator, year, unit, col)."""

    def __init__(self):
        super().__init__()
        self.cells, self.where, self.col, self.circles = {}, {}, None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "data-year" in a:
            self.where = {"indicator": a["data-indicator"], "year": a["data-year"]}
        elif tag == "tr" and "data-unit" in a:
            self.where["unit"] = a["data-unit"]
        elif tag == "td" and "data-col" in a and "unit" in self.where:
            self.col = a["data-col"]
            self.cells[(self.where["indicator"], self.where["year"], self.where["unit"], self.col)] = ""
        elif tag == "circle" and "data-denominator" in a:
            self.circles.append(a)

    def handle_endtag(self, tag):
        if tag == "td":
            self.col = None

    def handle_data(self, data):
        if self.col:
            key = (self.where["indicator"], self.where["year"], self.where["unit"], self.col)
            self.cells[key] += data.strip()


def test_publication_html_shows_the_published_csv_and_nothing_more(published_run):
    folder, published, _ = published_run
    parser = _Cells()
    parser.feed((folder / "national_report_publication.html").read_text(encoding="utf-8"))
    assert parser.cells
    for r in published.iter_rows(named=True):
        for c in COUNTS:
            if r[c] is None:  # a pooled row's unpublished counts are not on the page either
                assert (r["indicator_id"], r["year"], r["unit"], c) not in parser.cells
                continue
            shown = parser.cells[(r["indicator_id"], r["year"], r["unit"], c)]
            assert shown.replace(".", "") == r[c], (r["indicator_id"], r["year"], r["unit"], c)
        proportion = parser.cells[(r["indicator_id"], r["year"], r["unit"], "proportion")]
        assert (proportion == "–") == (r["proportion"] is None)
    # funnel points only for departments whose numerator and denominator are published (a
    # year, a pooled row, or the sum of three published years)
    shown = {(r["unit"], r["met"], r["denominator"]) for r in published.iter_rows(named=True)
             if r["level"] == "department"}
    years = defaultdict(list)
    for r in yearly(published).filter(pl.col("level") == "department").iter_rows(named=True):
        years[(r["indicator_id"], r["unit"])].append(r)
    for parts in years.values():
        if all(p["met"].isdigit() and p["denominator"].isdigit() for p in parts):
            shown.add((parts[0]["unit"], str(sum(int(p["met"]) for p in parts)),
                       str(sum(int(p["denominator"]) for p in parts))))
    for circle in parser.circles:
        assert (circle["data-unit"], circle["data-numerator"], circle["data-denominator"]) in shown


def block(rows: list[tuple]) -> list[dict]:
    """An indicator × year table from (level, unit, region, hospital, met, not_met, unknown,
    justified, excluded, pending)."""
    out = []
    for level, unit, region, hospital, *counts in rows:
        r = {"level": level, "unit": unit, "region": region, "hospital": hospital, **dict(zip(STATUSES, counts))}
        r["denominator"] = r["met"] + r["not_met"] + r["unknown"]
        r["total"] = sum(r[s] for s in STATUSES)
        out.append(r)
    return out


def _publish(rows: list[dict]) -> pl.DataFrame:
    cells = small_cells.protect(rows)
    return pl.DataFrame([{**{k: r[k] for k in ("level", "unit", "region", "hospital")}, "indicator_id": "MM99",
                          "year": "2026", **{c: cells.get((i, c), str(r[c])) for c in COUNTS}}
                         for i, r in enumerate(rows)], schema_overrides={"region": pl.String, "hospital": pl.String})


def test_two_small_cells_beside_a_total_of_eight_are_protected():
    """4 + 4 = 8: both cells are 1–4, so a total of 8 would pin both at 4 by their bounds."""
    rows = block([
        ("national", "Danmark", None, None, 8, 0, 0, 0, 0, 0),
        ("region", "A", "A", None, 4, 0, 0, 0, 0, 0),
        ("region", "B", "B", None, 4, 0, 0, 0, 0, 0),
        ("hospital", "HA", "A", "HA", 4, 0, 0, 0, 0, 0),
        ("hospital", "HB", "B", "HB", 4, 0, 0, 0, 0, 0),
        ("department", "DA", "A", "HA", 4, 0, 0, 0, 0, 0),
        ("department", "DB", "B", "HB", 4, 0, 0, 0, 0, 0),
    ])
    published = _publish(rows)
    assert recovered_cells(published) == []
    assert published.filter(pl.col("unit") == "Danmark")["met"][0] != "8"


def test_a_single_small_department_gets_complementary_cells_in_its_row_and_column():
    rows = block([
        ("national", "Danmark", None, None, 60, 10, 0, 0, 0, 0),
        ("region", "A", "A", None, 60, 10, 0, 0, 0, 0),
        ("hospital", "H", "A", "H", 60, 10, 0, 0, 0, 0),
        ("department", "D1", "A", "H", 27, 3, 0, 0, 0, 0),
        ("department", "D2", "A", "H", 33, 7, 0, 0, 0, 0),
    ])
    published = _publish(rows)
    d1 = published.filter(pl.col("unit") == "D1").row(0, named=True)
    assert d1["not_met"] == "<5"
    assert recovered_cells(published) == []
    # D1's row and D2's not_met must hide something more than the single small cell
    assert sum(v in ("<5", "x") for v in published["not_met"].to_list()) >= 2
    assert any(d1[c] in ("<5", "x") for c in ("met", "denominator"))


def test_relations_are_checked_against_the_counts():
    rows = block([("national", "Danmark", None, None, 5, 0, 0, 0, 0, 0),
                  ("region", "A", "A", None, 6, 0, 0, 0, 0, 0)])
    with pytest.raises(ValueError, match="break the relation"):
        small_cells.protect(rows)


def test_hostile_and_unlisted_departments_stay_in_the_hierarchy(published_run):
    _, published, _ = published_run
    units = set(published["unit"].to_list())
    assert {"../../etc/x", "CON", "9999999", "ukendt"} <= units
    assert len(DEPARTMENTS) + 1 == published.filter(pl.col("level") == "department")["unit"].n_unique()
    assert len(cohort()) > 5000


def test_the_attacker_finds_what_primary_suppression_alone_leaves_open(published_run):
    """Control: with only the cells of 1–4 hidden, the same attacks recover many of them."""
    _, published, truth = published_run
    naive = truth.filter(pl.col("year").is_in(yearly(published)["year"].cast(pl.Int64).unique().to_list())).with_columns(
        total=pl.sum_horizontal(*STATUSES), year=pl.col("year").cast(pl.String))
    naive = naive.with_columns(
        pl.when(pl.col(c).is_between(1, 4)).then(pl.lit("<5")).otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in COUNTS)
    leaks = recovered_cells(naive)
    assert len(leaks) > 100
    assert any(leak.endswith(" unknown") for leak in leaks)


@pytest.mark.slow
@pytest.mark.parametrize("seed, scale", [(1, 0.3), (2, 0.5), (3, 1.5)])
def test_random_small_cohorts_are_protected(tmp_path, seed, scale):
    """Small registries (most counts tiny) and a larger one: protected, and the proportion
    rule holds in every row."""
    published, truth = publish(connect(tmp_path / "audit.duckdb", cohort(seed=seed, scale=scale)), tmp_path)
    assert recovered_cells(published) == []
    assert small_unpublished_exposed(published, truth) == []
    assert programmed_leaks(published, truth) == []


@pytest.mark.parametrize("pool", [None, "2024-2026"])
def test_the_indicators_protected_in_two_processes_are_those_of_one(published_run, monkeypatch, pool):
    _, _, truth = published_run
    summary = truth.filter(pl.col("year").is_in([2024, 2025, 2026]))
    two = suppression.suppress(summary, pool=pool)
    monkeypatch.setattr(forked.os, "cpu_count", lambda: 1)
    one = suppression.suppress(summary, pool=pool)
    assert two.height > 500 and two.equals(one)


def test_counts_that_break_a_relation_are_refused_from_a_worker_process(published_run):
    _, _, truth = published_run
    broken = truth.filter(pl.col("year") == 2025).with_columns(
        pl.when(pl.col("level") == "national").then(pl.col("met") + 1).otherwise(pl.col("met")).alias("met"))
    with pytest.raises(ValueError, match="break the relation"):
        suppression.suppress(broken)


def test_a_worker_process_that_dies_leaves_the_work_to_this_process(published_run, monkeypatch):
    _, _, truth = published_run
    summary = truth.filter(pl.col("year").is_in([2024, 2025, 2026]))
    expected = suppression.suppress(summary, pool="2024-2026")
    monkeypatch.setattr(suppression, "_start_worker", lambda: os._exit(1))   # every forked process dies
    assert suppression.suppress(summary, pool="2024-2026").equals(expected)


def test_table_shapes_shared_between_indicators_change_no_published_cell(published_run, monkeypatch):
    """The indicators protected in one process share the cache of table shapes (``_Shape``,
    keyed by everything it is made from): the same publication as a cache per indicator,
    with fewer shapes built."""
    _, _, truth = published_run
    summary = truth.filter(pl.col("year").is_in([2024, 2025, 2026]))
    monkeypatch.setattr(forked.os, "cpu_count", lambda: 1)
    built = []
    real_shape = small_cells._Shape.__init__
    monkeypatch.setattr(small_cells._Shape, "__init__", lambda self, *a: built.append(1) or real_shape(self, *a))
    shared = suppression.suppress(summary, pool="2024-2026")
    shared_count, built[:] = len(built), []
    real_protect = suppression._protect_indicator
    monkeypatch.setattr(suppression, "_protect_indicator", lambda rows, pool, shapes=None: real_protect(rows, pool, {}))
    assert suppression.suppress(summary, pool="2024-2026").equals(shared)
    assert 0 < shared_count < len(built)


def test_images_from_rows_and_columns_give_the_attacks_of_one_elimination(published_run, monkeypatch):
    """A summary's relations are the same in every row and down every column, so each cell's
    image is made of a row image and a column image (``_parts``), and its published cells are
    full rows and pooled rows after them, so the published cells' span is made of the row
    images' and the column images' (``_span_by_parts``): every shape of a pooled publication
    gets the same independent cells and the same coordinates as from the one large
    elimination of the cells, and so the same published table."""
    _, _, truth = published_run
    summary = truth.filter(pl.col("year").is_in([2024, 2025, 2026]))
    monkeypatch.setattr(forked.os, "cpu_count", lambda: 1)
    compared = []
    real_shape = small_cells._Shape.__init__

    def both(self, equations, n, hidden):
        real_shape(self, equations, n, hidden)
        parts = small_cells._parts(equations, n, small_cells.WIDTH)
        assert small_cells._span_by_parts(parts, n, small_cells.WIDTH, self.known) is not None
        with monkeypatch.context() as m:
            m.setattr(small_cells, "_parts", lambda *_: None)
            one = small_cells._Shape.__new__(small_cells._Shape)
            real_shape(one, equations, n, hidden)
        assert (self.basis, self.coords, self.users) == (one.basis, one.coords, one.users)
        compared.append(any(len(self.known & set(range(r * small_cells.WIDTH, (r + 1) * small_cells.WIDTH))) == 2
                            for r in range(n // small_cells.WIDTH)))  # a pooled row: met and denominator

    monkeypatch.setattr(small_cells._Shape, "__init__", both)
    by_parts = suppression.suppress(summary, pool="2024-2026")
    assert True in compared and False in compared  # yearly tables and pooled systems
    monkeypatch.setattr(small_cells._Shape, "__init__", real_shape)
    monkeypatch.setattr(small_cells, "_parts", lambda *_: None)
    assert suppression.suppress(summary, pool="2024-2026").equals(by_parts)


def test_published_cells_of_another_shape_take_the_cell_by_cell_elimination():
    """Rows publishing fewer columns before a full row, or a row whose image the full rows do
    not span, leave the span to the elimination of the cells' images."""
    width = 2
    # 3 rows × 2 columns, the columns equal in every row (one relation per row), rows free
    rows_free = tuple(((2 * r, 1), (2 * r + 1, -1)) for r in range(3))
    parts = small_cells._parts(rows_free, 6, width)
    assert parts is not None
    all_cells = frozenset(range(6))
    assert small_cells._span_by_parts(parts, 6, width, all_cells) == small_cells._span(
        small_cells._kronecker(parts, 6, width), sorted(all_cells))
    assert small_cells._span_by_parts(parts, 6, width, all_cells - {1}) is None  # a short row first
    assert small_cells._span_by_parts(parts, 6, width, all_cells - {5}) is None  # row 2: not made of rows 0, 1
    # with row 2 the sum of rows 0 and 1 (a pooled row), the short last row is spanned
    pooled = rows_free + tuple(((4 + c, 1), (c, -1), (2 + c, -1)) for c in range(2))
    parts = small_cells._parts(pooled, 6, width)
    spanned = small_cells._span_by_parts(parts, 6, width, all_cells - {5})
    assert spanned == small_cells._span(small_cells._kronecker(parts, 6, width), sorted(all_cells - {5}))


def test_relations_of_another_shape_are_eliminated_whole():
    """Where a relation mixes rows and columns, or rows differ in their relations, the images
    come from the one large elimination."""
    mixed = (((0, 1), (1, -1)), ((0, 1), (2, -1)), ((1, 1), (3, -1)))  # 2 × 2 cells: a diagonal relation
    assert small_cells._parts(mixed, 4, 2) is None
    uneven = (((0, 1), (1, -1)),)                                           # only the first row has a relation
    assert small_cells._parts(uneven, 4, 2) is None
    tensor = (((0, 1), (1, -1)), ((2, 1), (3, -1)), ((0, 1), (2, -1)), ((1, 1), (3, -1)))
    images = small_cells._kronecker(small_cells._parts(tensor, 4, 2), 4, 2)  # every cell equal: one free value
    assert images == small_cells._images(tensor, 4) == [{0: 1}] * 4


def test_suppression_started_before_other_work_gives_the_same_table_and_leaves_no_process(published_run,
                                                                                          monkeypatch):
    """``suppressing``: the national report writes its internal page while the forked processes
    protect the indicators; the table is the one of a single process, and leaving the block
    (also by an error) ends the processes."""
    import multiprocessing

    _, _, truth = published_run
    summary = truth.filter(pl.col("year").is_in([2024, 2025, 2026]))
    with suppression.suppressing(summary, pool="2024-2026") as published:
        assert len(multiprocessing.active_children()) == 2          # working while this block goes on
        started = published()
    assert not multiprocessing.active_children()
    with pytest.raises(RuntimeError, match="the page failed"), suppression.suppressing(summary) as _:
        raise RuntimeError("the page failed")
    assert not multiprocessing.active_children()
    monkeypatch.setattr(forked.os, "cpu_count", lambda: 1)
    assert started.equals(suppression.suppress(summary, pool="2024-2026"))


def test_a_suppression_started_ahead_is_taken_by_the_same_table_and_only_by_it(published_run, monkeypatch):
    """``start_ahead`` (the run starts the suppression when the summary is made): a later
    ``suppressing`` of an equal table and pool takes it — no suppression is started again —
    and gives the table of a single process; a different table (or pool) ends the one started
    ahead and is suppressed itself; ``discard_ahead`` ends an untaken one. No process is left."""
    import multiprocessing

    _, _, truth = published_run
    summary = truth.filter(pl.col("year").is_in([2024, 2025, 2026]))
    started = record_starts(monkeypatch)

    suppression.start_ahead(summary, pool="2024-2026")
    assert len(multiprocessing.active_children()) == 2
    with suppression.suppressing(summary.clone(), pool="2024-2026") as published:
        taken = published()
    assert started == [True] and suppression._ahead is None
    assert not multiprocessing.active_children()

    started.clear()
    suppression.start_ahead(summary, pool="2024-2026")
    other = summary.with_columns(pl.when(pl.col("level") == "national").then(pl.col("met") + 1)
                                 .otherwise(pl.col("met")).alias("met"),
                                 pl.when(pl.col("level") == "national").then(pl.col("denominator") + 1)
                                 .otherwise(pl.col("denominator")).alias("denominator"))
    with pytest.raises(ValueError, match="break the relation"), suppression.suppressing(other, "2024-2026") as again:
        again()  # not the table started ahead: suppressed itself (and this one breaks Danmark = Σ regions)
    assert started == [True, False] and suppression._ahead is None
    assert not multiprocessing.active_children()

    suppression.start_ahead(summary, pool="2024-2026")
    with suppression.suppressing(summary, pool=None) as unpooled:  # another pool label: not the same work
        unpooled()
    assert started == [True, False, True, False]
    suppression.start_ahead(summary, pool="2024-2026")
    suppression.discard_ahead()
    assert suppression._ahead is None and not multiprocessing.active_children()

    monkeypatch.setattr(forked.os, "cpu_count", lambda: 1)
    assert taken.equals(suppression.suppress(summary, pool="2024-2026"))
