"""The fast paths of the report layer give exactly what the plain ones give.

* the incremental attacker of the suppression (``small_cells._Attacker``) finds exactly
  what the reference attacks (``suppression_oracle.exposed``, in tests/) find, step by step while cells are
  hidden, also for "would hiding this cell protect that one";
* the funnel limits skip only binomial terms that are exactly 0.0;
* national patient pages are capped, department ones are not; ``load`` reads the rows a
  report needs;
* the dashboards written beside, in a fresh process, are the dashboards written in this one.

(The column-wise Excel writer against its oracle: ``test_report_xlsx.py``.)
"""

from __future__ import annotations

import math
import random
from datetime import date

import polars as pl
import pytest

from pipelines.reports import deviations, funnel, small_cells
from tests.reports import suppression_oracle

def _table(seed: int, scale: int) -> list[dict]:
    """An indicator × year table with many small counts: Danmark, 2 regions, hospitals, departments."""
    rng = random.Random(seed)
    statuses = small_cells.STATUS_COLUMNS
    departments = []
    for region in ("A", "B"):
        for h in range(rng.randint(1, 3)):
            for d in range(rng.randint(1, 3)):
                counts = {s: rng.choice([0, 0, 1, 2, 3, 5, 8, rng.randint(0, scale)]) for s in statuses}
                departments.append((region, f"{region}H{h}", f"{region}H{h}D{d}", counts))

    def row(level, unit, region, hospital, parts):
        counts = {s: sum(p[s] for p in parts) for s in statuses}
        out = {"level": level, "unit": unit, "region": region, "hospital": hospital, **counts}
        out["denominator"] = out["met"] + out["not_met"] + out["unknown"]
        out["total"] = sum(out[s] for s in statuses)
        return out

    rows = [row("national", "Danmark", None, None, [d[3] for d in departments])]
    for region in ("A", "B"):
        rows.append(row("region", region, region, None, [d[3] for d in departments if d[0] == region]))
        for hospital in sorted({d[1] for d in departments if d[0] == region}):
            rows.append(row("hospital", hospital, region, hospital, [d[3] for d in departments if d[1] == hospital]))
            for d in departments:
                if d[1] == hospital:
                    rows.append(row("department", d[2], region, hospital, [d[3]]))
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_incremental_attacker_finds_what_the_reference_attacks_find(seed):
    rows = _table(seed, 30)
    rels = small_cells.relations(rows)
    values = {}
    for i, r in enumerate(rows):
        for c in small_cells.COUNT_COLUMNS:
            values[(i, c)] = r[c]
        values[(i, small_cells.HIDDEN)] = r["denominator"] - r["met"]
    system = small_cells._System(rels, values)
    hidden = {c for c in values if c[1] == small_cells.HIDDEN}
    sensitive = {c for c in hidden if values[c] in small_cells.SMALL}
    attacker = small_cells._Attacker(rels, values, hidden)
    published = [c for c in values if c not in hidden]
    rng = random.Random(seed)
    rng.shuffle(published)
    suppressed: set = set()
    while len(published) > 4:
        cell = published.pop()
        suppressed.add(cell)
        attacker.hide(cell)
        protect = suppressed | sensitive
        expected = suppression_oracle.exposed(system, suppressed, hidden, protect)
        assert attacker.exposed(protect) == expected
        for target in sorted(expected)[:3]:
            for extra in published[-3:]:
                reference = target not in suppression_oracle.exposed(system, suppressed | {extra}, hidden,
                                                              protect | {extra})
                assert attacker.protects(extra, target) == reference


def test_protect_is_the_reference_algorithm():
    """``protect`` with the reference attacks in place of the incremental ones chooses the same cells."""

    def reference_protect(rows):
        rels = small_cells.relations(rows)
        values = {}
        for i, row in enumerate(rows):
            for column in small_cells.COUNT_COLUMNS:
                values[(i, column)] = int(row[column])
            values[(i, small_cells.HIDDEN)] = int(row["denominator"]) - int(row["met"])
        system = small_cells._System(rels, values)
        hidden = {c for c in values if c[1] == small_cells.HIDDEN}
        primary = {c for c, v in values.items() if v in small_cells.SMALL and c not in hidden}
        sensitive = {c for c in hidden if values[c] in small_cells.SMALL}
        suppressed = set(primary)
        depth = {i: small_cells.LEVELS.index(row["level"]) for i, row in enumerate(rows)}
        by_cell = {}
        for rel in rels:
            for c in rel.cells:
                by_cell.setdefault(c, []).append(rel)

        def score(c):
            return (values[c] == 0, small_cells.COLUMN_RANK[c[1]], -depth[c[0]], values[c], c)

        def candidates(rels_):
            return sorted({c for rel in rels_ for c in rel.cells if c not in suppressed and c not in hidden}, key=score)

        def attack(cells):
            return suppression_oracle.exposed(system, cells, hidden, cells | sensitive)

        while True:
            changed = True
            while changed:
                changed = False
                for rel in rels:
                    unknown = [c for c in rel.cells if c in suppressed or c in hidden]
                    if len(unknown) == 1 and (unknown[0] in suppressed or unknown[0] in sensitive):
                        options = candidates([rel])
                        if options:
                            suppressed.add(options[0])
                            changed = True
            found = attack(suppressed)
            if not found:
                return {c: "<5" if values[c] < 5 else "x" for c in suppressed}
            cell = min(found, key=lambda c: (-depth[c[0]], c))
            reach, options = list(by_cell[cell]), candidates(by_cell[cell])
            seen = {cell}
            while not options:
                nxt = {c for rel in reach for c in rel.cells if c not in seen and (c in suppressed or c in hidden)}
                seen |= nxt
                reach = [rel for c in nxt for rel in by_cell[c]]
                options = candidates(reach)
            chosen = next((c for c in options[:small_cells.TRIES] if cell not in attack(suppressed | {c})), options[0])
            suppressed.add(chosen)

    shapes: dict = {}
    for seed in range(8):
        rows = _table(100 + seed, 12 if seed % 2 else 60)
        assert small_cells.protect(rows, shapes) == reference_protect(rows)


def _reference_cdf(n: int, p: float) -> list[float]:
    """Every term summed, the zeros included (the definition)."""
    if p <= 0.0:
        return [1.0] * (n + 1)
    if p >= 1.0:
        return [0.0] * n + [1.0]
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    total, out = 0.0, []
    for k in range(n + 1):
        total += math.exp(log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        out.append(min(total, 1.0))
    out[-1] = 1.0
    return out


def test_binomial_cdf_equals_the_full_sum():
    rng = random.Random(4)
    cases = [(n, p) for n in (1, 2, 7, 60, 900, 4000) for p in (1e-6, 0.02, 0.5, 0.93, 1 - 1e-6)]
    cases += [(rng.randint(1, 12000), rng.random()) for _ in range(40)]
    for n, p in cases:
        cdf = funnel.binomial_cdf(n, p)
        assert cdf == _reference_cdf(n, p), (n, p)
        for q in (0.001, 0.025, 0.975, 0.999, 0.0, 1.0):
            scanned = next((r for r, value in enumerate(cdf) if value >= q - 1e-12), n)
            assert funnel.binomial_quantile(q, n, p, cdf) == scanned, (n, p, q)


def test_national_patient_pages_are_capped_and_say_so(tmp_path, monkeypatch):
    """Past NATIONAL_PAGE_LIMIT pages a national list shows its first rows and points to the
    CSV, which keeps every row; department lists are not capped."""
    from datetime import timedelta

    from pipelines.reports import dashboard
    from pipelines.reports.writer import write_dashboards
    from tests.reports.report_rows import connect

    monkeypatch.setattr(dashboard, "NATIONAL_PAGE_LIMIT", 1)
    start = date(2026, 1, 1)
    rows = [{"pseudonym": f"P{k:016x}", "indicator_id": "MM01", "status": "met" if k % 5 else "not_met",
             "reason_code": "MET", "reason_text": "Rec 1 (A): x", "index_date": start + timedelta(k % 300),
             "guideline_version": "v1.5", "department_code": "1301011", "risk": "standard", "risk_rules": "",
             "values_json": "{}"} for k in range(2300)]
    con = connect(tmp_path / "audit.duckdb", rows)
    out = tmp_path / "out"
    write_dashboards(con, out)
    national = sorted(p.name for p in (out / "patienter").glob("MM01*.html"))
    assert national == ["MM01.html"]
    page = (out / "patienter" / "MM01.html").read_text(encoding="utf-8")
    assert page.count('<tr class="status-') == deviations.PAGE_ROWS
    assert "Listen har 2.300 patienter" in page and "hele listen står i MM01.csv" in page
    assert (out / "patienter" / "MM01.csv").read_bytes()[3:].decode("utf-8").count("\n") == 2301
    assert "Siderne viser de første 2.000 af 2.300 patienter" in (out / "dashboard.html").read_text(encoding="utf-8")
    department = sorted(p.name for p in (out / "departments" / "1301011" / "patienter").glob("MM01*.html"))
    assert department == ["MM01-2.html", "MM01.html"]
    assert "Listen har" not in (out / "departments" / "1301011" / "patienter" / "MM01.html").read_text(encoding="utf-8")


def test_load_reads_the_patient_rows_a_report_needs(tmp_path):
    """``period``: the rows whose index date lies in the audit period, and every pending row."""
    from pipelines.lib.period import resolve_period
    from pipelines.reports.data import load
    from tests.reports.report_rows import cohort, connect

    con = connect(tmp_path / "audit.duckdb", cohort(seed=3, scale=0.3, years=(2022, 2023, 2024, 2025, 2026)))
    everything = load(con).patients
    assert load(con, patients="none").patients.height == 0
    for spec in ("12m", "2025", "2026-03", "3m"):
        data = load(con, patients="period", period=spec)
        period = resolve_period(spec, data.period.extract_date)
        assert data.period == period
        inside = pl.col("index_date").is_between(pl.lit(period.start), pl.lit(period.end))
        expected = everything.filter(inside | (pl.col("status") == "pending"))
        assert 0 < data.patients.height < everything.height
        assert data.patients.drop("risk_text").equals(expected.drop("risk_text"))
    with pytest.raises(ValueError, match="patients must be one of"):
        load(con, patients="some")


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dashboards_written_beside_are_the_dashboards_written_here(tmp_path):
    """The department lists' step starts the dashboards in a fresh process (``dashboards_beside``);
    what it writes is byte for byte what ``write_dashboards`` writes in this process."""
    import multiprocessing

    from pipelines.lib import forked
    from pipelines.reports import dashboards_beside
    from pipelines.reports.writer import write_dashboards, write_departments
    from tests.reports.report_rows import cohort, connect

    if not forked.more_than_one_core():
        pytest.skip("one core: the dashboards are never started beside")
    con = connect(tmp_path / "audit.duckdb", cohort(seed=5, scale=0.3, years=(2024, 2025, 2026)))
    beside, here = tmp_path / "beside", tmp_path / "here"
    before = set(multiprocessing.active_children())
    write_departments(con, beside, dashboards_beside=True)
    assert set(multiprocessing.active_children()) - before, "started in a process of its own"
    # the work's module is what the fresh process imports (kept lean: see the test below)
    assert dashboards_beside._started[beside]._work.__module__ == "pipelines.reports.dashboard"
    taken = dashboards_beside.take(beside)
    write_departments(con, here)
    assert dashboards_beside.take(here) is None  # nothing started: the step writes them itself
    assert taken == write_dashboards(con, here)
    files = _files(beside)
    assert any(name.endswith("dashboard.html") for name in files) and len(files) > 20
    assert files == _files(here)
    assert not set(multiprocessing.active_children()) - before


def test_dashboards_started_beside_never_see_a_key_and_end_with_the_run(tmp_path, monkeypatch):
    import multiprocessing
    import os
    from pathlib import Path

    from pipelines.lib import forked
    from pipelines.reports import dashboards_beside
    from pipelines.reports.writer import write_departments
    from tests.reports.report_rows import cohort, connect

    if not forked.more_than_one_core():
        pytest.skip("one core: the dashboards are never started beside")
    con = connect(tmp_path / "audit.duckdb", cohort(seed=6, scale=0.2, years=(2025, 2026)))
    before = set(multiprocessing.active_children())
    monkeypatch.setenv("MYELOMA_AUDIT_KEY", "a-key-the-dashboards-never-see-0123456789")
    monkeypatch.setenv("MYELOMA_AUDIT_REID_KEY", "another-key-they-never-see-0123456789ab")
    environments = []  # read as each process starts: it ends as soon as its dashboards are written
    real_enter = forked.Beside.__enter__

    def enter(self):
        entered = real_enter(self)
        environments.extend(Path(f"/proc/{pid}/environ").read_bytes() for pid in self._pool._processes)
        return entered

    monkeypatch.setattr(forked.Beside, "__enter__", enter)
    write_departments(con, tmp_path / "out", dashboards_beside=True)
    assert environments
    for environment in environments:  # started without the keys: not in its environment as the system shows it
        assert b"MYELOMA_AUDIT_KEY" not in environment and b"never-see" not in environment
        assert b"PATH=" in environment
    assert os.environ["MYELOMA_AUDIT_KEY"].startswith("a-key")  # and this process has them back
    dashboards_beside.discard()
    assert not set(multiprocessing.active_children()) - before
    assert dashboards_beside.take(tmp_path / "out") is None


def test_dashboards_of_a_period_with_more_patients_than_the_cap_are_written_by_the_lists_step(tmp_path, monkeypatch):
    """Above ``DASHBOARDS_BESIDE_AT_MOST`` patients no process is started (its copy of the data
    would cost memory and, measured at 1M, no time): the department lists' step writes the
    dashboards itself, after the lists and from the same rows, before the steps that wait for the
    data-quality verdict; the dashboards step takes their counts. The same files as the
    dashboards step writes on its own."""
    import multiprocessing

    from pipelines.reports import dashboards_beside, writer
    from tests.reports.report_rows import cohort, connect

    con = connect(tmp_path / "audit.duckdb", cohort(seed=7, scale=0.2, years=(2025, 2026)))
    before = set(multiprocessing.active_children())
    patients = con.execute("select count(distinct pseudonym) from rpt_patient_results").fetchone()[0]
    assert patients > 1
    monkeypatch.setattr(writer, "DASHBOARDS_BESIDE_AT_MOST", 1)
    lists, alone = tmp_path / "lists", tmp_path / "alone"
    writer.write_departments(con, lists, dashboards_beside=True)
    assert not set(multiprocessing.active_children()) - before
    assert any(name.endswith("dashboard.html") for name in _files(lists))  # written before the step takes them
    taken = dashboards_beside.take(lists)
    assert dashboards_beside.take(lists) is None  # taken once
    writer.write_departments(con, alone)
    assert dashboards_beside.take(alone) is None  # not asked: the dashboards step writes them itself
    assert taken == writer.write_dashboards(con, alone)
    assert _files(lists) == _files(alone)


@pytest.mark.parametrize(("module", "not_imported"), [
    ("pipelines.reports.summary_workbook", ["polars", "duckdb", "dagster", "numpy"]),
    ("pipelines.reports.dashboard", ["dagster", "numpy", "pipelines.reports.national", "pipelines.reports.writer"]),
])
def test_the_work_of_a_fresh_process_imports_only_what_it_needs(module, not_imported):
    """A fresh process (the summary's workbook, the dashboards) imports its work's module before
    it starts: every library it need not import is CPU the run's other core spends for nothing."""
    import subprocess
    import sys

    code = f"import sys, {module}; print(' '.join(m for m in {not_imported!r} if m in sys.modules))"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert imported == []
