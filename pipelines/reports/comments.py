"""The steering group's comments and recommendations, from plain Markdown files.

``--comments DIR`` names a folder with one file per indicator, ``MM01.md`` … ``MM15.md``
(a missing file: no comment yet). Inside a file, a second-level heading per year, and under
it third-level headings ``Kommentar`` and ``Anbefaling``::

    # MM01 Vurdering med henblik på HDT          (optional; ignored)

    ## 2026
    ### Kommentar
    Andelen er steget ...
    ### Anbefaling
    Afdelingerne registrerer ...

    ## 2025
    Tekst direkte under året er kommentaren.

    ## Generelt
    ### Kommentar
    Om indikatoren som helhed (alle år).

Headings are matched case-insensitively (``Anbefalinger`` and ``Styregruppens anbefaling``
count as ``Anbefaling``); text directly under a year heading is its comment. Anything else
is refused with the file and line, so a typo does not silently drop a comment. The text is
CommonMark rendered by markdown-it-py with raw HTML off (``<script>`` shows as text) and
images off (a page must load nothing from outside); links keep markdown-it's own check
(no ``javascript:``, ``data:`` …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

from pipelines.indicators.catalogue import BY_ID
from pipelines.lib.errors import AuditError, shown

MAX_BYTES = 1 << 20
GENERAL = "generelt"
_YEAR = re.compile(r"^##\s+(.+?)\s*#*\s*$")
_PART = re.compile(r"^###\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


class CommentsError(AuditError):
    """A comments folder or file that cannot be read as the format says."""


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    return md


_MD = _markdown()


def render(text: str) -> Markup:
    """Markdown → HTML: raw HTML escaped, no images."""
    return Markup(_MD.render(text))


@dataclass
class Comment:
    comment: Markup | None = None
    recommendation: Markup | None = None

    def __bool__(self) -> bool:
        return bool(self.comment or self.recommendation)


@dataclass
class IndicatorComments:
    years: dict[str, Comment] = field(default_factory=dict)   # "2026" or "generelt" → comment

    def of(self, year: int | str) -> Comment:
        return self.years.get(str(year), Comment())

    @property
    def general(self) -> Comment:
        return self.years.get(GENERAL, Comment())


def _part(name: str, where: str) -> str:
    word = name.strip().lower()
    if "anbefaling" in word:
        return "recommendation"
    if "kommentar" in word:
        return "comment"
    raise CommentsError(f"{where}: unknown heading '### {shown(name)}' (expected '### Kommentar' or '### Anbefaling')")


def parse(text: str, source: str = "comments") -> IndicatorComments:
    """One indicator's file."""
    parts: dict[tuple[str, str], list[str]] = {}
    year: str | None = None
    part = "comment"
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source}, line {number}"
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced and (m := _YEAR.match(line)) and not line.startswith("###"):
            label = m.group(1).strip().lower()
            if not (re.fullmatch(r"(19|20)\d\d", label) or label == GENERAL):
                raise CommentsError(f"{where}: '## {shown(m.group(1))}' is neither a year (e.g. '## 2026') nor '## Generelt'")
            year, part = label, "comment"
            if any(k[0] == year for k in parts):
                raise CommentsError(f"{where}: '## {shown(m.group(1))}' appears twice")
            continue
        if not fenced and (m := _PART.match(line)):
            if year is None:
                raise CommentsError(f"{where}: '### {shown(m.group(1))}' before any '## <year>'")
            part = _part(m.group(1), where)
            if (year, part) in parts:
                raise CommentsError(f"{where}: a second '### {shown(m.group(1))}' under '## {year}'")
            parts[(year, part)] = []
            continue
        if year is None:
            if line.strip() and not line.lstrip().startswith("# "):
                raise CommentsError(f"{where}: text before the first '## <year>' heading")
            continue
        parts.setdefault((year, part), []).append(line)
    out = IndicatorComments()
    for (label, kind), lines in parts.items():
        body = "\n".join(lines).strip()
        if body:
            setattr(out.years.setdefault(label, Comment()), kind, render(body))
    return out


def read(folder: Path | str | None) -> dict[str, IndicatorComments]:
    """Every indicator's comments in ``folder`` (``{}`` without a folder). A file whose name
    is not an indicator id + ``.md``, an unreadable file or a bad heading is refused."""
    if not folder:
        return {}
    folder = Path(folder)
    if not folder.is_dir():
        raise CommentsError(f"--comments: {shown(folder, 300)} is not a folder")
    out: dict[str, IndicatorComments] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() != ".md" or path.stem.upper() not in BY_ID:
            raise CommentsError(f"--comments: {shown(path.name)} is not <indicator>.md for a known indicator "
                                f"(MM01.md … {max(BY_ID)}.md)")
        if path.stat().st_size > MAX_BYTES:
            raise CommentsError(f"--comments: {shown(path.name)} is larger than {MAX_BYTES // 1024} KiB")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CommentsError(f"--comments: {shown(path.name)} is not UTF-8 text") from None
        out[path.stem.upper()] = parse(text, path.name)
    return out
