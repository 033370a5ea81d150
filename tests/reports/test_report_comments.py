"""The steering group's comments (``--comments DIR``): the file format, safe rendering, refusals."""

from __future__ import annotations

import pytest

from pipelines.audit import run_audit
from pipelines.reports.comments import CommentsError, parse, read

GOOD = """# MM01 Vurdering med henblik på HDT

## 2026
### Kommentar
Andelen er **steget**.

### Anbefaling
- Registrér vurderingen ved første konference.

## 2025
Tekst direkte under året er kommentaren.

## Generelt
### Styregruppens anbefaling
Gælder alle år.
"""


def test_a_file_gives_comment_and_recommendation_per_year():
    comments = parse(GOOD, "MM01.md")
    assert "<strong>steget</strong>" in comments.of(2026).comment
    assert "<li>Registrér vurderingen ved første konference.</li>" in comments.of(2026).recommendation
    assert "Tekst direkte under året" in comments.of(2025).comment and comments.of(2025).recommendation is None
    assert not comments.of(2024)
    assert "Gælder alle år." in comments.general.recommendation


def test_raw_html_is_escaped_and_nothing_is_loaded():
    text = ("## 2026\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)> ![billede](https://example.org/x.png) "
            "[link](javascript:alert(3)) [ok](https://www.rkkp.dk)\n")
    shown = str(parse(text).of(2026).comment)
    assert "<script" not in shown and "&lt;script&gt;" in shown
    assert "<img" not in shown and "&lt;img" in shown
    assert 'href="javascript:' not in shown
    assert '<a href="https://www.rkkp.dk">ok</a>' in shown


def test_a_heading_inside_a_code_block_is_text():
    comments = parse("## 2026\n```\n## 2025\n```\n")
    assert "## 2025" in comments.of(2026).comment and not comments.of(2025)


@pytest.mark.parametrize("text, message", [
    ("Tekst uden år\n## 2026\nx\n", "before the first"),
    ("## 26\nx\n", "neither a year"),
    ("## 2026\n### Noter\nx\n", "unknown heading"),
    ("## 2026\nx\n## 2026\ny\n", "appears twice"),
    ("### Kommentar\nx\n", "before any"),
])
def test_a_file_that_breaks_the_format_is_refused_with_its_line(text, message):
    with pytest.raises(CommentsError, match=message) as err:
        parse(text, "MM02.md")
    assert "MM02.md, line" in str(err.value)


def test_a_folder_holds_only_indicator_files(tmp_path):
    (tmp_path / "MM01.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "mm05.md").write_text("## 2026\nlille bogstav er også MM05\n", encoding="utf-8")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    found = read(tmp_path)
    assert set(found) == {"MM01", "MM05"}
    (tmp_path / "MM99.md").write_text("## 2026\nx\n", encoding="utf-8")
    with pytest.raises(CommentsError, match="MM99.md is not <indicator>.md"):
        read(tmp_path)
    assert read(None) == {}
    with pytest.raises(CommentsError, match="is not a folder"):
        read(tmp_path / "MM01.md")


def test_a_bad_comments_folder_refuses_the_run_before_anything_is_created(tmp_path):
    folder = tmp_path / "kommentarer"
    folder.mkdir()
    (folder / "MM01.md").write_text("## 2026\n### Noter\nx\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(CommentsError, match="unknown heading"):
        run_audit(out_dir=out, comments=folder)
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())
