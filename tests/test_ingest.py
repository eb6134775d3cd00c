"""Ingest of OCR text dumps: the three layouts, column roles, placement on the real sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import SourceError
from pipeline.ingest import load_edition, read_ocr_text
from pipeline.ingest.layout import display_width, read_text, split_paragraphs, text_to_blocks
from pipeline.ingest.manifest import Toc, load_toc
from pipeline.ingest.table import item_number, parse_place, read_block
from pipeline.normalize import normalize_rows

from .conftest import RAW, SAMPLE

CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


@pytest.fixture(scope="module")
def sample():
    edition = load_edition(RAW / "6.0")
    result = read_ocr_text(SAMPLE, toc=edition.toc)
    normalize_rows(result.rows)
    return result


def placed(result) -> dict[tuple[int, int], list[str]]:
    """(line, column) → IDs placed from that cell."""
    cells: dict[tuple[int, int], list[str]] = {}
    for row in result.rows:
        for item in row.items:
            cells.setdefault((item.source.line, item.source.column), []).append(item.id)
    return cells


# Checked by hand against the sample: the cell's circled number, the 記載箇所 heading in force for
# that volume's column (filled down from the rows above where the cell is empty).
EXPECTED_PLACEMENTS = {
    (7, 1): ["gov-1.1-1"],
    (8, 1): ["gov-1.1-2"],  # 記載箇所 spans from line 7
    (9, 1): ["gov-1.2-1"],
    (15, 2): ["gov-1.3.1-1", "gov-1.3.1-2"],  # <p> cell with two items under 1.3 / 1.3.1
    (16, 5): ["mgmt-7-5", "mgmt-7-7", "mgmt-7-8", "mgmt-7-9"],  # 記載箇所 「7.」 repeated per item
    (19, 9): ["mgmt-11-2"],
    (21, 2): ["gov-2.2.1-1"],  # 「2. 2. 1」 read as 2.2.1
    (21, 9): ["mgmt-6-8"],
    (21, 20): ["ctrl-4-2"],
    (25, 2): ["gov-2.2.3-1"],  # filled down from line 24
    (26, 9): ["mgmt-1-11"],  # 「1. 管理体系」 (OCR) is 1. 管理体制
    (39, 6): ["mgmt-13-4"],
    (45, 6): ["mgmt-13-8"],
    (48, 15): ["ctrl-15-1"],  # item column shifted by one (OCR jitter) in this row
    (50, 14): ["ctrl-15-1"],
    (54, 14): ["ctrl-11-1"],
    (57, 16): ["ctrl-18-1"],  # a block with only システム運用編 columns
    (66, 16): ["ctrl-13-1"],
    (71, 16): ["ctrl-13-6"],
    (75, 16): ["ctrl-13-10"],
    (88, 13): ["ctrl-18-4"],
    (89, 8): ["mgmt-15-5"],
    (89, 13): ["ctrl-7-2"],
    (102, 13): ["ctrl-9-1"],
    (108, 13): ["ctrl-5-7"],
    (119, 1): ["gov-5.2.2-1"],  # 「5. 2. 2」
    (120, 1): ["gov-5.3-1"],
}


@pytest.mark.parametrize("cell", sorted(EXPECTED_PLACEMENTS))
def test_sample_item_is_placed_with_right_volume_section_and_number(sample, cell):
    assert placed(sample).get(cell) == EXPECTED_PLACEMENTS[cell]


def test_every_circled_item_in_the_sample_is_placed_or_reported(sample):
    """Count items independently of the parser (a paragraph that starts with ①…), and check each
    one ended up either as an item or in the report with a line, a number and a reason."""
    expected = 0
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        for cell in line.split("\t"):
            for paragraph in re.split(r"</?p>", cell):
                if paragraph.strip() and paragraph.strip()[0] in CIRCLED:
                    expected += 1
                    # a sentence end and an item number inside a paragraph: two items run together
                    expected += len(re.findall(rf"。[ \u3000]*[{CIRCLED}]", paragraph))
    items = sum(len(row.items) for row in sample.rows)
    reported = [p for p in sample.problems if p.item]
    assert items + len(reported) == expected
    assert items >= 120
    for problem in reported:
        assert problem.source.line and problem.reason


def test_headings_numbered_like_items_are_reported_not_kept(sample):
    headings = [p for p in sample.problems if p.code == "heading"]
    assert {p.text for p in headings} >= {"① 責任分界", "① システム運用管理"}
    assert all(not i.text.startswith("責任分界") for row in sample.rows for i in row.items)


def test_ambiguous_multi_section_place_cells_are_reported(sample):
    line_17 = [p for p in sample.problems if p.source.line == 17 and p.volume == "mgmt"]
    assert len(line_17) == 10
    assert line_17[0].code == "ambiguous-section" and "1、2、6" in line_17[0].reason


def test_notes_are_attached_to_the_item_beside_them(sample):
    row = next(r for r in sample.rows if r.source.line == 21)
    assert [(n.text, n.annotates) for n in row.notes] == [
        ("6.2C4", ("gov-2.2.1-1",)),
        ("リスク分析を踏まえた対応について新設", ("gov-2.2.1-1",)),
    ]


def test_sections_come_with_titles(sample):
    items = {i.id: i for row in sample.rows for i in row.items}
    assert items["ctrl-13-6"].section_title == "ネットワークに関する安全管理措置"
    assert items["gov-2.2.1-1"].section_title == "リスク評価を踏まえたリスク管理"


def test_without_a_table_of_contents_columns_fall_back_to_order(sample):
    """No toc.tsv: volumes come from dotted numbers, the header row and column order; the
    blocks that have all three volumes side by side still place the same IDs."""
    bare = read_ocr_text(SAMPLE, toc=Toc())
    ids = {i.id for row in bare.rows for i in row.items}
    assert {"gov-2.2.1-1", "mgmt-6-8", "ctrl-4-2", "mgmt-13-4", "ctrl-14-1", "mgmt-15-5", "ctrl-7-2"} <= ids


def test_item_number_is_read_before_normalization():
    assert item_number("⑬ 医療情報システムが") == (13, "医療情報システムが")
    assert item_number("1 医療情報") is None


@pytest.mark.parametrize(
    "text,section",
    [("13. ネットワークに関する 安全管理措置 【遵守事項】", "13"), ("2. 2. 1 リスク評価を踏まえたリスク管理", "2.2.1"), ("1.3.1 委託", "1.3.1")],
)
def test_parse_place(text, section):
    assert parse_place(text).section == section
    assert "【" not in parse_place(text).title


@pytest.mark.parametrize("text", ["6.2C4", "5.2版4.1B(2)の趣旨を踏まえて新設", "4.2.1の趣旨から新設", "52版8.3の趣旨", "6.3CS10章", "-"])
def test_notes_are_not_headings(text):
    assert parse_place(text) is None


def test_split_paragraphs_of_p_cells():
    assert split_paragraphs("<p>① a &amp; b</p> <p>② c</p>") == ["① a & b", "② c"]
    assert split_paragraphs("plain") == ["plain"]


def _space_aligned(lines: list[list[str]], widths: list[int], wrap: int) -> str:
    """Render rows as space-aligned columns (CJK counted double), wrapping long cells onto
    continuation lines in the same column, as pdftotext -layout style OCR output does."""
    out = []
    for cells in lines:
        pieces = [[c[i : i + wrap] for i in range(0, len(c), wrap)] or [""] for c in cells]
        for k in range(max(len(p) for p in pieces)):
            line = ""
            for col, piece in enumerate(pieces):
                text = piece[k] if k < len(piece) else ""
                line += text + " " * (widths[col] - display_width(text))
            out.append(line.rstrip())
    return "\n".join(out) + "\n"


def test_space_aligned_layout_reads_like_the_tsv_rows(tmp_path: Path):
    """Lines 66–75 of the sample (13. ネットワーク…, items ①–⑩), rendered as space-aligned
    columns with wrapped cells, give the same IDs and texts as the TSV lines."""
    edition = load_edition(RAW / "6.0")
    tsv_lines = SAMPLE.read_text(encoding="utf-8").splitlines()[65:75]
    tsv = tmp_path / "tsv.txt"
    tsv.write_text("\n".join(tsv_lines) + "\n", encoding="utf-8")
    rows = [[c for c in line.split("\t") if c] for line in tsv_lines]
    spaced = tmp_path / "spaced.txt"
    spaced.write_text(_space_aligned(rows, [64, 90], wrap=30), encoding="utf-8")
    assert len(spaced.read_text(encoding="utf-8").splitlines()) > len(rows)  # cells really wrapped
    a = read_ocr_text(tsv, toc=edition.toc)
    b = read_ocr_text(spaced, toc=edition.toc)
    for r in (a, b):
        normalize_rows(r.rows)
    texts = lambda r: [(i.id, i.text) for row in r.rows for i in row.items]  # noqa: E731
    assert [x[0] for x in texts(b)] == [f"ctrl-13-{n}" for n in range(1, 11)]
    assert texts(a) == texts(b)


def test_text_layout_lines_outside_the_grid_are_reported(sample):
    stray = [p for p in sample.problems if p.source.line in (77, 79, 81)]
    assert [p.item for p in stray] == [5, 6, 7]


@pytest.mark.parametrize(
    "content,message",
    [(b"", "空のファイル"), (b"\x00\x01PK\x03\x04", "バイナリ"), ("①\t表\n".encode("utf-8") + b"\xff\xfe\n", ":2行: UTF-8")],
)
def test_unreadable_text_files_get_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as exc:
        read_text(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_a_text_without_table_rows_is_an_error(tmp_path):
    path = tmp_path / "prose.txt"
    path.write_text("これは相関表ではありません。\n", encoding="utf-8")
    with pytest.raises(SourceError, match="相関表の行が一つも読めません"):
        read_ocr_text(path, toc=Toc())


def test_toc_lines_are_validated(tmp_path):
    path = tmp_path / "toc.tsv"
    path.write_text("gov\t1.1\t法令の遵守\nbad line\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"toc.tsv:2行"):
        load_toc(path)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["", "① 遵守すること。", "13. ネットワーク", "6.2C4", "<p>② a</p><p>b</p>", "【x】", "経営管理編", "備考", "1.1 法令"]), min_size=1, max_size=6), max_size=8))
def test_any_table_of_known_cell_kinds_parses_without_error(rows):
    text = "\n".join("\t".join(cells) for cells in rows)
    for block in text_to_blocks(text):
        result = read_block(block, file="x.txt", toc=Toc())
        for row in result.rows:
            for item in row.items:
                assert item.volume in ("gov", "mgmt", "ctrl") and item.section


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_without_error(text):
    for block in text_to_blocks(text):
        read_block(block, file="x.txt", toc=Toc())


def test_a_finer_heading_outside_its_parent_is_reported(sample):
    misnested = [p for p in sample.problems if p.code == "misnested"]
    assert [(p.source.line, p.volume) for p in misnested] == [(16, "gov")]
    assert "1.3.2" in misnested[0].reason and "1.4" in misnested[0].reason
