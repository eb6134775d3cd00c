"""Blocks of raw cells → table rows of placed 遵守事項, their notes, and problems.

The table has three volume blocks side by side — 経営管理編 (記載箇所, 遵守事項), 企画管理編
(記載箇所, 遵守事項, 備考), システム運用編 (記載箇所, 遵守事項, 備考) — but an OCR dump keeps
neither the header on every page nor the column positions between pages. So the roles are
recovered from the cells themselves:

    paragraphs → kinds (item ①, place 「13. …」, note, sub-heading)
    → column roles per block → volume groups (place columns + their item column + notes)
    → volumes (from the edition's table of contents, dotted numbers, a header row, or order)
    → rows, with 記載箇所 filled down the rows it spans.

Item numbers are read from the raw text, before any normalization.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..model import CIRCLED, VOLUME_NAMES, VOLUMES, Item, Note, Problem, Source, TableRow
from ..normalize import clean
from .layout import RawBlock, RawRow
from .manifest import Toc

ITEM_RE = re.compile(rf"^\s*([{CIRCLED}])\s*(.*)$", re.S)
# 「13. ネットワーク…」「2. 2. 1 リスク…」「1.3.1 委託…」「9.. ソフト…」: a number, then dots or a space,
# then a title. OCR may lose the space after a dotted number (「2.2.1リスク評価…」): a title starts with
# kanji or katakana, while a 備考 goes on with 版 (「5.2版…」), a letter (「6.2C4」) or kana (「4.2.1の趣旨」).
PLACE_RE = re.compile(r"^\s*(\d{1,2}(?:\s*\.\s*\d{1,2})*)(?:\s*\.+\s*|\s*[、。，,](?=\s*[\u3040-\u30fa\u4e00-\u9fff])\s*|\s+|(?:(?<=\.\d)|(?<=\.\d\d))(?=[\u30a1-\u30fa\u4e00-\u9fff])(?![版章節条項号]))(?=[^\d\s.])(.+)$", re.S)
_OCR_ONES = re.compile(r"^\s*(?=[0-9Il|!]*[Il|!])[0-9Il|!]{1,2}(?=\s*[.．、。])")
_NUMBERED = re.compile(r"^\W{0,2}[0-9Il|!]")  # a heading's number, however OCR read what follows it
SUBHEADING_RE = re.compile(r"^\s*【[^】]*】\s*$")
LABELS = ("記載箇所", "遵守事項", "備考")

ITEM, PLACE, NOTE, SUBHEADING = "item", "place", "note", "subheading"


def item_number(paragraph: str) -> tuple[int, str] | None:
    """Given a raw paragraph, return (item number, rest) if it starts with a circled number.

    >>> item_number("⑥ オープンなネットワークにおいて")
    (6, 'オープンなネットワークにおいて')
    """
    match = ITEM_RE.match(paragraph)
    if not match:
        return None
    return CIRCLED.index(match.group(1)) + 1, match.group(2)


_INLINE_ITEM = re.compile(rf"(?<=。)[ \u3000]*(?=[{CIRCLED}])")


def split_inline_items(paragraph: str) -> list[str]:
    """A paragraph in which a sentence ends and an item number follows holds two items (the OCR dump
    ran two cells' paragraphs together: 「…確認すること。 ③ 個人情報や…」).

    >>> split_inline_items("② 確認すること。 ③ 盗難防止を講ずること。")
    ['② 確認すること。', '③ 盗難防止を講ずること。']
    """
    return [part for part in _INLINE_ITEM.split(paragraph) if part.strip()]


@dataclass(frozen=True)
class Place:
    """A 記載箇所 heading: section number and title."""

    section: str
    title: str


def parse_place(paragraph: str) -> Place | None:
    """Given a raw paragraph, return the heading it is, if it is one.

    >>> parse_place("2. 2. 1 リスク評価を踏まえたリスク管理")
    Place(section='2.2.1', title='リスク評価を踏まえたリスク管理')
    >>> parse_place("6.2C4") is None, parse_place("5.2版4.1B(2)の趣旨を踏まえて新設") is None
    (True, True)
    >>> parse_place("2.2.1リスク評価を踏まえたリスク管理")
    Place(section='2.2.1', title='リスク評価を踏まえたリスク管理')

    OCR reads the full stop after a section number as 「、」 or 「。」, and 1 as I, l or !:

    >>> parse_place("14、 認証・認可に関する安全管理措置"), parse_place("Il. システム運用管理")
    (Place(section='14', title='認証・認可に関する安全管理措置'), Place(section='11', title='システム運用管理'))
    """
    match = PLACE_RE.match(_OCR_ONES.sub(lambda m: re.sub("[Il|!]", "1", m.group(0)), paragraph))
    if not match:
        return None
    section = re.sub(r"\s", "", match.group(1))
    title = re.sub(r"【[^】]*】", "", clean(match.group(2))).strip()
    return Place(section, title) if title else None


def paragraph_kind(paragraph: str) -> str:
    if item_number(paragraph):
        return ITEM
    if SUBHEADING_RE.match(paragraph):
        return SUBHEADING
    if parse_place(paragraph):
        return PLACE
    return NOTE


def is_heading_like(rest: str) -> bool:
    """An 「①」 paragraph that is a heading OCR'd with a number, not a requirement: 「① 責任分界」.

    A requirement is a sentence: it says 「…こと」 or ends in 「。」.
    """
    text = clean(rest)
    return "こと" not in text and "。" not in text and "ならない" not in text and len(text) < 60


def volume_of_label(text: str) -> str | None:
    """Given a header cell, return the volume it names (OCR-tolerant: 企業管理編 → mgmt)."""
    squeezed = re.sub(r"\s", "", text)
    best = max(VOLUMES, key=lambda v: fuzz.ratio(VOLUME_NAMES[v], squeezed))
    return best if fuzz.ratio(VOLUME_NAMES[best], squeezed) >= 75 else None


@dataclass
class Group:
    """One volume block within a block of rows: its 記載箇所 columns, its 遵守事項 column, its 備考 columns."""

    places: list[int] = field(default_factory=list)
    items: list[int] = field(default_factory=list)  # jitter columns of the one item column
    notes: list[int] = field(default_factory=list)
    volume: str | None = None


@dataclass
class BlockResult:
    rows: list[TableRow]
    problems: list[Problem]


def read_block(block: RawBlock, *, file: str, toc: Toc, carried: dict[str, list[Place]] | None = None) -> BlockResult:
    """Given one block of raw rows, return its table rows and the problems found.

    ``carried`` holds, per volume, the 記載箇所 in force where the blocks before ended: an item
    with no heading of its own in this block is offered that section (``Problem.sections``), and
    the block leaves its own last headings there for the next.
    """
    if block.layout == "text":
        return _read_text_block(block, file=file)
    for row in block.rows:
        row.index_cells()  # constant-time ``row.cell``: a row may have thousands of cells
    header, data_rows, misread = _split_header(block, file)
    roles = _column_roles(data_rows)
    groups = _group_columns(roles, data_rows)
    _assign_volumes(groups, data_rows, header=header, toc=toc)
    result = _read_rows(data_rows, groups, file=file, toc=toc, carried=carried if carried is not None else {})
    result.problems[:0] = misread
    return result


def _read_text_block(block: RawBlock, *, file: str) -> BlockResult:
    """Lines outside the table grid: a stray 遵守事項 cannot be placed; titles are skipped."""
    problems = []
    for row in block.rows:
        text = row.cells[0].paragraphs[0]
        parsed = item_number(text)
        if parsed:
            problems.append(Problem(Source(file, row.line), "outside-table", text, item=parsed[0]))
        elif text.strip() not in ("各編間相関表",) and not volume_of_label(text):
            problems.append(Problem(Source(file, row.line), "unreadable-line", text))
    return BlockResult([], problems)


def _split_header(block: RawBlock, file: str) -> tuple[dict[int, str], list[RawRow], list[Problem]]:
    """Drop header rows (volume names; 記載箇所/遵守事項/備考 labels); return column → volume from them,
    the data rows, and the volume names read as another (企業管理編 for 企画管理編)."""
    header: dict[int, str] = {}
    data_rows = []
    misread = []
    for row in block.rows:
        texts = [" ".join(c.paragraphs) for c in row.cells]
        volumes = [volume_of_label(t) for t in texts]
        if texts and all(volumes):
            for cell, volume in zip(row.cells, volumes):
                header[cell.column] = volume
                if re.sub(r"\s", "", " ".join(cell.paragraphs)) != VOLUME_NAMES[volume]:
                    misread.append(Problem(row.source(file, cell), "header-label", " ".join(cell.paragraphs), volume,
                                           detail=f"「{' '.join(cell.paragraphs)}」を {VOLUME_NAMES[volume]} とした"))
        elif texts and all(t.strip() in LABELS for t in texts):
            continue
        else:
            data_rows.append(row)
    return header, data_rows, misread


def _column_roles(rows: list[RawRow]) -> dict[int, str]:
    """Given a block's rows, return each used column's role: the most common kind of its cells."""
    votes: dict[int, Counter] = {}
    for row in rows:
        for cell in row.cells:
            kinds = Counter(paragraph_kind(p) for p in cell.paragraphs)
            kinds.pop(SUBHEADING, None)
            if not kinds:
                continue
            kind = ITEM if kinds[ITEM] else kinds.most_common(1)[0][0]
            votes.setdefault(cell.column, Counter())[kind] += 1
    priority = {ITEM: 2, PLACE: 1, NOTE: 0}
    return {col: max(c, key=lambda k: (c[k], priority[k])) for col, c in sorted(votes.items())}


def _group_columns(roles: dict[int, str], rows: list[RawRow]) -> list[Group]:
    """Given column roles in order, return the volume groups: place+ item? note*.

    A second item column right next to the first, never used in the same row, is the same
    column shifted by OCR jitter and joins it.
    """
    used: dict[int, set[int]] = {col: set() for col in roles}
    for r in rows:
        for cell in r.cells:
            if cell.column in used:
                used[cell.column].add(r.line)
    groups: list[Group] = []
    items_used: set[int] = set()  # the rows using the item columns of groups[-1]
    for col, role in roles.items():
        group = groups[-1] if groups else None
        if role == PLACE:
            if group is None or group.items or group.notes:
                groups.append(Group(places=[col]))
                items_used = set()
            else:
                group.places.append(col)
        elif role == ITEM:
            if group is not None and group.items and col - group.items[-1] == 1 and not used[col] & items_used:
                group.items.append(col)
            elif group is None or group.items or group.notes:
                groups.append(Group(items=[col]))
                items_used = set()
            else:
                group.items.append(col)
            items_used |= used[col]
        else:
            if group is None:
                groups.append(Group(notes=[col]))
                items_used = set()
            else:
                group.notes.append(col)
    return groups


def _assign_volumes(groups: list[Group], rows: list[RawRow], *, header: dict[int, str], toc: Toc) -> None:
    """Give each group a volume: headings it holds (table of contents, dotted numbers), a header row, or order."""
    not_gov: set[int] = set()  # groups whose headings are all single numbers (「13. …」): 企画 or 運用
    place_group = {col: n for n, group in enumerate(groups) for col in group.places}
    votes_of: list[Counter] = [Counter() for _ in groups]
    dotted_of, undotted_of = [0] * len(groups), [0] * len(groups)
    for row in rows:  # one pass over the cells (rows, then columns left to right), not groups × rows
        for col in row.columns():
            n = place_group.get(col)
            if n is None:
                continue
            for paragraph in row.cell(col).paragraphs:
                place = parse_place(paragraph)
                if place:
                    entry = toc.match(place.section, place.title)
                    votes_of[n][entry.volume if entry else ("gov" if "." in place.section else None)] += 1
                    dotted_of[n] += "." in place.section
                    undotted_of[n] += "." not in place.section
    for n, group in enumerate(groups):
        votes, dotted, undotted = votes_of[n], dotted_of[n], undotted_of[n]
        votes.pop(None, None)
        if undotted and not dotted:
            not_gov.add(n)
        if votes:
            group.volume = votes.most_common(1)[0][0]
        else:
            first = min(group.places + group.items + group.notes)
            labelled = [v for c, v in sorted(header.items()) if c <= first]
            group.volume = labelled[-1] if labelled else None
    # Groups still unknown follow the order of the volumes: after the group on their left.
    previous = None
    for n, group in enumerate(groups):
        if group.volume is None and (group.items or group.places):
            index = VOLUMES.index(previous) + 1 if previous else 0
            index = max(index, 1) if n in not_gov else index
            group.volume = VOLUMES[index] if index < len(VOLUMES) else None
        if group.volume:
            previous = group.volume


def _read_rows(rows: list[RawRow], groups: list[Group], *, file: str, toc: Toc, carried: dict[str, list[Place]]) -> BlockResult:
    """Walk the rows, filling 記載箇所 down the rows it spans, and collect items and notes."""
    out: list[TableRow] = []
    problems: list[Problem] = []
    current: dict[int, list[Place]] = {}  # place column -> headings in force
    group_of = {col: n for n, group in enumerate(groups) for col in (*group.places, *group.items, *group.notes)}
    for row in rows:
        table_row = TableRow(row.source(file))
        # Only the groups with a cell in this row can change anything: a row costs its cells, not every group.
        for group in (groups[n] for n in sorted({group_of[c] for c in row.columns() if c in group_of})):
            problems.extend(_fill_places(row, group, current, file=file, toc=toc))
            if not group.items:
                continue
            ordered, unplaced = _group_items(row, group, current, file=file, toc=toc, carried=carried.get(group.volume or ""))
            table_row.items.extend(item for item in ordered if item)
            problems.extend(unplaced)
            table_row.notes.extend(_group_notes(row, group, ordered, file=file))
        if table_row.items:
            out.append(table_row)
    for group in groups:  # what this block leaves in force for the next
        heading = next((current[col] for col in reversed(group.places) if col in current), None)
        if group.volume and heading:
            carried[group.volume] = heading
    return BlockResult(out, problems)


def _fill_places(row: RawRow, group: Group, current: dict[int, list[Place]], *, file: str, toc: Toc | None = None) -> list[Problem]:
    """A new heading in a 記載箇所 column replaces the one in force and clears the finer columns to its right.

    Return a problem where a finer heading does not sit under the coarser one beside it
    (「1.3.2」 next to 「1.4」): the finer one is used, and the report says so.

    A heading whose number OCR garbled or dropped (「15技術的な対策の管理」「リスクマネジメント」) takes
    its section from the table of contents by its title; where no title matches a numbered one, the
    heading before it no longer holds (its items are reported 「記載箇所（節）が読めない」 rather than
    filed under the section above).
    """
    problems = []
    cleared = False  # a heading came in a coarser column of this row: finer columns without a cell are cleared
    coarser: list[Place] | None = None  # the headings in force in the nearest coarser column
    for col in group.places:
        cell = row.cell(col)
        places = [p for p in (parse_place(x) for x in cell.paragraphs) if p] if cell else []
        text = " ".join(p for p in cell.paragraphs if p.strip()) if cell else ""
        sentences = [p for p in places if _sentence_not_heading(p, group.volume, toc)]
        if sentences:  # OCR put a requirement's sentence in the 記載箇所 cell: no heading can be told here
            problems.append(Problem(row.source(file, cell), "sentence-in-place", text, group.volume,
                                    detail=f"「{sentences[0].section} …」は {sentences[0].section} の見出しではなく文"))
            places = [p for p in places if p not in sentences]
            if not places:
                current[col] = []  # in force: no heading (the items below say why)
                continue
        entry = toc.by_title(group.volume, text) if not places and text and group.volume and toc else None
        if not places and entry is None and _NUMBERED.match(text):
            current.pop(col, None)
            continue
        if entry is not None:
            places = [Place(entry.section, entry.title)]
            problems.append(Problem(row.source(file, cell), "section-from-title", text, group.volume,
                                    detail=f"「{text}」を {entry.section} とした"))
        if places:
            current[col] = places
            cleared = True
            if coarser and len(coarser) == 1 and len(places) == 1 and "." in places[0].section:
                parent, child = coarser[0].section, places[0].section
                if parent != child and not child.startswith(parent + "."):
                    problems.append(Problem(row.source(file, cell), "misnested", cell.paragraphs[0], group.volume,
                                            detail=f"{child} は {parent} の下にない（{child} として扱った）"))
        elif cell is None and cleared:
            current.pop(col, None)
        if col in current:
            coarser = current[col]
    return problems


def _group_items(row: RawRow, group: Group, current: dict[int, list[Place]], *, file: str, toc: Toc,
                 carried: list[Place] | None = None):
    """Return (items in cell order, ``None`` where one could not be placed; problems) for one group's cell."""
    cells = [row.cell(col) for col in group.items]
    cells = [c for c in cells if c]
    if not cells:
        return [], []
    cell = cells[0]
    source = row.source(file, cell)
    # Items with their paragraphs; a heading paragraph inside the cell applies to the items after it.
    entries: list[tuple[int, list[str], Place | None]] = []
    inline: Place | None = None
    problems: list[Problem] = []
    for paragraph in (part for c in cells for p in c.paragraphs for part in split_inline_items(p)):
        parsed = item_number(paragraph)
        if parsed:
            if is_heading_like(parsed[1]):
                problems.append(Problem(source, "heading", paragraph, group.volume, parsed[0]))
                continue
            entries.append((parsed[0], [paragraph], inline))
        elif (place := parse_place(paragraph)) and len(paragraph) < 60:
            inline = place
        elif entries:
            entries[-1][1].append(paragraph)
        else:
            problems.append(Problem(source, "unnumbered", paragraph, group.volume))
    heading = next((current[col] for col in reversed(group.places) if col in current), None)
    placed: list[Item | None] = []
    for index, (number, paragraphs, inline_place) in enumerate(entries):
        raw = "\n".join(paragraphs)
        place, code, detail = _place_of(index, len(entries), inline_place, heading)
        if place is None and code == "no-section" and any(current.get(col) == [] for col in group.places):
            detail = "記載箇所のセルに見出しではなく遵守事項の文がある"
        if group.volume is None:
            place, code, detail = None, "no-volume", ""
        if place is None:
            offered = tuple(dict.fromkeys(toc.section_for(group.volume, p.section, p.title) for p in heading or carried or ())) if group.volume else ()
            problems.append(Problem(source, code, raw, group.volume, number, detail=detail, sections=offered))
            placed.append(None)
            continue
        section = toc.section_for(group.volume, place.section, place.title)
        if section != place.section:
            problems.append(Problem(source, "section-from-title", raw, group.volume, number,
                                    detail=f"「{place.section} {place.title}」を {section} とした"))
        title = toc.title(group.volume, section) or place.title
        placed.append(Item(group.volume, section, number, raw, source, section_title=title, heading_read=place.title))
    return placed, problems


def _sentence_not_heading(place: Place, volume: str | None, toc: Toc | None) -> bool:
    """A 「1.3 情報セキュリティインシデントが生じた場合、…整理すること。」 in a 記載箇所 cell: a sentence,
    not the title the table of contents gives that number.

    >>> from pipeline.ingest.manifest import TocEntry
    >>> toc = Toc([TocEntry("gov", "1.3", "委託における責任")])
    >>> _sentence_not_heading(Place("1.3", "情報セキュリティインシデントが生じた場合、原因を究明すること。"), "gov", toc)
    True
    >>> _sentence_not_heading(Place("1.3", "委託における責任"), "gov", toc)
    False
    """
    if toc is None or volume is None:
        return False
    title = toc.title(volume, place.section)
    sentence = "こと" in place.title or "。" in place.title or len(place.title) > 60
    return bool(title) and sentence and fuzz.partial_ratio(title, place.title) < 60


def _place_of(index: int, count: int, inline: Place | None, heading: list[Place] | None) -> tuple[Place | None, str, str]:
    """The heading an item falls under, or the problem code and detail saying why it cannot be told."""
    if inline:
        return inline, "", ""
    if not heading:
        return None, "no-section", ""
    sections = list(dict.fromkeys(p.section for p in heading))
    if len(sections) == 1:
        return heading[0], "", ""
    if len(heading) == count:
        return heading[index], "", ""
    return None, "ambiguous-section", f"節 {'、'.join(sections)} と遵守事項 {count} 件"


def _group_notes(row: RawRow, group: Group, ordered: list[Item | None], *, file: str) -> list[Note]:
    """備考 paragraphs of one group in one row, each attached to the item(s) it stands beside.

    As many notes as items: the n-th note annotates the n-th item. Otherwise every note
    annotates every placed item of the row's group.
    """
    paragraphs = [(col, p) for col in group.notes if (cell := row.cell(col)) for p in cell.paragraphs]
    paragraphs = [(col, p) for col, p in paragraphs if paragraph_kind(p) == NOTE]
    if not paragraphs or group.volume is None:
        return []
    every = tuple(dict.fromkeys(item.id for item in ordered if item))
    notes = []
    for index, (col, paragraph) in enumerate(paragraphs):
        if len(paragraphs) == len(ordered):
            item = ordered[index]
            annotates = (item.id,) if item else ()
        else:
            annotates = every
        notes.append(Note(group.volume, paragraph, row.source(file, row.cell(col)), annotates))
    return notes
