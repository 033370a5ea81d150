"""Small-cell suppression across indicators that count the same patients
(``pipelines/reports/linked_suppression.py``), attacked from the published files.

The cohort here keeps the populations' links that real data has: MM02, MM11, MM12 and MM14
judge the same patients (first HDT), MM05's patients are among MM01's and MM08's among
MM02's. The attacker reads the publication only (``test_report_suppression.read_published``:
the CSV and the page's "I alt"), writes down each indicator's relations and the links the
definitions give (equal totals; a subset's total at most its population's), and runs a
linear programme per cell, as an independent review did with an integer programme.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from pipelines.indicators.catalogue import BY_ID, linked_groups
from pipelines.reports import small_cells, suppression
from pipelines.reports.linked_suppression import protect_linked
from tests.reports.report_rows import CODES, PROFILE, STATUSES, WEIGHTS, connect, pseudonym
from tests.reports.test_report_suppression import (_parse, _relations, block, pooled, publish, recovered_cells,
                                                   yearly)

SAME = ("MM02", "MM11", "MM12", "MM14")
WITHIN = (("MM05", "MM01"), ("MM08", "MM02"))


def linked_cohort(seed: int, scale: float) -> list[dict]:
    """Patient × indicator rows whose populations are linked as the definitions link them."""
    rng = random.Random(seed)
    rows = []
    for year in (2024, 2025, 2026):
        for code, weight in WEIGHTS.items():
            for _ in range(max(1, round(rng.gauss(14 * weight * scale, 2)))):
                patient, day = pseudonym(rng), date(year, 1, 1) + timedelta(days=rng.randrange(0, 300))
                judged = ["MM01"]
                if rng.random() < 0.7:
                    judged.append("MM05")
                if rng.random() < 0.6:
                    judged += SAME
                    if rng.random() < 0.25:
                        judged.append("MM08")
                for iid in judged:
                    status = rng.choices(STATUSES, PROFILE[iid])[0]
                    rows.append({"pseudonym": patient, "indicator_id": iid, "status": status,
                                 "reason_code": CODES[status], "reason_text": f"{status} for {iid}",
                                 "index_date": day, "guideline_version": "v1.5", "department_code": code,
                                 "risk": "standard", "risk_rules": "", "values_json": "{}"})
    return rows


def joint_leaks(published: pl.DataFrame, truth: pl.DataFrame) -> list[str]:
    """Counts of 1–4 (shown as <5, or never published) that a linear programme over all the
    published indicators, joined by their links, leaves one whole number."""
    import highspy

    blocks = {iid: block.to_dicts() for (iid,), block in published.group_by(["indicator_id"], maintain_order=True)}
    cells, known, marker, equations = {}, {}, {}, []

    def cell(key):
        return cells.setdefault(key, len(cells))

    totals = {}
    for iid, rows in blocks.items():
        k, u = _parse(rows)
        known.update({(iid, *c): v for c, v in k.items()})
        marker.update({(iid, *c): m for c, m in u.items()})
        for rel in _relations(rows):
            equations.append(([((iid, *c), a) for c, a in rel], 0.0, 0.0))
        for i, row in enumerate(rows):
            if not pooled(row):
                totals[(iid, row["year"], row["level"], row["unit"])] = (iid, i, "total")
    for (iid, *place), c in totals.items():
        if iid in SAME[1:]:
            equations.append(([(c, 1), (totals[(SAME[0], *place)], -1)], 0.0, 0.0))
    for small, large in WITHIN:
        for (iid, *place), c in totals.items():
            if iid == small and (large, *place) in totals:
                equations.append(([(totals[(large, *place)], 1), (c, -1)], 0.0, math.inf))
    values = _truth(truth, blocks)
    for terms, _, _ in equations:
        for c, _ in terms:
            if c not in known:
                cell(c)
    order = sorted(cells, key=cells.get)
    lp = highspy.Highs()
    lp.setOptionValue("output_flag", False)
    lp.addVars(len(order), np.array([5.0 if marker[c] == "x" else 0.0 for c in order]),
               np.array([4.0 if marker[c] == "<5" else highspy.kHighsInf for c in order]))
    for terms, low, high in equations:
        rest = sum(a * known[c] for c, a in terms if c in known)
        unknown = [(cells[c], float(a)) for c, a in terms if c not in known]
        if unknown:
            lp.addRow(low - rest, highspy.kHighsInf if high == math.inf else high - rest, len(unknown),
                      np.array([k for k, _ in unknown], dtype=np.int32), np.array([a for _, a in unknown]))
    small = [c for c in order if 1 <= values[c] <= 4]
    truths = np.array([float(values[c]) for c in order])
    least, most = np.asarray(lp.getLp().col_lower_), np.asarray(lp.getLp().col_upper_)
    columns = np.arange(len(order), dtype=np.int32)
    while small:  # first many at once: a table the programme finds with a cell a whole number off shows it safe
        safe = set()
        for sign, held in ((1.0, (np.maximum(least, truths - 1), most)), (-1.0, (least, np.minimum(most, truths + 1)))):
            todo = np.array([cells[c] for c in small if c not in safe], dtype=np.int32)
            lp.changeColsBounds(len(order), columns, *held)
            lp.changeColsCost(len(todo), todo, np.full(len(todo), sign))
            lp.run()
            if lp.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                found = np.asarray(lp.getSolution().col_value)
                safe |= {c for c in small if abs(found[cells[c]] - values[c]) >= 1 - 1e-6}
            lp.changeColsCost(len(todo), todo, np.zeros(len(todo)))
        lp.changeColsBounds(len(order), columns, least, most)
        if not safe:
            break
        small = [c for c in small if c not in safe]
    leaks = []
    for c in small:  # then one by one: its least and greatest value
        for sign in (1.0, -1.0):
            lp.changeColCost(cells[c], sign)
            lp.run()
            status, objective = lp.getModelStatus(), lp.getInfo().objective_function_value
            lp.changeColCost(cells[c], 0.0)
            if status == highspy.HighsModelStatus.kUnbounded or (
                    status == highspy.HighsModelStatus.kOptimal and abs(sign * objective - values[c]) >= 1 - 1e-6):
                break
        else:
            iid, i, column = c
            leaks.append(f"{iid} {blocks[iid][i]['year']} {blocks[iid][i]['unit']} {column} = {values[c]}")
    return leaks


def _truth(truth: pl.DataFrame, blocks: dict[str, list[dict]]) -> dict:
    """Every published row's true counts (pooled rows summed over the years), by cell."""
    counts = defaultdict(int)
    for r in truth.iter_rows(named=True):
        row = {s: r[s] for s in STATUSES} | {"denominator": r["denominator"], "total": sum(r[s] for s in STATUSES)}
        row["dmn"] = r["denominator"] - r["met"]
        for period in (str(r["year"]), "2024-2026"):
            for column, value in row.items():
                counts[(r["indicator_id"], period, r["level"], r["unit"], column)] += value
    return {(iid, i, column): counts[(iid, str(row["year"]), row["level"], row["unit"], column)]
            for iid, rows in blocks.items() for i, row in enumerate(rows)
            for column in ("met", "not_met", "unknown", "denominator", "justified", "excluded", "pending",
                           "total", "dmn")}


@pytest.fixture(scope="module")
def linked_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("linked")
    return publish(connect(tmp / "audit.duckdb", linked_cohort(seed=11, scale=0.35)), tmp)


def test_no_count_of_one_to_four_can_be_recovered_by_joining_the_indicators(linked_run):
    published, truth = linked_run
    assert published.height > 300
    assert joint_leaks(published, truth) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed, scale", [(12, 0.2), (13, 1.0), (14, 2.0)])
def test_linked_cohorts_small_and_large_are_protected(tmp_path, seed, scale):
    published, truth = publish(connect(tmp_path / "audit.duckdb", linked_cohort(seed, scale)), tmp_path)
    assert joint_leaks(published, truth) == []


def test_the_joint_attacker_finds_what_protecting_each_indicator_alone_leaves_open(linked_run, tmp_path, monkeypatch):
    """Control: the same cohort with every indicator protected on its own (as before the
    links were protected): the join recovers counts of 1–4."""
    _, truth = linked_run
    monkeypatch.setattr(suppression, "linked_groups", lambda ids: [[k] for k in range(len(ids))])
    alone, _ = publish(connect(tmp_path / "audit.duckdb", linked_cohort(seed=11, scale=0.35)), tmp_path)
    assert len(joint_leaks(alone, truth)) > 20  # 94 on this cohort


def test_a_shared_total_is_hidden_in_every_indicator_with_the_same_patients_or_in_none(linked_run):
    published, truth = linked_run
    shown = yearly(published).filter(pl.col("indicator_id").is_in(SAME))
    hidden = shown.group_by(["year", "level", "unit"]).agg(
        pl.col("total").is_in(["<5", "x"]).sum().alias("hidden"), pl.len().alias("n"))
    assert hidden.height > 50
    assert hidden.filter((pl.col("hidden") > 0) & (pl.col("hidden") < pl.col("n"))).height == 0
    assert hidden.filter(pl.col("hidden") > 0).height > 5


def test_pooling_only_adds_to_the_years_of_linked_indicators_too(linked_run):
    published, truth = linked_run
    plain = suppression.suppress(truth.filter(pl.col("year").is_in([2024, 2025, 2026])))
    columns = ["indicator_id", "year", "level", "unit", "met", "not_met", "unknown", "denominator",
               "justified", "excluded", "pending"]
    assert yearly(published).select(columns).equals(plain.with_columns(pl.col("year").cast(pl.String)).select(columns))
    assert published.filter(pl.col("year") == "2024-2026", pl.col("indicator_id").is_in(SAME)).height > 3


def test_the_catalogue_links_the_indicators_the_definitions_link():
    ids = [f"MM{k:02d}" for k in range(1, 16)]
    groups = [[ids[k] for k in group] for group in linked_groups(ids)]
    assert ["MM01", "MM05"] in groups
    assert ["MM02", "MM08", "MM11", "MM12", "MM14"] in groups
    assert sum(len(g) == 1 for g in groups) == 8
    for iid in SAME[1:]:
        assert BY_ID[iid].index_date_da == BY_ID["MM02"].index_date_da == "første HDT (ASCT)"
    assert linked_groups(["MM11", "X1", "MM02"]) == [[0, 2], [1]]


def _regions(iid: str, regions: list[tuple]) -> list[dict]:
    """One indicator's 2026 table: Danmark (the sum) and regions A, B, … from (met, not_met,
    unknown, justified, excluded, pending)."""
    national = tuple(sum(counts) for counts in zip(*regions))
    rows = block([("national", "Danmark", None, None, *national),
                  *((("region", name, name, None, *counts) for name, counts in zip("ABCDE", regions)))])
    return [{**r, "indicator_id": iid, "year": 2026} for r in rows]


def _danmark(published: list[tuple[list[dict], list[dict]]]) -> list[dict]:
    return [yearly[0] for yearly, _ in published]


def _recovered(published: list[tuple[list[dict], list[dict]]]) -> list[str]:
    rows = [{**r, "year": "2026"} for yearly, _ in published for r in yearly]
    return recovered_cells(pl.DataFrame(rows, schema_overrides={"region": pl.String, "hospital": pl.String}))


def test_a_total_other_indicators_share_is_a_costly_complement():
    """MM11's Danmark has an excluded count of 2. Hiding its total protects it in one cell;
    marked costly (as Danmark's total other indicators share is), not met and the denominator
    are hidden instead."""
    mm11 = _regions("MM11", [(30, 19, 0, 0, 1, 0), (30, 19, 0, 0, 1, 0)])
    assert (0, "total") in small_cells.protect(mm11)
    cells = small_cells.protect(mm11, costly={(0, "total")})
    assert (0, "total") not in cells and {(0, "not_met"), (0, "denominator")} <= cells.keys()
    assert (0, "excluded") in cells


def test_the_group_is_published_as_the_protection_that_shows_more_proportions():
    """Hiding Danmark's shared total in MM11 hides it in MM02 and MM14 too, and their national
    proportions with it (as on the 10,000-patient synthetic delivery, 2024 and 2025). Each
    group is protected both ways, with that total as an ordinary complement and as one of last
    resort, and the one that publishes more proportions (then more of Danmark's) is kept."""
    mm02 = _regions("MM02", [(29, 5, 0, 0, 0, 0), (21, 8, 5, 0, 0, 0), (20, 6, 0, 0, 0, 0)])
    mm11 = _regions("MM11", [(26, 6, 0, 0, 2, 0), (23, 9, 0, 0, 2, 0), (20, 6, 0, 0, 0, 0)])
    mm14 = _regions("MM14", [(29, 5, 0, 0, 0, 0), (29, 5, 0, 0, 0, 0), (19, 7, 0, 0, 0, 0)])
    published = protect_linked([mm02, mm11, mm14], None, {})
    danmark = _danmark(published)
    assert [row["total"] for row in danmark] == ["94", "94", "94"]
    assert [row["withheld"] for row in danmark] == [False, True, False]  # MM02's and MM14's, not MM11's
    assert danmark[1]["excluded"] == "<5"
    assert _recovered(published) == []
    # where last resort shows less, the ordinary protection is kept: Danmark's total hidden in both
    mm02 = _regions("MM02", [(40, 5, 5, 0, 0, 0), (40, 5, 5, 0, 0, 0)])
    mm11 = _regions("MM11", [(30, 19, 0, 0, 1, 0), (30, 19, 0, 0, 1, 0)])
    published = protect_linked([mm02, mm11], None, {})
    danmark = _danmark(published)
    assert [row["total"] for row in danmark] == ["x", "x"]
    assert [row["withheld"] for row in danmark] == [True, False]
    assert _recovered(published) == []
