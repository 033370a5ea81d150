"""The fast paths of the report layer give exactly what the plain ones give.

* the patient tables built column-wise (``templates.patient_table``) equal the Jinja macro
  ``patient_table`` rendering ``deviations.display_rows``, byte for byte;
* the incremental attacker of the suppression (``suppression._Attacker``) finds exactly
  what the reference attacks (``suppression_oracle.exposed``, in tests/) find, step by step while cells are
  hidden, also for "would hiding this cell protect that one";
* the funnel limits skip only binomial terms that are exactly 0.0;
* the column-wise Excel writer (``xlsx.write_xlsx_frames``) gives the workbook
  ``files.write_xlsx`` gives, byte for byte.
"""

from __future__ import annotations

import json
import math
import random
import zipfile
from datetime import date, datetime

import polars as pl
import pytest

from pipelines.reports import deviations, funnel, html, suppression, templates, xlsx
from pipelines.reports.files import write_xlsx
from tests.reports import suppression_oracle

HOSTILE = ['=HYPERLINK("x") <script>alert(1)</script>', "a & b 'c' \"d\"", "æøå ≥ 5 – ok", "", None, "  -2 dage",
           "<b>fed</b>", "tab\tand\nnewline", "_x0041_ literal", "ctl\x01char", "trailing ", "<r>rich</r>", " lead"]


def _values(rng: random.Random) -> str | None:
    choice = rng.randrange(10)
    if choice == 0:
        return None
    if choice == 1:
        return "not json <&>"
    if choice == 2:
        return json.dumps([1, 2.5, "x"])
    if choice == 3:
        return ""
    values = {"age": rng.randint(40, 70), "crcl": rng.choice([24.5, 1e-5, 1234567.0, 0.1 + 0.2, -0.0, 3.0]),
              "flag": rng.choice([True, False, None]), "note": rng.choice(HOSTILE),
              "list": [rng.choice(HOSTILE[:3]), 2, None], "nested": {"a": 1.5, "<k>": "v&w"}}
    keys = rng.sample(sorted(values), rng.randint(0, len(values)))
    return json.dumps({k: values[k] for k in keys}, ensure_ascii=rng.random() < 0.5)


def _frame(n: int = 400, seed: int = 5) -> pl.DataFrame:
    rng = random.Random(seed)
    statuses = ["met", "not_met", "unknown", "justified", "excluded", "pending", "absent", "<odd>"]
    rows = []
    for k in range(n):
        rows.append({
            "pseudonym": f"P{k:016x}" if k % 9 else rng.choice(HOSTILE), "indicator_id": rng.choice(["MM01", "MM<2>"]),
            "status": rng.choice(statuses), "reason_code": rng.choice(["MET", None, "A&B"]),
            "reason_text": rng.choice(HOSTILE), "index_date": rng.choice([date(2026, 1, 2), date(2024, 12, 31), None]),
            "guideline_version": rng.choice(["v1.5", None]), "risk": rng.choice(["standard", "høj's", None]),
            "department_name": rng.choice(HOSTILE), "values_json": _values(rng),
            "change": rng.choice(["ny", "vedvarende", "løst", None, ""]),
            "previous_status": rng.choice(["met", "not_met", "absent", "weird", None, ""]),
        })
    return pl.DataFrame(rows, schema={"pseudonym": pl.String, "indicator_id": pl.String, "status": pl.String,
                                      "reason_code": pl.String, "reason_text": pl.String, "index_date": pl.Date,
                                      "guideline_version": pl.String, "risk": pl.String, "department_name": pl.String,
                                      "values_json": pl.String, "change": pl.String, "previous_status": pl.String})


@pytest.mark.parametrize("flags", [(False, False, False), (True, False, False), (False, True, True),
                                   (True, True, True), (False, False, True)])
def test_fast_patient_table_is_the_macro_byte_for_byte(flags):
    show_department, show_indicator, show_change = flags
    frame = _frame()
    page = html.environment().from_string(
        '{% from "patient_table.html" import patient_table %}'
        "{{ patient_table(rows, show_department=d, show_indicator=i, show_change=c) }}")
    expected = page.render(rows=deviations.display_rows(frame), d=show_department, i=show_indicator, c=show_change)
    fast = templates.patient_table(frame, show_department=show_department, show_indicator=show_indicator,
                                   show_change=show_change)
    assert str(fast) == expected
    empty = page.render(rows=[], d=show_department, i=show_indicator, c=show_change)
    assert str(templates.patient_table(frame.clear(), show_department=show_department,
                                       show_indicator=show_indicator, show_change=show_change)) == empty


def test_values_text_is_the_csv_text():
    from pipelines.reports.files import values_text

    frame = templates.values_columns(_frame(300, seed=9))
    for raw, text in zip(frame["values_json"].to_list(), frame["values_text"].to_list()):
        assert text == values_text(raw)


def _table(seed: int, scale: int) -> list[dict]:
    """An indicator × year table with many small counts: Danmark, 2 regions, hospitals, departments."""
    rng = random.Random(seed)
    statuses = suppression.STATUS_COLUMNS
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
    rels = suppression.relations(rows)
    values = {}
    for i, r in enumerate(rows):
        for c in suppression.COUNT_COLUMNS:
            values[(i, c)] = r[c]
        values[(i, suppression.HIDDEN)] = r["denominator"] - r["met"]
    system = suppression._System(rels, values)
    hidden = {c for c in values if c[1] == suppression.HIDDEN}
    sensitive = {c for c in hidden if values[c] in suppression.SMALL}
    attacker = suppression._Attacker(rels, values, hidden)
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
        rels = suppression.relations(rows)
        values = {}
        for i, row in enumerate(rows):
            for column in suppression.COUNT_COLUMNS:
                values[(i, column)] = int(row[column])
            values[(i, suppression.HIDDEN)] = int(row["denominator"]) - int(row["met"])
        system = suppression._System(rels, values)
        hidden = {c for c in values if c[1] == suppression.HIDDEN}
        primary = {c for c, v in values.items() if v in suppression.SMALL and c not in hidden}
        sensitive = {c for c in hidden if values[c] in suppression.SMALL}
        suppressed = set(primary)
        depth = {i: suppression.LEVELS.index(row["level"]) for i, row in enumerate(rows)}
        by_cell = {}
        for rel in rels:
            for c in rel.cells:
                by_cell.setdefault(c, []).append(rel)

        def score(c):
            return (values[c] == 0, suppression.COLUMN_RANK[c[1]], -depth[c[0]], values[c], c)

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
            chosen = next((c for c in options[:suppression.TRIES] if cell not in attack(suppressed | {c})), options[0])
            suppressed.add(chosen)

    shapes: dict = {}
    for seed in range(8):
        rows = _table(100 + seed, 12 if seed % 2 else 60)
        assert suppression.protect(rows, shapes) == reference_protect(rows)


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


def _sheets(seed: int) -> list:
    rng = random.Random(seed)
    sheets = [("Oversigt", ["Indikator", "Titel", "Ikke opfyldt"], [["MM01", "Vurdering", 3], ["MM02", "=1+1", 0]])]
    for name in ("MM01", "MM02", "a/b:c"):
        header = ["Pseudonym", "Status", "Indeksdato", "År", "værdi: x", "værdi: y"]
        rows = [[rng.choice(HOSTILE[:4] + HOSTILE[5:] + ["P1", "ok"]), rng.choice(["ikke opfyldt", None, "@x"]),
                 rng.choice([date(2026, 3, 1), None, datetime(2025, 1, 2)]), rng.choice([2026, None]),
                 rng.choice([1.5, 7, True, False, None, "tekst", -0.25, 10**12]), rng.choice(["", " x", "x "])]
                for _ in range(rng.randint(0, 40))]
        sheets.append((name, header, rows))
    return sheets


def _assert_same_workbook(slow_path, fast_path):
    with zipfile.ZipFile(slow_path) as slow, zipfile.ZipFile(fast_path) as fast:
        assert slow.namelist() == fast.namelist()
        for name in slow.namelist():
            assert slow.read(name) == fast.read(name), name
    assert slow_path.read_bytes() == fast_path.read_bytes()


def _object_frame(header: list[str], rows: list[list]) -> pl.DataFrame | None:
    """Rows of mixed Python values as ``Object`` columns (the value-by-value path)."""
    if not rows:
        return None
    return pl.DataFrame([pl.Series(str(c), [r[c] for r in rows], dtype=pl.Object) for c in range(len(header))])


@pytest.mark.parametrize("seed", range(4))
def test_column_wise_xlsx_of_mixed_values_is_write_xlsx_byte_for_byte(tmp_path, seed):
    sheets = _sheets(seed)
    write_xlsx(tmp_path / "slow.xlsx", sheets)
    xlsx.write_xlsx_frames(tmp_path / "fast.xlsx", [(n, h, _object_frame(h, rows)) for n, h, rows in sheets])
    _assert_same_workbook(tmp_path / "slow.xlsx", tmp_path / "fast.xlsx")


def _typed_frame(seed: int, n: int) -> pl.DataFrame:
    rng = random.Random(seed)
    texts = HOSTILE + ["x" * 40, "y" * 70, "'quoted", "  =sum", "æ" * 9, "_x0000_", "a\r\nb", "\u00a0nbsp", "😀 emoji"]
    return pl.DataFrame({
        "text": [rng.choice(texts) for _ in range(n)],
        "flag": [rng.choice([True, False, None]) for _ in range(n)],
        "whole": [rng.choice([0, 7, -3, 2026, None, 10**17, -(10**15)]) for _ in range(n)],
        "real": [rng.choice([0.0, -0.0, 1.5, 1e-05, 1234567.0, 0.1 + 0.2, -0.25, 1e16, None, 3.0]) for _ in range(n)],
        "day": [rng.choice([date(2026, 3, 1), date(1999, 12, 31), None]) for _ in range(n)],
        "moment": [rng.choice([datetime(2025, 1, 2, 13, 45), None]) for _ in range(n)],
        "nothing": [None] * n,
        "small": pl.Series([rng.choice([1, 2, None]) for _ in range(n)], dtype=pl.Int8),
        "single": pl.Series([rng.choice([0.5, -0.0, None]) for _ in range(n)], dtype=pl.Float32),
    })


@pytest.mark.parametrize("seed", range(3))
def test_column_wise_xlsx_of_typed_columns_is_write_xlsx_byte_for_byte(tmp_path, seed):
    """Every polars type the lists use, written column-wise, equals the values written one by one."""
    frames = [_typed_frame(seed, 60), _typed_frame(seed + 10, 1), _typed_frame(seed + 20, 45).head(0)]
    header = ["Tekst", "=Flag", "Hel", "Reel", "Dag", "Tidspunkt", "Intet", "Lille", "Enkelt"]
    sheets = [("Oversigt", ["Indikator", "Antal"], pl.DataFrame({"a": ["MM01", "MM02"], "b": [3, 0]})),
              *((f"MM0{k}", header, frame) for k, frame in enumerate(frames)), ("tom", header, None),
              # row spans are per block of 16 rows: a band of short rows, then long ones
              ("spænd", ["a", "b", "c"], pl.DataFrame({"a": [None] * 3 + ["x"] * 40, "b": [1] * 43,
                                                         "c": [None] * 20 + [2.5] * 23}))]
    write_xlsx(tmp_path / "slow.xlsx", [(n, h, f.rows() if f is not None else []) for n, h, f in sheets])
    xlsx.write_xlsx_frames(tmp_path / "fast.xlsx", sheets)
    _assert_same_workbook(tmp_path / "slow.xlsx", tmp_path / "fast.xlsx")


def test_column_wise_xlsx_refuses_what_write_xlsx_refuses(tmp_path):
    with pytest.raises(TypeError, match="NAN/INF"):
        write_xlsx(tmp_path / "slow.xlsx", [("a", ["x"], [[float("nan")]])])
    with pytest.raises(TypeError, match="NAN/INF"):
        xlsx.write_xlsx_frames(tmp_path / "fast.xlsx", [("a", ["x"], pl.DataFrame({"x": [1.0, float("inf")]}))])


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
    from pipelines.reports.data import DEVIATIONS, load
    from tests.reports.report_rows import cohort, connect

    con = connect(tmp_path / "audit.duckdb", cohort(seed=3, scale=0.3, years=(2022, 2023, 2024, 2025, 2026)))
    everything = load(con).patients
    report = load(con, patients="report")
    assert load(con, patients="none").patients.height == 0
    deviation, current = pl.col("status").is_in(DEVIATIONS), pl.col("year").is_in(report.years)
    assert 0 < report.patients.height < everything.height
    assert report.patients.equals(everything.filter(deviation | current))
    assert load(con, patients="current").patients.equals(everything.filter(current))
    assert load(con, patients="deviations").patients.equals(everything.filter(deviation))
    with pytest.raises(ValueError, match="patients must be one of"):
        load(con, patients="some")


def test_column_wise_values_rendering_equals_the_python_rendering():
    """Drill-down objects with the same keys per indicator go column-wise; rogue ones (other
    keys, nested values, escapes, invalid JSON) fall back; all equal the value-by-value result."""
    from pipelines.reports.files import values_text

    rng = random.Random(11)
    rows = []
    for k in range(600):
        indicator = rng.choice(["MM01", "MM02"])
        value = {"age": rng.choice([40, 71, -3, None]), "crcl": rng.choice([24.5, 1e-05, 1234567.0, -0.0, 0.1 + 0.2, None]),
                 "ok": rng.choice([True, False, None]), "note": rng.choice(["a & b", "<x>", "'q'", "æøå", "", None]),
                 "day": rng.choice(["2026-03-01", None])}
        if indicator == "MM02":
            value = {"dose": rng.choice([200, 140, None]), "regimen": rng.choice(['VRd "x"', "DaraVRd", None])}
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if k % 50 == 0:
            text = rng.choice(['{"age":1,"extra":2}', '{"age":[1,2]}', "not json", '{"note":"\\u00e6"}', "{}", "[1]", ""])
        rows.append({"indicator_id": indicator, "values_json": text if k % 97 else None})
    frame = pl.DataFrame(rows, schema={"indicator_id": pl.String, "values_json": pl.String})
    fast = templates.values_columns(frame)
    slow = frame.join(templates._render_python(frame.get_column("values_json").unique()), on="values_json",
                      how="left", nulls_equal=True, maintain_order="left")
    assert fast.get_column("values_text").to_list() == slow.get_column("values_text").to_list()
    assert fast.get_column("values_html").to_list() == slow.get_column("values_html").to_list()
    assert fast.get_column("values_text").to_list() == [values_text(v) for v in frame.get_column("values_json")]
    done, rest = templates._render_columns(frame.filter(pl.col("indicator_id") == "MM01")
                                           .drop_nulls().filter(pl.col("values_json") != "")
                                           .get_column("values_json"))
    assert done.height > 150, "the column-wise path does the bulk (odd rows take at most 64 others with them)"


def test_excel_sheets_from_decoded_values_equal_the_parsed_ones(tmp_path, monkeypatch):
    """An indicator whose drill-down objects decode column-wise gives the workbook the
    value-by-value parsing gives."""
    from pipelines.reports.data import load
    from tests.reports.report_rows import cohort, connect

    con = connect(tmp_path / "audit.duckdb", cohort(seed=2, scale=0.5))
    data = load(con, patients="deviations")
    frame = deviations.sort_deviations(deviations.compare(data, None))
    frame = frame.filter(pl.col("department_code") == frame.get_column("department_code")[0]).with_columns(
        values_json=pl.col("values_json").map_elements(  # compact, as DuckDB writes it
            lambda s: json.dumps(json.loads(s), ensure_ascii=False, separators=(",", ":")), return_dtype=pl.String))
    counts = deviations.department_counts(frame)
    assert templates.decoded_values(frame.filter(pl.col("indicator_id") == "MM01").get_column("values_json")) \
        is not None
    deviations.write_xlsx_list(tmp_path / "decoded.xlsx", frame, counts, False)
    monkeypatch.setattr(templates, "decoded_values", lambda raw: None)
    deviations.write_xlsx_list(tmp_path / "parsed.xlsx", frame, counts, False)
    assert (tmp_path / "decoded.xlsx").read_bytes() == (tmp_path / "parsed.xlsx").read_bytes()


def test_drill_down_values_decoded_once_for_all_lists_give_each_lists_workbook(tmp_path):
    """Each department's workbook from the values decoded once for every list (rows found by
    ``VALUE_ROW``) equals the workbook decoded from its own rows; an indicator whose values do
    not decode alike everywhere is left to each list."""
    from pipelines.reports.data import load
    from tests.reports.report_rows import cohort, connect

    rows = cohort(seed=4, scale=0.5)
    for r in rows:  # compact, as DuckDB writes it
        r["values_json"] = json.dumps(json.loads(r["values_json"]), ensure_ascii=False, separators=(",", ":"))
    odd = next(k for k, r in enumerate(rows) if r["indicator_id"] == "MM02" and r["status"] == "not_met")
    rows[odd]["values_json"] = json.dumps({"extra": [1, 2]})  # MM02 cannot be decoded column-wise
    con = connect(tmp_path / "audit.duckdb", rows)
    ordered = deviations.sort_deviations(deviations.compare(load(con, patients="deviations"), None))
    ordered, decoded = deviations.decode_values(templates.values_columns(ordered))
    assert decoded["MM01"] is not None and decoded["MM02"] is None
    counts = deviations.all_department_counts(ordered)
    for (code,), frame in ordered.partition_by("department_code", as_dict=True, maintain_order=True).items():
        shared, own = tmp_path / f"{len(code)}-shared.xlsx", tmp_path / f"{len(code)}-own.xlsx"
        deviations.write_xlsx_list(shared, frame, counts[code], False, decoded)
        deviations.write_xlsx_list(own, frame.drop(deviations.VALUE_ROW), counts[code], False)
        assert shared.read_bytes() == own.read_bytes(), code

