"""The ``place`` stage: every 遵守事項 read gets the right ID, or stays findable as ``unplaced-…``.

ingest places an item where its row says (記載箇所 and circled number as read). That is not enough:
OCR reads ⑪⑫⑬ as ①②③, numbers one text twice, and leaves items whose 記載箇所 it could not read.
This stage decides, for every reading, and records how (``Item.how``, ``model.PLACEMENTS``):

    override    raw/<edition>/placements.tsv: a maintainer's ID for a reading (file, line or page, number)
    toc-title   an item of a cell that offers several sections, in the one whose title its text holds
    same-text   an item not placed whose text is a reading of a placed one (within OCR noise)
    sequence    an item not placed whose number continues the items just above or below it in one
                section (or in one of the sections the table offers for it)
    numbering   per section, one number per text and one text per number: readings of one text
                under several numbers are one requirement (the number read most, then first); a text
                that loses its number to another takes the number its neighbours leave for it (⑦ _ ⑨
                → ⑧; ①②③ after ⑩ → ⑪⑫⑬, the OCR dropping the 1 of a two-digit number), or stays unplaced

Texts are "the same" at ``NOISE`` or above (rapidfuzz ratio, measured on the sample: readings of one
text ≥ 94.5, different texts of one volume ≤ 64.6; ``tests/test_place.py`` keeps the gap).
What cannot be settled is kept as ``Unplaced`` with volume and section as far as they are known.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from . import textfile
from .errors import ManifestError
from .limits import LIMITS, Limits
from .model import CIRCLED, VOLUMES, Item, Problem, Source, TableRow, requirement_id
from .normalize import clean, strip_item_number

NOISE = 80
PLACEMENTS_FILE = "placements.tsv"  # in raw/<edition>/
LOOSE_CODES = ("no-section", "ambiguous-section", "no-volume", "outside-table")
_ID_RE = re.compile(r"^(gov|mgmt|ctrl)-(\d{1,2}(?:\.\d{1,2})*)-(\d{1,2})$")


def same_text(a: str, b: str) -> bool:
    """Two readings of one text, however OCR garbled them (the threshold measured on the sample).

    >>> same_text("リスク評価の結果を経営層に報告し、承認を得ること。", "リスク評価の結果を経営層に報告し承認を得ること")
    True
    >>> same_text("委託先事業者等に対して①に関連して必要な措置を講じること。", "委託先事業者等に対しても⑥に関して必要な措置を講じること。")
    False
    >>> same_text("ネットワーク利用に関連する具体的な責任分界を明らかにすること。", "無線LANを利用する場合、次に掲げる対策を実施すること。")
    False
    """
    return _cited(a) == _cited(b) and fuzz.ratio(_squeeze(a), _squeeze(b)) >= NOISE


_CITED = re.compile(f"[{CIRCLED}]")


def _cited(text: str) -> list[str]:
    """The item numbers a text cites (「⑥に関して」): parallel sentences of two sections differ there."""
    return _CITED.findall(text)


def _squeeze(text: str) -> str:
    return re.sub(r"[\s、。，．,.・()（）「」]", "", text)


class TextIndex:
    """Texts with a payload, looked up by near-sameness without comparing every pair: a text is
    compared only with those that share its first, middle or last five characters (two readings of
    one text within the noise practically always share one of them).

    >>> index = TextIndex(); index.add("リスク評価の結果を経営層に報告し、承認を得ること。", "mgmt-6-8")
    >>> index.find("リスク評価の結果を経営層に報告し承認を得ること")
    (100.0, 'mgmt-6-8')
    >>> index.find("無線LANを利用する場合、次に掲げる対策を実施すること。") is None
    True
    """

    def __init__(self):
        self.blocks: dict[str, list[tuple[str, str, object]]] = defaultdict(list)

    @staticmethod
    def _keys(squeezed: str) -> list[str]:
        middle = len(squeezed) // 2
        return ["h" + squeezed[:5], "m" + squeezed[middle - 2:middle + 3], "t" + squeezed[-5:]]

    def add(self, text: str, payload) -> None:
        squeezed = _squeeze(text)
        for key in self._keys(squeezed):
            self.blocks[key].append((squeezed, text, payload))

    def find(self, text: str, accept=lambda payload: True) -> tuple[float, object] | None:
        """The best payload whose text is the same as ``text`` (score, payload), first added on a tie."""
        squeezed, cited, best = _squeeze(text), _cited(text), None
        for key in self._keys(squeezed):
            for other, original, payload in self.blocks.get(key, ()):
                if not accept(payload):
                    continue
                score = fuzz.ratio(squeezed, other, score_cutoff=NOISE)
                if score and (best is None or score > best[0]) and _cited(original) == cited:
                    best = (score, payload)
        return best


# --- maintainer overrides ------------------------------------------------------------------------

@dataclass(frozen=True)
class PlacementOverride:
    """One line of ``placements.tsv``: the reading at (file, line or page, number) is ``id``."""

    file: str
    where: int  # the line of a text source, the page of a PDF
    number: int  # the circled number as read
    id: str
    memo: str
    line: int  # in placements.tsv
    path: str = PLACEMENTS_FILE  # placements.tsv, for messages


def load_placements(folder: Path, *, limits: Limits = LIMITS) -> list[PlacementOverride]:
    """Given an edition folder, read its ``placements.tsv``: file<TAB>line or page<TAB>number<TAB>ID<TAB>memo.

    The number is the circled number as read (「③」 or 3); the file is as in the sources of
    report.json (the name under raw/<edition>/ is enough). Lines starting with # are comments.
    """
    path = folder / PLACEMENTS_FILE
    if not path.exists() and not path.is_symlink():
        return []
    text = textfile.read_text(path, limits=limits, what=PLACEMENTS_FILE, error=ManifestError)
    entries, seen = [], {}
    for n, cells in textfile.tsv_rows(text, path, limits=limits, error=ManifestError):
        cells = [c.strip() for c in cells]
        number = _number(cells[2]) if len(cells) > 3 else None
        if len(cells) < 4 or not cells[0] or not cells[1].lstrip("p").isdigit() or number is None or not _ID_RE.match(cells[3]):
            raise ManifestError(f"{path}:{n}行: 「ファイル<TAB>行（PDF はページ）<TAB>番号（③ か 3）<TAB>ID（ctrl-13-11 の形）<TAB>メモ」"
                                "の形ではありません（タブで区切ってください。コメントは # で始めてください）")
        entry = PlacementOverride(cells[0], int(cells[1].lstrip("p")), number, cells[3], cells[4] if len(cells) > 4 else "", n, str(path))
        if entry.id in seen:
            raise ManifestError(f"{path}:{n}行: ID {entry.id} は {seen[entry.id]}行でも指定されています。"
                                "一つの ID には一つの遵守事項なので、どちらかの行を直してください")
        seen[entry.id] = n
        entries.append(entry)
    return entries


def _number(text: str) -> int | None:
    if len(text) == 1 and text in CIRCLED:
        return CIRCLED.index(text) + 1
    return int(text) if text.isdigit() and 0 < int(text) <= len(CIRCLED) else None


# --- the stage -----------------------------------------------------------------------------------

@dataclass
class Loose:
    """An item ingest could not place, with what the table said about it."""

    item: Item
    code: str
    reason: str
    sections: tuple[str, ...] = ()


@dataclass
class Placed:
    rows: list[TableRow]  # the rows, with items placed here added to the row they were read in
    unplaced: list[Loose]  # readings still without an ID (``item.id`` is their ``unplaced-…`` ID)
    decisions: list[dict] = field(default_factory=list)  # for the report: what was placed, split, renumbered, read twice
    readings: int = 0  # every 遵守事項 read (placed or not; headings that look like items are not)


def loose_items(problems: list[Problem]) -> list[Loose]:
    """The 遵守事項 among the problems of ingest (not headings, not lines that are no item)."""
    found = []
    for p in problems:
        if p.code in LOOSE_CODES and p.item and p.text:
            item = Item(p.volume or "", "", p.item, p.text, p.source, text=clean(strip_item_number(p.text)), how="")
            found.append(Loose(item, p.code, p.reason, p.sections))
    return found


@dataclass
class _Reading:
    item: Item
    order: int  # source order (file, page, line, column, place in the cell)
    loose: Loose | None = None
    override: PlacementOverride | None = None
    was_loose: bool = False  # ingest could not place it: it joins its row here once placed


def place(rows: list[TableRow], loose: list[Loose], *, toc=None, overrides: list[PlacementOverride] = ()) -> Placed:
    """Given normalized rows and the items ingest could not place, return the rows with every reading
    that could be placed, numbered once per section, and the readings that stay unplaced."""
    readings = _readings(rows, loose)
    decisions: list[dict] = []
    _apply_overrides(readings, overrides, decisions)
    _place_by_title(readings, decisions, toc)
    _place_same_text(readings, decisions)
    _place_by_sequence(readings, decisions, toc)
    _place_same_text(readings, decisions)  # readings of the items placed by sequence
    _number_sections(readings, decisions)
    return _result(rows, readings, decisions, toc)


def _readings(rows: list[TableRow], loose: list[Loose]) -> list[_Reading]:
    found = [(item.source, n, k, item, None) for n, row in enumerate(rows) for k, item in enumerate(row.items)]
    found += [(entry.item.source, -1, k, entry.item, entry) for k, entry in enumerate(loose)]
    found.sort(key=lambda f: (f[0].file, f[0].page or 0, f[0].line or 0, f[0].column or 0, f[1], f[2]))
    return [_Reading(item, order, entry, was_loose=entry is not None) for order, (_, _, _, item, entry) in enumerate(found)]


def _placed(readings: list[_Reading]) -> list[_Reading]:
    return [r for r in readings if r.item.section and not r.loose]


def _set(r: _Reading, volume: str, section: str, number: int, how: str, detail: str, toc) -> None:
    item = r.item
    if item.number_read == 0 and number != item.item:
        item.number_read = item.item
    item.volume, item.section, item.item, item.how, item.detail = volume, section, number, how, detail
    if toc is not None:
        item.section_title = toc.title(volume, section) or item.section_title


def _apply_overrides(readings: list[_Reading], overrides, decisions: list[dict]) -> None:
    at: dict[tuple, list[_Reading]] = {}  # (line or page, number) → the readings there: a lookup per override, not a scan
    if overrides:
        for r in readings:
            where = r.item.source.line if r.item.source.line is not None else r.item.source.page
            at.setdefault((where, r.item.number_read or r.item.item), []).append(r)
    for entry in overrides:
        volume, section, number = _ID_RE.match(entry.id).groups()
        matches = [r for r in at.get((entry.where, entry.number), ()) if _names(r.item.source.file, entry.file)]
        if len(matches) > 1:
            matches = [r for r in matches if r.item.volume == volume] or matches
        if len({(r.item.text, r.item.source) for r in matches}) != 1:
            what = "ありません" if not matches else f"{len(matches)} 件あります（編で区別できません）"
            raise ManifestError(f"{entry.path}:{entry.line}行: {entry.file} の {entry.where} に番号 {CIRCLED[entry.number - 1]} の遵守事項が{what}。"
                                "report.json（unplaced と placements）の sources と番号を確かめてください")
        for r in matches:
            _set(r, volume, section, int(number), "override", f"{PLACEMENTS_FILE}:{entry.line}行: {entry.memo}".rstrip(": "), None)
            r.loose = None
            r.override = entry
        decisions.append({"kind": "override", "id": entry.id, "sources": [str(matches[0].item.source)], "reason": matches[0].item.detail})


def _names(source_file: str, given: str) -> bool:
    """The file of a source (「6.0/correlation-table-v6.0.ocr.txt」) as placements.tsv names it: in full or by its name."""
    return source_file == given or source_file.rsplit("/", 1)[-1] == given


def _place_same_text(readings: list[_Reading], decisions: list[dict]) -> None:
    """An unplaced reading whose text is that of a placed reading takes its volume and section."""
    index, seen = TextIndex(), set()
    for p in _placed(readings):
        if (p.item.volume, p.item.text) not in seen:  # the first placed reading of each text stands for it
            seen.add((p.item.volume, p.item.text))
            index.add(p.item.text, p)
    for r in readings:
        if not r.loose or r.loose.code == "number-run-on":  # its section is known; its number is the doubt
            continue
        weak_volume = r.loose.code in ("no-section", "no-volume", "outside-table")
        found = index.find(r.item.text, accept=lambda p: weak_volume or p.item.volume == r.item.volume)
        if found is None:
            continue
        score, best = found
        _set(r, best.item.volume, best.item.section, r.item.item, "same-text",
             f"同じ本文（類似度 {score:.0f}）が {best.item.source} で {best.item.id} として読めた", None)
        r.item.section_title = best.item.section_title
        decisions.append({"kind": "placed", "_reading": r, "how": "same-text", "sources": [str(r.item.source)], "reason": r.item.detail, "code": r.loose.code})
        r.loose = None


TITLE_COVER, TITLE_MARGIN = 0.6, 0.4


def title_cover(title: str, text: str) -> float:
    """How much of a section title's wording (character pairs) the text of an item holds: of the whole
    title, or of one of its parts of three characters or more (「非常時（災害、インシデント…）対応と
    BCP策定」 has 「非常時」), whichever is more.

    >>> title_cover("責任分界", "第三者提供を行う際の責任分界については、技術的な内容…")
    1.0
    >>> title_cover("管理体制", "医療情報システムの安全管理の状況を把握する")
    0.33
    >>> title_cover("非常時（災害、インシデント、サイバー攻撃被害）対応とBCP策定", "非常時の事象発生に伴い対応した内容について")
    1.0
    """
    parts = [title] + [p for p in re.split(r"[（）()、・]", title) if len(p) >= 3 and p != title]
    scores = [len(grams & _grams(text)) / len(grams) for grams in map(_grams, parts) if grams]
    return round(max(scores), 2) if scores else 0.0


def _grams(text: str) -> set[str]:
    text = re.sub(r"[\W\d_]", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _place_by_title(readings: list[_Reading], decisions: list[dict], toc) -> None:
    """An item of a cell that offers several sections goes to the one whose title its text clearly
    holds (「責任分界」 in 「…の責任分界については…」): at least ``TITLE_COVER`` of the title's
    wording, and ``TITLE_MARGIN`` more than any other section offered.

    Numbers restart in each section. Where the items a cell gives to two or more sections are numbered
    on without a break (③④⑤⑥⑦… across 責任分界 and リスクマネジメント), the numbers are not those of
    the sections: the items keep their section and stay unplaced (``number-run-on``), not filed under
    an ID that may be another requirement's.
    """
    if toc is None:
        return
    cells: dict[tuple, list[_Reading]] = defaultdict(list)
    for r in readings:
        if r.loose and len(r.loose.sections) >= 2 and r.item.volume:
            s = r.item.source
            cells[(s.file, s.page, s.line, s.column)].append(r)
    for cell in cells.values():
        chosen = {}
        for r in cell:
            scored = sorted(((title_cover(toc.title(r.item.volume, s) or "", r.item.text), s) for s in r.loose.sections), reverse=True)
            (best, section), second = scored[0], scored[1][0]
            if best >= TITLE_COVER and best - second >= TITLE_MARGIN:
                chosen[id(r)] = (section, best)
        numbers = [r.item.item for r in cell]
        run_on = len({section for section, _ in chosen.values()}) >= 2 and all(b == a + 1 for a, b in zip(numbers, numbers[1:]))
        for r in cell:
            if id(r) not in chosen:
                continue
            section, best = chosen[id(r)]
            detail = f"セルの記載箇所 {'、'.join(r.loose.sections)} のうち、本文が {section}「{toc.title(r.item.volume, section)}」の見出しの語を含む（{best:.0%}）"
            if run_on:
                r.item.section, r.item.section_title = section, toc.title(r.item.volume, section) or ""
                r.loose = Loose(r.item, "number-run-on", f"{detail}。ただしこのセルの番号 {CIRCLED[numbers[0] - 1]}…{CIRCLED[numbers[-1] - 1]} は"
                                f"節 {'、'.join(sorted({s for s, _ in chosen.values()}))} をまたいで続き、節ごとの番号ではない", (section,))
                continue
            _set(r, r.item.volume, section, r.item.item, "toc-title", detail, toc)
            decisions.append({"kind": "placed", "_reading": r, "how": "toc-title", "sources": [str(r.item.source)], "reason": detail, "code": r.loose.code})
            r.loose = None


def _place_by_sequence(readings: list[_Reading], decisions: list[dict], toc) -> None:
    """An unplaced reading whose number continues the item just above or below it (in the same column
    where its volume is unknown) is an item of that section, if it is one of the sections the table
    offers for it (where it offers some). A single section offered (the 記載箇所 in force above the
    block) that holds no item yet takes it too. Which text keeps a number both claim is ``numbering``'s."""
    strong: dict[tuple, list[tuple[int, _Reading]]] = defaultdict(list)  # (volume, column or None) → (order, reading), sorted
    holding: set[tuple[str, str]] = set()  # (volume, section) with an item placed
    for p in _placed(readings):
        holding.add((p.item.volume, p.item.section))
        if p.item.how in ("read", "override"):
            strong[(p.item.volume, None)].append((p.order, p))
            strong[(p.item.volume, p.item.source.column)].append((p.order, p))
    for entries in strong.values():
        entries.sort(key=lambda e: e[0])
    for r in readings:
        if not r.loose or r.loose.code == "number-run-on":
            continue
        volumes = [r.item.volume] if r.item.volume else list(VOLUMES)
        offered = r.loose.sections
        column = r.item.source.column if not r.item.volume else None
        fits = set()
        for volume in volumes:
            lists = [strong[(volume, None)]] if column is None else [strong[(volume, c)] for c in (column - 1, column, column + 1)]
            before = max((_neighbour(entries, r.order, -1) for entries in lists), key=lambda p: p.order if p else -1, default=None)
            after = min((_neighbour(entries, r.order, 1) for entries in lists), key=lambda p: p.order if p else 1 << 60, default=None)
            for neighbour, step in ((before, 1), (after, -1)):
                if neighbour is None or (offered and neighbour.item.section not in offered):
                    continue
                if neighbour.item.item + step == r.item.item:
                    fits.add((volume, neighbour.item.section, neighbour.item.id, "上" if step == 1 else "下"))
            if len(offered) == 1 and (volume, offered[0]) not in holding:
                fits.add((volume, offered[0], "", ""))
        sections = {(v, s) for v, s, _, _ in fits}
        if len(sections) != 1:
            continue
        volume, section, neighbour, side = min(fits, key=lambda f: f[2] == "")
        if neighbour:
            detail = f"番号が{side}の {neighbour} に続く（{'記載箇所の候補 ' + '、'.join(offered) if offered else '記載箇所が読めない'}）"
        else:
            detail = f"この行の上で効いている記載箇所は {section} で、その節にまだ遵守事項がない"
        _set(r, volume, section, r.item.item, "sequence", detail, toc)
        holding.add((volume, section))
        for key in ((volume, None), (volume, r.item.source.column)):  # it anchors the next in its run
            bisect.insort(strong[key], (r.order, r), key=lambda e: e[0])
        decisions.append({"kind": "placed", "_reading": r, "how": "sequence", "sources": [str(r.item.source)], "reason": detail, "code": r.loose.code})
        r.loose = None


def _neighbour(entries: list[tuple[int, _Reading]], order: int, direction: int) -> _Reading | None:
    """The reading just before (direction -1) or after (+1) ``order`` in a list sorted by order."""
    at = bisect.bisect_left(entries, order, key=lambda e: e[0])
    if direction < 0:
        return entries[at - 1][1] if at > 0 else None
    at = bisect.bisect_right(entries, order, key=lambda e: e[0])
    return entries[at][1] if at < len(entries) else None


# --- numbering -----------------------------------------------------------------------------------

def _clusters(readings: list[_Reading]) -> list[list[_Reading]]:
    """Readings of one volume whose texts are the same within OCR noise, in source order.

    Compared within a section, and across sections where they start or end alike (a row repeated
    under a heading OCR read two ways: 2.2 and 2.2.1).
    """
    parent = list(range(len(readings)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sections: dict[tuple[str, str], TextIndex] = defaultdict(TextIndex)  # a section's texts, one per cluster so far
    across: dict[str, TextIndex] = defaultdict(TextIndex)  # a volume's texts, for texts read in two sections
    for i, r in enumerate(readings):
        found = sections[(r.item.volume, r.item.section)].find(r.item.text) or across[r.item.volume].find(r.item.text)
        if found is not None:
            parent[find(i)] = find(found[1])
        else:
            sections[(r.item.volume, r.item.section)].add(r.item.text, i)
            across[r.item.volume].add(r.item.text, i)
    clusters: dict[int, list[_Reading]] = defaultdict(list)
    for i, r in enumerate(readings):
        clusters[find(i)].append(r)
    return sorted(clusters.values(), key=lambda c: c[0].order)


def _number_sections(readings: list[_Reading], decisions: list[dict]) -> None:
    by_section: dict[tuple[str, str], list[list[_Reading]]] = defaultdict(list)
    for cluster in _clusters(_placed(readings)):
        for part in _per_section(cluster, decisions):
            by_section[(part[0].item.volume, part[0].item.section)].append(part)
    for clusters in by_section.values():
        _one_number_each(clusters, decisions)


def _per_section(cluster: list[_Reading], decisions: list[dict]) -> list[list[_Reading]]:
    """A text read in two sections of a volume stays in each (the guideline repeats a requirement
    where two sections need it, and a section's heading decides where an item is), but the report
    lists it for a maintainer to check (placements.tsv moves a reading)."""
    parts: dict[str, list[_Reading]] = {}
    for r in cluster:
        parts.setdefault(r.item.section, []).append(r)
    if len(parts) > 1:
        decisions.append({"kind": "same-text-elsewhere", "id": cluster[0].item.id, "sources": [str(r.item.source) for r in cluster],
                          "reason": f"同じ本文（類似度 {NOISE} 以上）が節 {'、'.join(parts)} で読めた（節ごとに別の遵守事項として置いた）"})
    return list(parts.values())


def _one_number_each(clusters: list[list[_Reading]], decisions: list[dict]) -> None:
    """Within one section: each text its number, each number one text."""
    wants: dict[int, list[list[_Reading]]] = defaultdict(list)
    for c in clusters:
        wants[_top_number(c)].append(c)
    ordered = sorted((r.order, r.item.item, id(c)) for c in clusters for r in c)
    number_of: dict[int, int] = {}  # id(cluster) -> number
    losers = []
    for number, claimants in sorted(wants.items()):
        if len(claimants) == 1:
            number_of[id(claimants[0])] = number
            continue
        _check_override_clash(claimants, number)
        owner = max(claimants, key=lambda c: (any(r.override for r in c), not _alternatives(c, number), _run_score(c, number, ordered),
                                              len(c), -c[0].order))
        number_of[id(owner)] = number
        losers += [c for c in claimants if c is not owner]
    for c in sorted(losers, key=lambda c: c[0].order):
        taken = set(number_of.values())
        free = [n for n in _alternatives(c, _top_number(c)) if n not in taken]
        if free:
            number_of[id(c)] = free[0]
            _renumber(c, free[0], "read", "", decisions)
            continue
        new, why = _from_neighbours(c, ordered, number_of, taken)
        if new:
            number_of[id(c)] = new
            _renumber(c, new, "sequence", why, decisions)
        else:
            for r in c:
                r.loose = Loose(r.item, "number-clash", f"{r.item.id} には別の本文がある（{why}）", (r.item.section,))
            decisions.append({"kind": "split", "id": c[0].item.id, "to": "unplaced", "sources": [str(r.item.source) for r in c],
                              "reason": f"{c[0].item.id} の別の本文（類似度 {NOISE} 未満）: {why}"})
    for c in clusters:
        if id(c) in number_of and not c[0].loose:
            number = number_of[id(c)]
            read = {r.item.item for r in c}
            twice = sorted(read - {number}) if number in read else []  # a renumbered text is a split, reported as such
            for r in c:
                if r.item.item != number:
                    r.item.number_read = r.item.number_read or r.item.item
                    r.item.item = number
            if twice:
                decisions.append({"kind": "read-twice", "id": c[0].item.id, "read_as": [CIRCLED[n - 1] for n in twice],
                                  "sources": [str(r.item.source) for r in c],
                                  "reason": f"同じ本文が {'、'.join(CIRCLED[n - 1] for n in twice)} としても読めた（番号の読み違いか同じ行の繰り返し）"})


HOW_RANK = {"override": 4, "read": 3, "toc-title": 2, "sequence": 1, "same-text": 0}


def _check_override_clash(claimants: list[list[_Reading]], number: int) -> None:
    """A maintainer's ID that another text, read as it stands, also holds: one error naming both."""
    given = [r for c in claimants for r in c if r.override and r.item.item == number]
    if not given:
        return
    other = next((r for c in claimants if not any(x.override for x in c) for r in c if r.item.item == number), None)
    if other is not None:
        entry = given[0].override
        raise ManifestError(f"{entry.path}:{entry.line}行: {entry.id} は {other.item.source} で読めた別の本文（{other.item.text[:20]}…）も持っています。"
                            "その行にも placements.tsv で ID を指定するか、別の ID にしてください")


def _top_number(cluster: list[_Reading]) -> int:
    """The number read most; on a tie, the one read where the row itself placed it, then the first."""
    counts = Counter(r.item.item for r in cluster)
    return max(counts, key=lambda n: (counts[n], max(HOW_RANK[r.item.how] for r in cluster if r.item.item == n),
                                      -min(r.order for r in cluster if r.item.item == n)))


def _alternatives(cluster: list[_Reading], number: int) -> list[int]:
    return sorted({r.item.item for r in cluster} - {number}, key=lambda n: min(r.order for r in cluster if r.item.item == n))


def _around(reading: _Reading, ordered: list[tuple[int, int, int]], cluster_of: int, number_of=None) -> tuple[int | None, int | None]:
    """The numbers of the nearest readings of other texts before and after ``reading`` in its section
    (``ordered``: (order, number, cluster) sorted; ``number_of`` maps a cluster to the number it got,
    or its readings count as read)."""
    at = bisect.bisect_left(ordered, reading.order, key=lambda e: e[0])
    found = []
    for step, start in ((-1, at - 1), (1, at + 1)):
        n, number = start, None
        while 0 <= n < len(ordered):
            _, read, cluster = ordered[n]
            if cluster != cluster_of and (number_of is None or cluster in number_of):
                number = read if number_of is None else number_of[cluster]
                break
            n += step
        found.append(number)
    return found[0], found[1]


def _run_score(cluster: list[_Reading], number: int, ordered: list[tuple[int, int, int]]) -> int:
    """How many of the cluster's readings of ``number`` sit between readings numbered one less and one more."""
    score = 0
    for r in cluster:
        if r.item.item == number:
            prev, nxt = _around(r, ordered, id(cluster))
            score += (prev == number - 1) + (nxt == number + 1)
    return score


def _from_neighbours(cluster: list[_Reading], ordered: list[tuple[int, int, int]], number_of: dict[int, int], taken: set[int]) -> tuple[int, str]:
    """The number the readings around it leave for a text that lost its own: between ⑦ and ⑨ it is ⑧;
    after ⑩ a ① is ⑪ (OCR dropped the 1 of a two-digit number)."""
    first = cluster[0]
    number = first.item.item
    prev, nxt = _around(first, ordered, id(cluster), number_of)
    if prev is not None and number + 10 <= len(CIRCLED) and prev == number + 9 and number + 10 not in taken:
        return number + 10, f"{CIRCLED[prev - 1]} の後の {CIRCLED[number - 1]} は {CIRCLED[number + 9]}（二桁の番号の 1 を OCR が落とした）"
    if prev is not None and nxt is not None and nxt - prev == 2 and prev + 1 not in taken:
        return prev + 1, f"{CIRCLED[prev - 1]} と {CIRCLED[nxt - 1]} の間で {CIRCLED[prev]} が空いている"
    around = "、".join(CIRCLED[n - 1] for n in (prev, nxt) if n)
    return 0, f"前後の番号（{around or 'なし'}）から番号が決まらない"


def _renumber(cluster: list[_Reading], number: int, how: str, why: str, decisions: list[dict]) -> None:
    old = cluster[0].item.id
    for r in cluster:
        if how != "read":
            r.item.how, r.item.detail = how, why
    volume, section = cluster[0].item.volume, cluster[0].item.section
    new = requirement_id(volume, section, number)
    decisions.append({"kind": "split", "id": old, "to": new, "sources": [str(r.item.source) for r in cluster],
                      "reason": f"{old} の別の本文（類似度 {NOISE} 未満）を {new} とした: {why or '同じ本文が ' + CIRCLED[number - 1] + ' としても読めた'}"})


# --- the result ----------------------------------------------------------------------------------

def _result(rows: list[TableRow], readings: list[_Reading], decisions: list[dict], toc) -> Placed:
    """Placed readings into the row they were read in; the rest numbered ``unplaced-<line>-<n>``."""
    row_of = {(row.source.file, row.source.page, row.source.line): row for row in rows}
    placed_loose = [r for r in readings if r.was_loose and not r.loose]
    for r in placed_loose:
        s = r.item.source
        row = row_of.get((s.file, s.page, s.line))
        if row is None:
            row = row_of[(s.file, s.page, s.line)] = TableRow(Source(s.file, s.line, s.page))
            rows.append(row)
        row.items.append(r.item)
    unplaced = [r for r in readings if r.loose]
    unplaced_items = {id(r.item) for r in unplaced}
    for row in rows:
        row.items = [i for i in row.items if id(i) not in unplaced_items]
    rows = [row for row in rows if row.items]
    rows.sort(key=lambda row: (row.source.file, row.source.page or 0, row.source.line or 0))
    # Unplaced readings of one text are one record; its ID from where it was first read.
    groups: list[list[_Reading]] = []
    index = TextIndex()
    for r in unplaced:
        found = index.find(r.item.text)
        if found:
            found[1].append(r)
        else:
            groups.append([r])
            index.add(r.item.text, groups[-1])
    counts: Counter = Counter()
    out = []
    for g in groups:
        s = g[0].item.source
        where = f"{s.line}" if s.line is not None else f"p{s.page}"
        counts[(s.file, where)] += 1
        key = f"unplaced-{where}-{counts[(s.file, where)]}"
        if len({x.item.source.file for x in readings}) > 1:
            key = f"unplaced-{_file_index(readings, s.file)}-{where}-{counts[(s.file, where)]}"
        for r in g:
            r.item.key = key
            out.append(r.loose)
    kept = sum(len(row.items) for row in rows) + len(out)
    assert kept == len(readings), f"place lost readings: {len(readings)} read, {kept} kept"  # nothing read may vanish
    for d in decisions:  # the ID a placed reading ended with, once numbering and unplaced IDs are settled
        if "_reading" in d:
            d["id"] = d.pop("_reading").item.id
    return Placed(rows, out, decisions, len(readings))


def _file_index(readings: list[_Reading], file: str) -> int:
    return sorted({r.item.source.file for r in readings}).index(file) + 1
