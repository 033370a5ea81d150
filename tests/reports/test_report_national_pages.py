"""The national report, its PDFs and the quality pages as readers meet them, on one real run
of the bundled sample (``run_audit`` with the steering group's comments and ``pdf=True``,
shared by every test here).

Chromium (Playwright, ``offline_page`` of tests/conftest.py: the network cut off) opens every
page under ``quality/`` and every report page: no console error, no page error, no request
leaving the machine; GX's own index draws its table of validations from the shipped
scripts. pypdf reads the PDFs: the overview table on the first page, a new page for each
indicator, the running header on every page.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest

from pipelines.audit import run_audit
from pipelines.indicators.catalogue import CATALOGUE
from pipelines.quality import docs
from pipelines.quality.suites import SUITE_TABLES
from tests.conftest import CHROMIUM

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed: no PDF, no browser")

COMMENT = """# MM01

## 2026
### Kommentar
Styregruppen finder andelen **tilfredsstillende**. <script>alert("k")</script>

### Anbefaling
Afdelingerne registrerer vurderingen ved første konference. ![logo](https://example.org/logo.png)
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("national-pages")
    comments = tmp / "kommentarer"
    comments.mkdir()
    (comments / "MM01.md").write_text(COMMENT, encoding="utf-8")
    run_audit(out_dir=tmp / "out", comments=comments, pdf=True)
    return tmp / "out"


def report_pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html") if "vendor" not in p.parts)


def test_every_quality_and_report_page_opens_offline_without_errors(out, offline_page):
    pages = report_pages(out)
    assert len([p for p in pages if "quality" in p.parts]) >= 2 * len(SUITE_TABLES) + 2
    assert {"national_report.html", "national_report_publication.html", "dashboard.html"} <= {p.name for p in pages}
    problems = []
    for path in pages:
        offline_page.open(path)
        problems += [f"{path.relative_to(out)}: {p}" for p in offline_page.problems]
        offline_page.blocked.clear(), offline_page.console_errors.clear(), offline_page.page_errors.clear()
    assert problems == []


def test_gx_index_lists_every_validation_with_its_own_scripts(out, offline_page):
    page = offline_page.open(out / "quality" / "gx_index.html")
    page.wait_for_selector("table tbody tr")
    rows = page.evaluate("""Array.from(document.querySelectorAll('table tbody tr')).map(r => r.innerText)""")
    for table in SUITE_TABLES:
        assert any(table in row for row in rows), table
    assert page.evaluate("typeof window.jQuery") == "function"
    assert page.evaluate("!!window.jQuery.fn.bootstrapTable")
    assert "newsletter" not in page.content().lower()
    assert offline_page.problems == []


def test_validation_pages_are_styled_by_bootstrap(out, offline_page):
    validation = next((out / "quality" / "validations").rglob("*.html"))
    page = offline_page.open(validation)
    # Bootstrap's .container-fluid has padding; unstyled, a div has none
    padding = page.evaluate("getComputedStyle(document.querySelector('.container-fluid')).paddingLeft")
    assert padding not in ("0px", ""), padding
    assert page.evaluate("document.querySelector('.navbar img').naturalWidth") > 0, "the GX logo from static/images"
    assert offline_page.problems == []


def test_every_local_reference_of_the_quality_pages_exists(out):
    for page in (out / "quality").rglob("*.html"):
        if "vendor" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'<(script|link|img)\b[^>]*\b(src|href)="(https?:)?//', text), page
        for target in re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"#]+)"', text):
            assert (page.parent / target).resolve().is_file(), f"{page.relative_to(out)} → {target}"


def test_every_cdn_file_gx_names_is_shipped_and_pinned_files_match_their_digest():
    import great_expectations

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    named = set()
    for template in templates.glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", text):
            url = re.search(r'(?:src|href)="(https?://[^"]+)"', tag)
            if url:
                named.add(url.group(1))
                integrity = re.search(r'integrity="sha384-([^"]+)"', tag)
                if integrity:
                    local = docs.VENDOR_DIR / docs.CDN_ASSETS[url.group(1)]
                    digest = base64.b64encode(hashlib.sha384(local.read_bytes()).digest()).decode()
                    assert digest == integrity.group(1), url.group(1)
    assert named and named <= set(docs.CDN_ASSETS), named - set(docs.CDN_ASSETS)
    for path in docs.CDN_ASSETS.values():
        assert (docs.VENDOR_DIR / path).is_file(), path
    licences = (docs.VENDOR_DIR / "LICENSES.txt").read_text(encoding="utf-8")
    assert all(path.split("/")[0].split("-")[0] in licences for path in docs.CDN_ASSETS.values())


def test_quality_index_is_danish_and_links_to_the_reports_and_back(out):
    index = (out / "quality" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="da">' in index and "Datakvalitet" in index and "Fejlede forventninger" in index
    for link in ("../national_report.html", "../national_report_publication.html", "../dashboard.html",
                 "../quarantine.csv", "gx_index.html"):
        assert f'href="{link}"' in index or f"href='{link}'" in index
        assert (out / "quality" / link).resolve().is_file()
    quarantined = sum(1 for _ in csv.DictReader((out / "quarantine.csv").open(encoding="utf-8")))
    assert f"{quarantined} rækker i karantæne" in index
    internal = (out / "national_report.html").read_text(encoding="utf-8")
    assert 'href="quality/index.html"' in internal
    assert re.search(rf"<strong>{quarantined} rækker i karantæne</strong>[^<]*\(<a href=\"quarantine.csv\">", internal)
    public = (out / "national_report_publication.html").read_text(encoding="utf-8")
    assert f"<strong>{quarantined} rækker i karantæne</strong>" in public and "quarantine.csv" not in public


def test_the_overview_comes_first_and_every_word_on_it_is_danish(out, offline_page):
    page = offline_page.open(out / "national_report.html")
    first = page.evaluate("document.querySelector('main section').id")
    assert first == "oversigt"
    rows = page.evaluate("Array.from(document.querySelectorAll('table.overview tbody tr')).map(r => r.dataset.indicator)")
    assert rows == [i.indicator_id for i in CATALOGUE]
    for indicator in CATALOGUE:
        if indicator.informational:
            assert page.evaluate(f"document.querySelector('table.overview tr[data-indicator={indicator.indicator_id}] "
                                 "td[data-col=standard]').innerText").strip() == "informativ (ingen standard)"
            assert page.evaluate(f"document.querySelector('tr[data-indicator={indicator.indicator_id}] .no')") is None
    text = page.evaluate("document.querySelector('#oversigt').innerText")
    for english in ("proportion", "standard met", "Method", "unknown", "flag"):
        assert english not in text
    assert re.search(r"\d+,\d %", text) and "95 % KI" in text
    assert offline_page.problems == []


def test_comments_are_shown_beside_the_figures_and_missing_ones_have_a_labelled_place(out):
    for name in ("national_report.html", "national_report_publication.html"):
        page = (out / name).read_text(encoding="utf-8")
        mm01 = page.split('<section class="indicator" id="MM01"')[1].split("</section>")[0]
        comment = mm01.split('<aside class="comments"')[1].split("</aside>")[0]
        assert "<strong>tilfredsstillende</strong>" in comment and "&lt;script&gt;" in comment
        assert "<img" not in comment and "<script" not in comment
        assert "Afdelingerne registrerer vurderingen" in comment
        assert comment.count("Ingen kommentar fra styregruppen endnu.") == 2   # 2025, 2024
        mm02 = page.split('<section class="indicator" id="MM02"')[1].split("</section>")[0]
        assert mm02.count("Ingen kommentar fra styregruppen endnu.") == 3
        assert mm02.count("Ingen anbefaling fra styregruppen endnu.") == 3


def _pdf_texts(path: Path, pages: int | None = None) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    chosen = reader.pages if pages is None else reader.pages[:pages]
    return [unicodedata.normalize("NFKC", page.extract_text()) for page in chosen]  # ﬁ → fi


def _overview_on_first_page(text: str) -> None:
    assert "Oversigt: alle indikatorer, Danmark" in text
    for indicator in CATALOGUE:  # each indicator's row of the overview table
        assert re.search(rf"{indicator.indicator_id} {re.escape(indicator.title_da[:20])}", text), indicator
    assert "informativ (ingen standard)" in text


def test_the_pdf_has_the_overview_first_and_a_page_per_indicator(out):
    from pypdf import PdfReader

    texts = _pdf_texts(out / "national_report.pdf")
    _overview_on_first_page(texts[0])
    starts = {}
    for number, text in enumerate(texts):
        lines = [line for line in text.splitlines() if line.strip()]
        body = [line for line in lines if not line.startswith(("Myelomatose – national årsrapport", "Side "))]
        assert lines[0].startswith("Myelomatose – national årsrapport · intern udgave") and "Udtræk" in lines[0]
        for indicator in CATALOGUE:
            if body and body[0].startswith(f"{indicator.indicator_id} {indicator.title_da[:15]}"):
                starts[indicator.indicator_id] = number
    assert sorted(starts) == [i.indicator_id for i in CATALOGUE], "each indicator starts a page"
    assert len(set(starts.values())) == len(CATALOGUE)
    first = PdfReader(out / "national_report.pdf").pages[0]
    assert (float(first.mediabox.width), float(first.mediabox.height)) == pytest.approx((595.28, 841.89), abs=1)  # A4


def test_the_publication_pdf_has_its_overview_first(out):
    [text] = _pdf_texts(out / "national_report_publication.pdf", pages=1)
    _overview_on_first_page(text)
    assert "publikationsudgave" in text and "samlet" in text


def test_indicator_summary_xlsx_holds_the_contract_summary_for_a_danish_spreadsheet(out):
    rows = list(csv.reader((out / "indicator_summary.csv").open(encoding="utf-8")))
    with zipfile.ZipFile(out / "indicator_summary.xlsx") as book:
        names = book.namelist()
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
        strings = book.read("xl/sharedStrings.xml").decode("utf-8") if "xl/sharedStrings.xml" in names else ""
        workbook = book.read("xl/workbook.xml").decode("utf-8")
    assert 'name="Indikatorer"' in workbook and 'name="Kolonner"' in workbook
    assert sheet.count("<row ") == len(rows)
    for header in ("Indikator", "Andel", "95 % KI, nedre", "Standard opfyldt"):
        assert header in strings + sheet
    assert 'formatCode="0.0 %"' in book_styles(out / "indicator_summary.xlsx")


def book_styles(path: Path) -> str:
    with zipfile.ZipFile(path) as book:
        return book.read("xl/styles.xml").decode("utf-8")


def test_publication_csv_has_the_internal_columns(out):
    internal = (out / "indicator_summary.csv").read_text(encoding="utf-8").splitlines()[0]
    public = (out / "indicator_summary_publication.csv").read_text(encoding="utf-8").splitlines()
    assert public[0] == internal
    assert any(line.split(",")[1] == "2024-2026" for line in public[1:]), "pooled rows"
