"""Compare a published ``patient_results.csv`` with the spec-v2 oracle (``spec_v2.judge``).

    python -m tests.oracle.compare OUT_DIR

reads ``OUT_DIR/audit.duckdb`` (the staging the oracle judges), ``OUT_DIR/patient_results.csv``
(the pipeline's rows) and the extract date from ``OUT_DIR/run.json``; prints the diff and exits
1 when there is one, 0 when the two agree on every row.

A row agrees when both sides have it (same pseudonym × indicator) with the same ``status``,
``reason_code``, ``index_date`` and ``guideline_version``.
"""
from __future__ import annotations

import csv
import json
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from tests.oracle.spec_v2 import INDICATORS, judge

COMPARED = ("status", "reason_code", "index_date", "guideline_version")
MAX_SHOWN = 20


def _fmt(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _key_values(row: dict) -> tuple[str, ...]:
    return tuple(_fmt(row.get(f)) if row.get(f) not in (None, "") else "" for f in COMPARED)


def read_pipeline_results(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return {(r["pseudonym"], r["indicator_id"]): r for r in csv.DictReader(f)}


def compare(database: Path, patient_results_csv: Path, extract_date: date) -> str:
    """A readable diff of the oracle against the pipeline's ``patient_results.csv``; "" when
    identical. Per indicator: rows agreeing, differing, only in the oracle, only in the pipeline;
    the differences tallied by pattern (oracle status/code → pipeline status/code); and up to 20
    differing rows with the values that decided the oracle's row and the pipeline's text."""
    oracle = {(r["pseudonym"], r["indicator_id"]): r for r in judge(Path(database), extract_date)}
    pipeline = read_pipeline_results(Path(patient_results_csv))
    indicators = sorted(set(INDICATORS) | {k[1] for k in pipeline} | {k[1] for k in oracle})
    counts: dict[str, Counter] = {i: Counter() for i in indicators}
    patterns: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, list[str]] = defaultdict(list)
    for key in sorted(set(oracle) | set(pipeline)):
        ind = key[1]
        o, p = oracle.get(key), pipeline.get(key)
        if o is not None and p is not None and _key_values(o) == _key_values(p):
            counts[ind]["agree"] += 1
            continue
        if p is None:
            kind = "oracle_only"
        elif o is None:
            kind = "pipeline_only"
        else:
            kind = "differ"
        counts[ind][kind] += 1
        ov = "/".join(_key_values(o)) if o else "(no row)"
        pv = "/".join(_key_values(p)) if p else "(no row)"
        patterns[ind][(f"{o['status']}/{o['reason_code']}" if o else "(no row)",
                       f"{p['status']}/{p['reason_code']}" if p else "(no row)",
                       ", ".join(f for f in COMPARED if o and p and _key_values(o)[COMPARED.index(f)]
                                 != _key_values(p)[COMPARED.index(f)]))] += 1
        if len(examples[ind]) < MAX_SHOWN:
            lines = [f"  {key[0]}  oracle {ov}  |  pipeline {pv}"]
            if o:
                lines.append("      oracle facts: " + "; ".join(f"{k}={_fmt(v)}" for k, v in o["facts"].items()))
            if p:
                text = p.get("reason_text_en") or p.get("reason_text") or ""
                lines.append(f"      pipeline: risk={p.get('risk', '')} rules={p.get('risk_rules', '')} "
                             f"text: {text[:220]}")
            examples[ind].append("\n".join(lines))
    if not any(c["differ"] or c["oracle_only"] or c["pipeline_only"] for c in counts.values()):
        return ""
    out = [f"oracle (spec v2) vs pipeline — extract date {extract_date.isoformat()}; "
           f"compared: {', '.join(COMPARED)}",
           f"{'indicator':<10}{'agree':>8}{'differ':>8}{'oracle only':>13}{'pipeline only':>15}"]
    for ind in indicators:
        c = counts[ind]
        out.append(f"{ind:<10}{c['agree']:>8}{c['differ']:>8}{c['oracle_only']:>13}{c['pipeline_only']:>15}")
    for ind in indicators:
        if not patterns[ind]:
            continue
        out.append("")
        n = sum(patterns[ind].values())
        out.append(f"== {ind}: {n} disagreeing rows")
        for (o, p, fields), k in patterns[ind].most_common():
            out.append(f"  {k:>5} × oracle {o} → pipeline {p}" + (f"  (differs in: {fields})" if fields else ""))
        out.append(f"  first {min(n, MAX_SHOWN)} (status/reason_code/index_date/guideline_version):")
        out.extend(examples[ind])
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.oracle.compare OUT_DIR", file=sys.stderr)
        return 2
    out_dir = Path(args[0])
    extract_date = date.fromisoformat(json.loads((out_dir / "run.json").read_text(encoding="utf-8"))["extract_date"])
    diff = compare(out_dir / "audit.duckdb", out_dir / "patient_results.csv", extract_date)
    print(diff if diff else f"identical: the pipeline's patient_results.csv agrees with the spec-v2 oracle "
                            f"(extract date {extract_date.isoformat()})")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
