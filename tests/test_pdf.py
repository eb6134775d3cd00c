"""PDF ingestion on the generated corpus: born-digital variants cell by cell, scans by IDs and
character error rate, the whole sample through ``guideline-kb build``, and broken files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pymupdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.cells import Cell, Glyph, PageRead, cell_text
from pipeline.ingest.pdf import PdfTable, clipped_chars, is_header_row, layer_glyphs, read_pdf_table, repair_char, table_rows
from pipeline.normalize import clean

from .conftest import REPO, run_cli
from .corpus import (
    SCANNED,
    bad_pdfs,
    load_truth,
    make,
    truth_clashes,
    truth_ids,
    truth_links,
    wrap,
)
from .scoring import score

BORN_DIGITAL = ("truetype", "cid", "kangxi", "letterspaced")
TRUTH = load_truth()


def read_cells(path: Path) -> list[list[str]]:
    _, rows, _ = table_rows(read_pdf_table(path))
    return [[c.text if c else "" for c in row] for row in rows]


def raw_with(tmp: Path, *pdfs: Path) -> Path:
    """A raw/ folder whose 6.0 edition is the given PDFs (with the real toc.tsv)."""
    folder = tmp / "raw" / "6.0"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "raw" / "6.0" / "toc.tsv", folder)
    sources = []
    for pdf in pdfs:
        shutil.copy(pdf, folder / pdf.name)
        sources.append(f'[[sources]]\nfile = "{pdf.name}"\nkind = "pdf"\n')
    (folder / "manifest.toml").write_text('edition = "6.0"\ntitle = "PDF"\n' + "\n".join(sources), encoding="utf-8")
    return tmp / "raw"


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("corpus")
    return {variant: make(variant, folder) for variant in BORN_DIGITAL}


# --- the corpus itself --------------------------------------------------------------------------------

def test_corpus_has_the_real_tables_hard_parts(corpus):
    made = corpus["truetype"]
    assert made.pages >= 5 and made.broken_rows, "rows broken across pages"
    with pymupdf.open(made.path) as doc:
        assert [p.rotation for p in doc][:2] == [0, 90]  # page 2 stored rotated
        fonts = {(f[1], f[2], f[3].split("+")[-1]) for f in doc[0].get_fonts()}
        assert ("ttf", "TrueType", "IPAGothic") in fonts  # an embedded TrueType subset
    with pymupdf.open(corpus["cid"].path) as doc:
        assert "HeiseiKakuGo-W5" in {f[3] for f in doc[0].get_fonts()} and doc[0].rect.width < 900  # CID, A4


def test_corpus_is_deterministic(tmp_path):
    first = make("truetype", tmp_path / "a", rows=slice(0, 10)).path.read_bytes()
    second = make("truetype", tmp_path / "b", rows=slice(0, 10)).path.read_bytes()
    assert first == second


# --- born-digital -------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", BORN_DIGITAL)
def test_born_digital_cells_equal_the_truth(corpus, variant):
    made = corpus[variant]
    result = score(read_cells(made.path), made.table)
    assert result.cells == 8 * len(TRUTH["rows"])
    assert result.cell_accuracy >= 0.995, result.mismatches[:3]


def test_broken_text_layers_are_repaired_or_read_again(corpus):
    kangxi = read_pdf_table(corpus["kangxi"].path)
    assert {p.text_from for p in kangxi.pages} == {"repaired-text-layer"}
    assert all("康熙部首" in finding for f in kangxi.repairs.values() for finding in f)
    letterspaced = read_cells(corpus["letterspaced"].path)
    assert "ISMS/Information Security Management System" in letterspaced[13][0]  # no 「I n f o」, no 「医 療」
    assert letterspaced[13][0] == corpus["letterspaced"].table[13][0]
    assert repair_char("⽬") == "目"


@pytest.mark.parametrize("variant", BORN_DIGITAL)
def test_born_digital_build_gives_the_ids_and_links_of_the_ocr_text(corpus, variant, kb, tmp_path):
    raw = raw_with(tmp_path, corpus[variant].path)
    result = run_cli(tmp_path, "build", raw=raw)  # the whole knowledge base, index and site included
    assert result.exit_code == 0, result.output
    assert (tmp_path / "site" / "index.html").exists()
    pdf_reqs = jsonl(tmp_path / "extracted" / "6.0" / "requirements.jsonl")
    ocr_reqs = jsonl(kb / "extracted" / "6.0" / "requirements.jsonl")
    assert {r["id"] for r in pdf_reqs} == truth_ids(TRUTH)
    # The OCR text holds more: items outside the truth's rows that ``place`` put by sequence or title.
    assert truth_ids(TRUTH) <= {r["id"] for r in ocr_reqs}
    pdf_links = [c["id"] for c in jsonl(tmp_path / "extracted" / "6.0" / "correlations.jsonl")]
    assert set(pdf_links) == truth_links(TRUTH)
    report = json.loads((tmp_path / "extracted" / "6.0" / "report.json").read_text(encoding="utf-8"))
    assert report["not_placed"]["total"] == truth_clashes(TRUTH) == 3  # システム運用編 8 の二つの ③、経営管理編 1.2 の小見出しごとの ①②
    assert report["pages_read"] == corpus[variant].pages


def test_pdf_sources_carry_page_and_cell_box(corpus, tmp_path):
    raw = raw_with(tmp_path, corpus["truetype"].path)
    assert run_cli(tmp_path, "extract", raw=raw).exit_code == 0
    reqs = {r["id"]: r for r in jsonl(tmp_path / "extracted" / "6.0" / "requirements.jsonl")}
    source = reqs["gov-1.1-1"]["sources"][0]
    assert source["file"] == "6.0/correlation-table-truetype.pdf" and source["page"] == 1
    x0, top, x1, bottom = source["bbox"]
    assert 0 < x0 < x1 < 1191 and 0 < top < bottom < 842
    pages = {s["page"] for r in reqs.values() for s in r["sources"]}
    assert 2 in pages  # the page stored with /Rotate 90 was read
    # 記載箇所 spanning rows and a row cut by a page break still give one requirement each.
    broken = corpus["truetype"].table[corpus["truetype"].broken_rows[0]]
    assert any(cell for cell in broken)


def test_a_pdf_and_the_ocr_text_together_merge_into_one_requirement_each(corpus, tmp_path):
    raw = raw_with(tmp_path, corpus["truetype"].path)
    shutil.copy(REPO / "raw" / "6.0" / "correlation-table-v6.0.ocr.txt", raw / "6.0")
    manifest = raw / "6.0" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + '\n[[sources]]\nfile = "correlation-table-v6.0.ocr.txt"\nkind = "ocr-text"\n', encoding="utf-8")
    assert run_cli(tmp_path, "extract", raw=raw).exit_code == 0
    reqs = jsonl(tmp_path / "extracted" / "6.0" / "requirements.jsonl")
    assert truth_ids(TRUTH) <= {r["id"] for r in reqs}
    assert not [r["id"] for r in reqs if r["variants"] and not all(v["text"] for v in r["variants"])]
    files = {s["file"] for s in reqs[0]["sources"]}
    assert files == {"6.0/correlation-table-truetype.pdf", "6.0/correlation-table-v6.0.ocr.txt"}


# --- scans and unusable text layers: slices of the table in the default run (OCR takes about 2 s a
# page); the whole table as an image-only scan behind the slow marker -----------------------------------

SCAN_ROWS = {"scan": slice(16, 32), "scan-ocr": slice(0, 8), "no-tounicode": slice(40, 56), "scan-whole": slice(None)}


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("scans")
    made = {}

    def get(variant: str):
        if variant not in made:
            made[variant] = make(variant.removesuffix("-whole"), folder / variant, rows=SCAN_ROWS[variant])
        return made[variant]

    return get


# The scan slices take 20–25 s each: behind the slow marker (CI runs them); the default run reads scans
# through test_producers' 200 dpi slices and the no-ToUnicode pages here.
@pytest.mark.parametrize("variant", [*(pytest.param(v, marks=pytest.mark.slow) for v in SCANNED), "no-tounicode",
                                     pytest.param("scan-whole", marks=pytest.mark.slow)])
def test_scans_find_every_requirement(scans, variant, tmp_path):
    made = scans(variant)
    table = read_pdf_table(made.path)
    expected = "ocr"
    assert {p.text_from for p in table.pages} == {expected}
    assert {p.grid_from for p in table.pages} == ({"lines"} if variant == "no-tounicode" else {"image"})
    _, rows, _ = table_rows(table)
    result = score([[c.text if c else "" for c in r] for r in rows], made.table)
    print(f"{variant}: cells {result.cell_accuracy:.3f}, CER {result.cer:.4f}")
    assert result.cer < 0.05  # a guard, not a goal: OCR correction is a later stage (bench/bench_pdf.py prints it)
    raw = raw_with(tmp_path, made.path)
    assert run_cli(tmp_path, "extract", raw=raw).exit_code == 0
    found = {r["id"] for r in jsonl(tmp_path / "extracted" / "6.0" / "requirements.jsonl")}
    want = truth_ids({"rows": TRUTH["rows"][SCAN_ROWS[variant]]})
    assert found == want, (sorted(want - found), sorted(found - want))


# --- broken files ---------------------------------------------------------------------------------------

EXPECTED = {
    "encrypted": "暗号化されています",
    "truncated": "途中で切れています",
    "zero-pages": "ページがありません",
    "not-a-pdf": "PDF ではありません",
    "no-table": "1ページ: 罫線で囲まれた相関表が見つかりません",
    "blank-scan": "1ページ: 罫線で囲まれた相関表が見つかりません",
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> dict:
    return bad_pdfs(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_a_broken_pdf_is_one_line_exit_2_and_keeps_what_was_built(kind, broken, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(REPO / "raw", raw)
    assert run_cli(tmp_path, "build", raw=raw).exit_code == 0
    before = {p: p.read_bytes() for p in (tmp_path / "extracted").rglob("*") if p.is_file()}
    site_before = (tmp_path / "site" / "index.html").read_bytes()
    shutil.copy(broken[kind], raw / "6.0" / broken[kind].name)
    manifest = raw / "6.0" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + f'\n[[sources]]\nfile = "{broken[kind].name}"\nkind = "pdf"\n', encoding="utf-8")
    result = run_cli(tmp_path, "build", raw=raw)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and broken[kind].name in lines[0] and EXPECTED[kind] in lines[0], result.output
    assert "Traceback" not in result.output
    after = {p: p.read_bytes() for p in (tmp_path / "extracted").rglob("*") if p.is_file()}
    assert after == before
    assert (tmp_path / "site" / "index.html").read_bytes() == site_before


# --- properties of the cell reader ------------------------------------------------------------------------

KANA_KANJI = "医療情報システムの安全管理に関する法令等を遵守すること委託先事業者パターンファイル"
PUNCT = "、。「」（）・ー"
LATIN = ["TLS1.3", "VPN", "ISMS", "Information", "Security", "WPA2-AES", "HTTPS", "Kerberos"]


@st.composite
def cell_texts(draw):
    """Text as the guideline writes it: Japanese, punctuation, and Latin phrases whose words are
    separated by spaces (「Information Security Management System」) but run straight into the
    Japanese around them (「TLS1.3以上」)."""
    latin = st.lists(st.sampled_from(LATIN), min_size=1, max_size=3).map(" ".join)
    parts = draw(st.lists(st.one_of(st.text(alphabet=KANA_KANJI, min_size=1, max_size=12), latin,
                                    st.sampled_from(PUNCT[:2])), min_size=1, max_size=30))
    return "".join(parts).lstrip("、。") or "医療"


def _lay_out(text: str, width: float) -> tuple[list[Glyph], tuple[float, float, float, float]]:
    """Glyphs of ``text`` wrapped as the corpus generator wraps it (Japanese 10 wide, Latin 5)."""
    advance = lambda ch: 10.0 if not ch.isascii() else 5.0  # noqa: E731
    lines = wrap(text, width, lambda s: sum(advance(ch) for ch in s))
    glyphs = []
    for n, line in enumerate(lines):
        x, top = 4.0, 4.0 + n * 14
        for ch in line:
            glyphs.append(Glyph(ch, x, top, x + advance(ch), top + 10))
            x += advance(ch)
    return glyphs, (0.0, 0.0, width + 8, 8 + 14 * max(1, len(lines)))


@settings(max_examples=300, deadline=None)
@given(cell_texts(), st.sampled_from([60.0, 95.0, 150.0]))
def test_wrapped_lines_join_back_into_the_text(text, width):
    glyphs, box = _lay_out(text, width)
    got, want = clean(cell_text(glyphs, box).text), clean(text)
    assert got.replace(" ", "") == want.replace(" ", "")  # nothing lost, nothing added
    lines = wrap(text, width, lambda s: sum(10.0 if not ch.isascii() else 5.0 for ch in s))
    # A Latin word that fills its line to the edge, then a break: a space and a cut word look alike.
    ambiguous = any(a[-1:].isascii() and b[:1].isascii() and width - sum(10.0 if not c.isascii() else 5.0 for c in a) < 5
                    for a, b in zip(lines, lines[1:]))
    if not ambiguous:
        assert got == want


@given(st.lists(st.text(max_size=12), max_size=10))
def test_header_detection_never_fails(texts):
    assert is_header_row(texts) in (True, False)


# --- page breaks and hidden text, as other producers make them ---------------------------------------

def _page(number: int, rows: list[list[str]], *, open_foot: bool = False, sliver: float | None = None) -> PageRead:
    header = [Cell(t, (0, 0, 1, 1)) for t in ("記載箇所", "遵守事項", "備考")]
    cells = [[Cell(t, (100.0 * c, 60.0 + 40 * r, 100.0 * c + 100, 100.0 + 40 * r)) for c, t in enumerate(row)]
             for r, row in enumerate(rows)]
    return PageRead(number, [header, *cells], "text-layer", "lines", open_foot=open_foot, sliver=sliver)


def test_a_row_cut_at_the_page_end_goes_on_unless_only_a_sliver_of_it_was_left():
    """reportlab cuts a row whose 記載箇所 spans on past the page end and prints what is left of it on
    the next page as an empty row 2 pt tall (seed 123): the row after it is a row of its own."""
    first = _page(1, [["8. 利用機器", "⑤ 起動パスワードを設定すること。", ""]], open_foot=True)
    cut = PdfTable([first, _page(2, [["", "の変更等の対策を実施すること。", ""]])])
    sliver = PdfTable([first, _page(2, [["", "⑥ IoT機器を利用する場合", ""]], sliver=59.3)])
    assert [row[1].text.split("\n") for row in table_rows(cut)[1]] == [["⑤ 起動パスワードを設定すること。", "の変更等の対策を実施すること。"]]
    assert [row[1].text for row in table_rows(sliver)[1]] == ["⑤ 起動パスワードを設定すること。", "⑥ IoT機器を利用する場合"]


def test_a_url_cut_by_the_page_end_joins_without_a_space():
    """「参考：」 ends a page with room left (the URL did not fit after it); the URL heads the next."""
    above = _page(1, [["", "① 確認すること。参考：", ""]], open_foot=True)
    above.rows[1][1].room, below = 40.0, _page(2, [["", "https://www.mhlw.go.jp/stf/index.html", ""]])
    below.rows[1][1].lead = 120.0
    assert table_rows(PdfTable([above, below]))[1][0][1].text == "① 確認すること。参考：https://www.mhlw.go.jp/stf/index.html"


def test_text_a_clipping_path_hides_is_not_read(tmp_path):
    """LibreOffice Calc prints a merged cell that goes on over a page break on both pages, clipped to
    the cell: what the clip hides is not on the page (seeds 106 and 110 read it into the header)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("IPAGothic", "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"))
    path = tmp_path / "clipped.pdf"
    pdf = canvas.Canvas(str(path), pagesize=(400, 300))
    pdf.setFont("IPAGothic", 10)
    pdf.drawString(20, 250, "見える文字")
    pdf.saveState()
    clip = pdf.beginPath()
    clip.rect(20, 100, 200, 40)
    pdf.clipPath(clip, stroke=0, fill=0)
    pdf.drawString(20, 200, "隠れた文字")  # outside the clip: not shown
    pdf.drawString(20, 120, "枠内の文字")
    pdf.restoreState()
    pdf.save()
    import pdfplumber

    with pdfplumber.open(path) as plumbed, pymupdf.open(path) as doc:
        page = plumbed.pages[0]
        hidden = clipped_chars(doc[0], sum(not c["text"].isspace() for c in page.chars))
        shown = "".join(g.text for g in layer_glyphs(page, repair=False, hidden=hidden))
    assert "".join(c[0] for c in hidden) == "隠れた文字"
    assert shown == "見える文字枠内の文字"
