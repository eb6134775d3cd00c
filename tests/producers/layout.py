"""What a seed decides about a correlation-table PDF, and the table (from the truth) it lays out.

    >>> layout_for(3).producer in PRODUCERS
    True

The table is the truth's rows (``tests/truth/v6.0-sample.json``) as 8 cells each, in the guideline's
column order: 経営管理編 (記載箇所, 遵守事項), 企画管理編 (記載箇所, 遵守事項, 備考), システム運用編
(記載箇所, 遵守事項, 備考). A 記載箇所 or 備考 cell equal to the one above it in the same column is one
cell spanning both rows (``spans``), as in the guideline. This module imports nothing of ``pipeline``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from ..corpus import truth_cells

TRUTH = Path(__file__).resolve().parent.parent / "truth" / "v6.0-sample.json"
PRODUCERS = ("chromium", "writer", "calc", "platypus")
HEADER_VOLUMES = (("経営管理編", 2), ("企画管理編", 3), ("システム運用編", 3))
HEADER_LABELS = ("記載箇所", "遵守事項", "記載箇所", "遵守事項", "備考", "記載箇所", "遵守事項", "備考")
SPAN_COLUMNS = (0, 2, 4, 5, 7)  # 記載箇所 and 備考
FONTS = {
    "gothic": ("IPAGothic", Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")),
    "mincho": ("IPAMincho", Path("/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf")),
}
PAGES = {"A3": (420.0, 297.0), "A4": (297.0, 210.0)}  # landscape, mm
TITLE = "各編間相関表"
CI_SEEDS = tuple(range(1, 25))  # 6 per producer (seed % 4)


@dataclass(frozen=True)
class Layout:
    seed: int
    producer: str
    page: str  # "A3" or "A4", landscape
    font: str  # "gothic" or "mincho"
    font_size: float  # pt, 6.5–10
    widths: tuple[float, ...]  # 8 relative column widths
    padding: float  # pt inside each cell
    header_levels: int  # 2: volume names over the labels; 1: labels only
    title: bool  # a title line above the table
    footer: bool  # page numbers in the footer
    rows: tuple[int, int]  # the slice of truth rows laid out
    texts: str = "sample"  # "sample": the truth's texts; "varied": with URLs, BCP and another sub-list form (``vary``)
    list_marker: str = "－"  # the sub-list form of "varied" texts: "－", "・", "a." or "(1)"

    @property
    def font_name(self) -> str:
        return FONTS[self.font][0]

    @property
    def font_file(self) -> Path:
        return FONTS[self.font][1]

    @property
    def page_mm(self) -> tuple[float, float]:
        return PAGES[self.page]


def layout_for(seed: int, *, rows: tuple[int, int] | None = None) -> Layout:
    """The layout a seed draws: the producer by ``seed % 4``, everything else at random from the seed."""
    rng = random.Random(seed)
    page = rng.choice(("A3", "A4"))
    # A4 with large type would make a 7 cm column of a few characters a line: keep it legible
    size = round(rng.uniform(6.5, 8.0 if page == "A4" else 10.0), 1)
    item, place, note = rng.uniform(55, 90), rng.uniform(22, 36), rng.uniform(18, 34)
    widths = tuple(round(w * rng.uniform(0.9, 1.1), 1) for w in (place, item, place, item, note, place, item, note))
    count = len(json.loads(TRUTH.read_text(encoding="utf-8"))["rows"])
    return Layout(seed=seed, producer=PRODUCERS[seed % 4], page=page, font=rng.choice(("gothic", "mincho")), font_size=size,
                  widths=widths, padding=round(rng.uniform(1.0, 5.0), 1), header_levels=rng.choice((1, 2)),
                  title=rng.random() < 0.6, footer=rng.random() < 0.7, rows=rows or (0, count),
                  # drawn last, so that the draws above (and the layouts tuned and reported on) stay what they were
                  texts=rng.choice(("sample", "varied")), list_marker=rng.choice(LIST_MARKERS))


def truth_rows(layout: Layout) -> list[dict]:
    rows = json.loads(TRUTH.read_text(encoding="utf-8"))["rows"]
    rows = vary(rows, layout) if layout.texts == "varied" else rows
    return rows[layout.rows[0]:layout.rows[1]]


# Texts that are not the sample's: long tokens that no producer can break at a word (URLs of the
# ministries the guideline cites, the BCP gloss of 企画管理編 11) and sub-lists in the forms the
# guideline's other volumes use.
URLS = (
    "https://www.mhlw.go.jp/stf/shingi/0000516275_00006.html",
    "https://www.soumu.go.jp/main_sosiki/cybersecurity/kokumin/index.html",
    "https://www.meti.go.jp/policy/mono_info_service/healthcare/teikyoujigyousyagl.html",
    "https://www.nisc.go.jp/policy/group/general/kijun.html",
    "https://www.ipa.go.jp/security/guide/vuln/index.html",
)
ADDITIONS = (
    "詳細は{url}を参照すること。",
    "最新の情報は{url}で確認すること。",
    "BCP(Business Continuity Plan:事業継続計画)と整合させること。",
    "参考：{url}",
)
LIST_MARKERS = ("－", "・", "a.", "(1)")


def vary(rows: list[dict], layout: Layout) -> list[dict]:
    r"""The truth's rows with a seed's other texts: about one requirement in six gets a sentence with
    a URL or the BCP gloss at its end, and the 「－」 sub-lists take the layout's ``list_marker``
    (「a.」 and 「(1)」 count on within the item). The same text is changed the same way wherever it is.

    >>> rows = [{"ctrl": {"places": ["9."], "items": ["① 次の対策。\n－遮断\n－復旧"]}}]
    >>> vary(rows, Layout(1, "writer", "A4", "gothic", 7.0, (1,) * 8, 2.0, 1, False, False, (0, 1), "varied", "a."))
    [{'ctrl': {'places': ['9.'], 'items': ['① 次の対策。\na. 遮断\nb. 復旧']}}]
    """
    rng = random.Random(f"texts-{layout.seed}")
    items = sorted({item for row in rows for part in _parts(row) for item in part.get("items", [])})
    chosen = set(rng.sample(items, len(items) // 6))
    changed = {item: _relisted(item, layout.list_marker) + (rng.choice(ADDITIONS).format(url=rng.choice(URLS))
                                                           if item in chosen else "")
               for item in items}
    return [{key: ({**part, "items": [changed[i] for i in part.get("items", [])]} if key in ("gov", "mgmt", "ctrl") else part)
             for key, part in row.items()} for row in rows]


def _parts(row: dict) -> list[dict]:
    return [row[v] for v in ("gov", "mgmt", "ctrl") if v in row]


def _relisted(item: str, marker: str) -> str:
    """「－」 at the start of an item's lines → the ``marker`` form, counting a b c or (1) (2) (3)."""
    lines, n = item.split("\n"), 0
    for i, line in enumerate(lines):
        if i and line.startswith("－"):
            label = {"a.": f"{chr(ord('a') + n)}. ", "(1)": f"({n + 1}) "}.get(marker, marker)
            lines[i], n = label + line[1:].lstrip(), n + 1
    return "\n".join(lines)


def table(layout: Layout) -> list[list[str]]:
    """The 8 cells of each truth row, as printed: items and headings one per line."""
    return [truth_cells(row) for row in truth_rows(layout)]


def spans(cells: list[list[str]]) -> dict[tuple[int, int], int]:
    """(row, column) → how many rows the cell there spans, for every cell that starts a span of 2 or
    more; the cells it covers are not drawn (``covered``).

    >>> spans([["a", "", "b", "", "", "", "", ""], ["a", "", "c", "", "", "", "", ""]])
    {(0, 0): 2}
    """
    out = {}
    for column in SPAN_COLUMNS:
        row = 0
        while row < len(cells):
            end = row + 1
            while cells[row][column] and end < len(cells) and cells[end][column] == cells[row][column]:
                end += 1
            if end - row > 1:
                out[(row, column)] = end - row
            row = end
    return out


def covered(cells: list[list[str]]) -> set[tuple[int, int]]:
    """The (row, column) positions that a span from above covers."""
    return {(row + n, column) for (row, column), count in spans(cells).items() for n in range(1, count)}
