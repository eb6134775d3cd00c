"""Pairs of editions made from the hand-checked truth, with the changes between them known: the test
editions that ``guideline-kb diff OLD NEW`` is judged on.

The OLD edition is the truth's rows (``tests/truth/v6.0-sample.json``) as they are. The NEW edition is
OLD after a seeded script of edits, each a plausible revision of the guideline:

    reword        a few words of a requirement changed               → changed (same ID)
    insert        a new requirement at position k of a section: the later ones of the section go
                  one up (⑤ → ⑥) in every row where they appear    → added + renumbered
    remove        a requirement dropped: the later ones go one down  → removed + renumbered
                  (the section's only requirement: + section-removed)
    rename        a section's title changed (every 記載箇所 cell that names it, and toc.tsv)
                                                                     → section-renamed
    move          a requirement moved to another section of its volume, after the last one there;
                  the later ones of its old section go one down      → moved + renumbered
    note          a 備考 changed, or added, beside one requirement (in every row where it stands
                  alone in its cell with that 備考)                   → note-changed
    correlate     a new correlation: a new row linking two requirements of two volumes, or a
                  requirement put into a row of another volume's requirements
                                                                     → correlation-added
    uncorrelate   one volume's cell taken out of a row whose requirements all stay elsewhere
                                                                     → correlation-removed
    new-section   a new section with one requirement                 → section-added + added

``pair(seed=n)`` draws 3–8 edits; ``pair(acceptance=True)`` is a fixed pair with every kind (``ACCEPTANCE``).
No requirement is the target of two edits, and no edit touches what the truth leaves unclear: IDs the
truth gives two texts (``truth_clashes``: システム運用編 8 の ③、経営管理編 1.2 の小見出しごとの ①②;
and the readings the truth keeps of ctrl-8-4 and ctrl-18-1), a cell that prints one text twice
(システム運用編 6 の ①②), and the sections that hold them, stay as they are in both editions.

Expected changes (``Pair.changes``, ``expected.json``) are a list of dicts
``{"kind", "old_id", "new_id", "detail"}``:

    changed              old_id == new_id, detail {"old", "new"} (texts)
    added                old_id None, detail {"text"}
    removed              new_id None, detail {"text"}
    renumbered           old_id → new_id in the same section, same text, detail {"text"}
    moved                old_id → new_id in another section of the volume, same text, detail {"text", "from", "to"}
    section-renamed      old_id == new_id == "ctrl-13" (volume-section), detail {"old", "new"} (titles)
    section-added        old_id None, new_id "ctrl-19", detail {"title"}
    section-removed      old_id "gov-5.3", new_id None, detail {"title"}
    note-changed         old_id → new_id of the requirement the 備考 stands beside (equal: the scripts
                         change no 備考 of a renumbered requirement), detail {"old", "new"}: all the 備考
                         beside it, sorted, as the table prints them (lines joined by "\n"), "correlated":
                         whether the requirement stands in a row with another volume (in either edition)
    correlation-added    old_id "a+b" (the pair in OLD's IDs), new_id "a+b" (in NEW's IDs): a pair of two
                         volumes in volume order, both in both editions; detail {"pair": [a, b]} (NEW's IDs)
    correlation-removed  likewise

Every detail also says which edit made the change (``"edit"``). Every requirement no change of a
requirement (changed, added, removed, renumbered, moved) names is unchanged: same ID, same text
(``Pair.unchanged``, ``expected.json``'s ``"unchanged"``); its 備考 and correlations may have changed,
and then a note-changed or correlation-* change says so. Correlations are pairs of requirements of two
volumes that stand in one row; a correlation of requirements that were renumbered or moved is the same
correlation under their new IDs (not removed and added), and likewise their 備考. A 備考 belongs to the
requirements of its volume in its row (the truth's reading of the table). No edit gives a correlation
to an added requirement or takes one from a removed one (so none is listed for them).

The expected list is computed from the two editions themselves, by the identity of each requirement
that the generator keeps, and checked against what each edit meant to do; nothing of ``pipeline`` is
imported (a generator that used the code under test would pass by construction).

    python -m tests.editions DIR [--seed N | --acceptance] [--pdf | --both] [--old 6.0] [--new 6.1]

writes ``DIR/raw/<old>/``, ``DIR/raw/<new>/`` (``manifest.toml``, ``toc.tsv``, the table as OCR-text TSV
and/or a PDF drawn by ``tests.corpus.render``) and ``DIR/expected.json``.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import html
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import CIRCLED, VOLUMES, _cell_numbers, load_truth, truth_cells, truth_texts

VOLUME_NAMES = {"gov": "経営管理編", "mgmt": "企画管理編", "ctrl": "システム運用編"}
HEADER = ("経営管理編", "", "企画管理編", "", "", "システム運用編", "", "")
LABELS = ("記載箇所", "遵守事項", "記載箇所", "遵守事項", "備考", "記載箇所", "遵守事項", "備考")
TEXT_FILE = "correlation-table-v{edition}.ocr.txt"
PDF_FILE = "correlation-table-v{edition}.pdf"
REQUIREMENT_KINDS = ("changed", "added", "removed", "renumbered", "moved")
KINDS = ("reword", "insert", "remove", "rename", "move", "note", "correlate", "uncorrelate", "new-section")
TITLE = "医療情報システムの安全管理に関するガイドライン 第{edition}版（試験用）"

# --- what the edits write -------------------------------------------------------------------------

# Rewordings as a revision would make them: (what the text holds, what it becomes). Applied to the
# first occurrence; an item that holds none of them gets a sentence added (ADDED_SENTENCES).
REWORDINGS = (
    ("定期的に", "少なくとも年1回"),
    ("医療機関等", "医療機関・薬局等"),
    ("確認すること", "点検し、その結果を記録すること"),
    ("整備すること", "策定し、見直すこと"),
    ("講じること", "講ずること"),
    ("経営層", "経営層及び企画管理者"),
    ("委託先事業者", "委託先の事業者"),
    ("必要な", "適切な"),
    ("システム関連事業者", "医療情報システム・サービス事業者"),
    ("リスク", "情報セキュリティリスク"),
    ("手順", "手順書"),
    ("文書化し", "文書化して保存し"),
)
ADDED_SENTENCES = (
    "また、その実施状況を記録すること。",
    "また、その結果を企画管理者に報告すること。",
    "なお、対応の内容は定期的に見直すこと。",
    "また、必要に応じて外部の専門家の助言を得ること。",
)
# New requirements (insert, new-section): sentences the sample does not hold.
NEW_TEXTS = (
    "医療情報システムの利用状況を定期的に点検し、その結果を企画管理者に報告すること。",
    "クラウドサービスを利用する場合、サービスの提供地域及び準拠法を確認すること。",
    "退職者や異動者の利用者アカウントを速やかに無効化し、その記録を保存すること。",
    "ソフトウェアの脆弱性情報を収集し、必要な修正プログラムを適時に適用すること。",
    "サイバー攻撃を想定した訓練を年1回以上実施し、その結果を踏まえて手順を見直すこと。",
    "外部記録媒体の持込み及び持出しについて手順を定め、その記録を管理すること。",
    "バックアップからの復旧手順を定期的に試験し、復旧に要する時間を把握すること。",
    "医療情報システムの構成を記した台帳を作成し、変更の都度更新すること。",
    "委託先事業者が再委託を行う場合、再委託先の安全管理の状況を把握すること。",
    "アクセスログの保存期間を定め、改ざんを防止する措置を講ずること。",
    "ネットワーク機器の設定を変更した場合、その内容と承認の記録を保存すること。",
    "医療機器のサイバーセキュリティについて、製造販売業者から必要な情報を入手すること。",
)
# New section titles (new-section), per volume: (section, title).
NEW_SECTIONS = {
    "gov": (("5.4", "医療機器のサイバーセキュリティに関する責任"), ("3.2", "情報セキュリティ対策の監査")),
    "mgmt": (("16", "医療機器のサイバーセキュリティ"), ("17", "情報セキュリティ監査")),
    "ctrl": (("19", "医療機器に関する安全管理措置"), ("20", "クラウドサービスの利用に関する安全管理措置")),
}
# Section renamings: (what the title holds, what it becomes); a title holding none gets 「等」 at its end.
RETITLINGS = (
    ("安全管理措置", "安全管理対策"),
    ("責任", "責務"),
    ("管理", "マネジメント"),
    ("対策", "対応"),
    ("システム", "情報システム"),
)
# 備考 as the table writes them (a 5.2 reference, then a remark).
NEW_NOTES = (
    "6.1版で新設",
    "5.2版6.5C3の趣旨を踏まえて新設",
    "6.9C2\n第6.1版で記載を見直し",
    "5.2版6.12B(1)の趣旨を加味",
)


# --- an edition: rows of parts, each part a section and the requirements in it ---------------------

@dataclass
class Req:
    """One requirement of an edition. ``key`` is its identity across the two editions."""

    key: str
    volume: str
    section: str
    number: int
    text: str
    frozen: bool = False  # one of the truth's unclear items: printed as the truth prints it, never edited


@dataclass
class Part:
    """One volume's cells in one row: 記載箇所 (section as printed, title), 遵守事項 (requirement keys), 備考."""

    token: str  # the section as printed: 「1.3.2」「7.」
    title: str
    keys: list[str]
    note: str = ""
    extra: dict = field(default_factory=dict)  # the truth's other fields (subheading)

    @property
    def section(self) -> str:
        return self.token.rstrip(".")


@dataclass
class Edition:
    name: str
    rows: list[dict[str, Part]]  # volume → part
    reqs: dict[str, Req]
    origin: list[int | None]  # the truth row each row comes from (None: a row an edit made)
    published: str = "2023-05"

    @property
    def title(self) -> str:
        return TITLE.format(edition=self.name)

    def req_id(self, key: str) -> str:
        r = self.reqs[key]
        return f"{r.volume}-{r.section}-{r.number}"

    def truth_rows(self) -> list[dict]:
        """The rows in the truth's form (places, items with their circled numbers, note)."""
        out = []
        for origin, row in zip(self.origin, self.rows):
            entry: dict = {} if origin is None else {"truth_row": origin}
            for volume in VOLUMES:
                if volume not in row:
                    continue
                part = row[volume]
                items = [f"{CIRCLED[self.reqs[k].number - 1]} {self.reqs[k].text}" for k in part.keys]
                entry[volume] = {"places": [f"{part.token} {part.title}"], "items": items,
                                 **({"note": part.note} if part.note else {}), **part.extra}
            out.append(entry)
        return out

    def table(self) -> list[list[str]]:
        """The 8 cells of each row (``tests.corpus.truth_cells``)."""
        return [truth_cells(row) for row in self.truth_rows()]

    def toc(self) -> list[tuple[str, str, str]]:
        """(volume, section, title) of every section a row names (with the first title printed), by volume and section number."""
        seen: dict[tuple[str, str], str] = {}
        for row in self.rows:
            for volume, part in row.items():
                seen.setdefault((volume, part.section), part.title)
        return sorted(((v, s, t) for (v, s), t in seen.items()), key=lambda e: (VOLUMES.index(e[0]), _section_key(e[1])))

    def requirements(self) -> dict[str, list[str]]:
        """ID → texts, as ``tests.corpus.truth_texts`` reads the rows (two texts where the truth has a clash)."""
        return truth_texts({"rows": self.truth_rows()})

    def sections(self, volume: str) -> dict[str, list[str]]:
        """section → the keys of its requirements (editable ones by number)."""
        out: dict[str, list[str]] = {}
        for key, r in self.reqs.items():
            if r.volume == volume:
                out.setdefault(r.section, []).append(key)
        for keys in out.values():
            keys.sort(key=lambda k: self.reqs[k].number)
        return out

    def notes(self) -> dict[str, set[str]]:
        """key → the 備考 texts beside it (every row where it stands)."""
        out: dict[str, set[str]] = {k: set() for k in self.reqs}
        for row in self.rows:
            for part in row.values():
                if part.note:
                    for key in part.keys:
                        out[key].add(part.note)
        return out

    def pairs(self) -> set[frozenset[str]]:
        """Correlations: pairs of keys of two volumes standing in one row."""
        out = set()
        for row in self.rows:
            parts = [(v, k) for v, part in row.items() for k in part.keys]
            for v1, k1 in parts:
                for v2, k2 in parts:
                    if VOLUMES.index(v1) < VOLUMES.index(v2):
                        out.add(frozenset((k1, k2)))
        return out


def _section_key(section: str) -> tuple[int, ...]:
    return tuple(int(n) for n in section.split("."))


def from_truth(truth: dict, name: str = "6.0") -> Edition:
    """The truth's rows as an edition. A requirement the truth prints with one number and one text in
    every row, in a section where every requirement is so, is editable (its key is its ID); every other
    item is frozen, one requirement per printed item."""
    rows_in = truth["rows"]
    texts = truth_texts(truth)
    printed: dict[str, set[tuple[int, str]]] = {}  # ID → (printed number, text) over all occurrences
    cells: list[dict[str, list[tuple[str, int, str]]]] = []
    for row in rows_in:
        cell = {}
        for volume in VOLUMES:
            if volume in row and row[volume].get("items"):
                section = row[volume]["places"][0].split()[0].rstrip(".")
                numbers = _cell_numbers(row[volume]["items"])
                cell[volume] = []
                for item, number in zip(row[volume]["items"], numbers):
                    req_id = f"{volume}-{section}-{number}"
                    shown = CIRCLED.index(item[0]) + 1
                    printed.setdefault(req_id, set()).add((shown, item[1:].strip()))
                    cell[volume].append((req_id, shown, item[1:].strip()))
        cells.append(cell)
    clean_ids = {i for i, seen in printed.items() if len(seen) == 1 and len(texts[i]) == 1 and next(iter(seen))[0] == int(i.split("-")[2])}
    unclear_sections = {i.rsplit("-", 1)[0] for i in printed if i not in clean_ids}
    editable = {i for i in clean_ids if i.rsplit("-", 1)[0] not in unclear_sections}
    reqs: dict[str, Req] = {}
    rows: list[dict[str, Part]] = []
    for r, (row, cell) in enumerate(zip(rows_in, cells)):
        parts = {}
        for volume, entries in cell.items():
            place = row[volume]["places"][0]
            token, _, title = place.partition(" ")
            keys = []
            for p, (req_id, shown, text) in enumerate(entries):
                if req_id in editable:
                    key = req_id
                    reqs.setdefault(key, Req(key, volume, token.rstrip("."), shown, text))
                else:
                    key = f"frozen:{r}:{volume}:{p}"
                    reqs[key] = Req(key, volume, token.rstrip("."), shown, text, frozen=True)
                keys.append(key)
            extra = {k: v for k, v in row[volume].items() if k not in ("places", "items", "note")}
            parts[volume] = Part(token, title.strip(), keys, row[volume].get("note", ""), extra)
        rows.append(parts)
    return Edition(name, rows, reqs, list(range(len(rows_in))))


# --- the edits --------------------------------------------------------------------------------------

class NoTarget(Exception):
    """The edition holds no requirement (or section) an edit of this kind may take."""


@dataclass
class Script:
    """The edits made to NEW, and what each one meant (checked against the changes found)."""

    edits: list[dict] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # requirement keys an edit changed or renumbered
    sections: set[tuple[str, str]] = field(default_factory=set)  # sections an edit renumbered, renamed or made
    new_count: int = 0


class Editor:
    """Edits NEW (a copy of OLD) in place; every edit refuses targets an earlier edit touched."""

    def __init__(self, old: Edition, new_name: str, rng: random.Random):
        self.old = old
        self.new = Edition(new_name, copy.deepcopy(old.rows), copy.deepcopy(old.reqs), list(old.origin), published="2024-03")
        self.rng = rng
        self.script = Script()

    # candidates

    def free(self, key: str) -> bool:
        r = self.new.reqs[key]
        return not r.frozen and key not in self.script.touched and (r.volume, r.section) not in self.script.sections

    def free_section(self, volume: str, section: str) -> bool:
        keys = self.new.sections(volume).get(section, [])
        return bool(keys) and (volume, section) not in self.script.sections and all(self.free(k) for k in keys)

    def occurrences(self, key: str) -> list[tuple[int, str]]:
        return [(r, v) for r, row in enumerate(self.new.rows) for v, part in row.items() if key in part.keys]

    def correlated(self, key: str) -> bool:
        return any(len(self.new.rows[r]) > 1 for r, _ in self.occurrences(key))

    def sole(self, key: str) -> bool:
        return all(self.new.rows[r][v].keys == [key] for r, v in self.occurrences(key))

    def _pick(self, items, what: str):
        items = sorted(items)
        if not items:
            raise NoTarget(what)
        return self.rng.choice(items)

    # the edits

    def reword(self, key: str | None = None) -> None:
        key = key or self._pick([k for k in self.new.reqs if self.free(k)], "reword")
        req = self.new.reqs[key]
        applicable = [(a, b) for a, b in REWORDINGS if a in req.text and b not in req.text]
        if applicable and self.rng.random() < 0.7:
            a, b = self.rng.choice(applicable)
            new_text = req.text.replace(a, b, 1)
        else:
            new_text = req.text + self.rng.choice(ADDED_SENTENCES)
        self._record("reword", f"reword {self.old.req_id(key)}", changed=[key], old=req.text, new=new_text)
        req.text = new_text
        self.script.touched.add(key)

    def insert(self, volume: str | None = None, section: str | None = None, at: int | None = None) -> None:
        if volume is None:
            choices = [(v, s) for v in VOLUMES for s in self.new.sections(v) if self.free_section(v, s)
                       and max(self.new.reqs[k].number for k in self.new.sections(v)[s]) < len(CIRCLED)]
            volume, section = self._pick(choices, "insert")
        keys = self.new.sections(volume)[section]
        numbers = [self.new.reqs[k].number for k in keys]
        if at is None:  # at an existing number mostly (the later ones move up), at the end sometimes
            at = self.rng.choice(numbers + [max(numbers) + 1])
        text = self._new_text(volume, section)
        key = self._new_key()
        later = [k for k in keys if self.new.reqs[k].number >= at]
        label = f"insert {volume}-{section}-{at}"
        for k in sorted(later, key=lambda k: -self.new.reqs[k].number):
            self.new.reqs[k].number += 1
        self.new.reqs[key] = Req(key, volume, section, at, text)
        token, title = self._place(volume, section)
        # its own row, after the last row of the section that holds a requirement numbered before it
        rows = [r for r, row in enumerate(self.new.rows) if volume in row and row[volume].section == section]
        before = [r for r in rows if any(not self.new.reqs[k].frozen and self.new.reqs[k].number < at for k in self.new.rows[r][volume].keys)]
        where = (max(before) + 1) if before else min(rows)
        self.new.rows.insert(where, {volume: Part(token, title, [key])})
        self.new.origin.insert(where, None)
        self._record("insert", label, added=[key], renumbered=later)
        self.script.touched |= {key, *later}
        self.script.sections.add((volume, section))

    def remove(self, key: str | None = None) -> None:
        if key is None:
            key = self._pick([k for k in self.new.reqs if self.free(k) and self._removable(k)], "remove")
        req = self.new.reqs[key]
        section_keys = self.new.sections(req.volume)[req.section]
        later = [k for k in section_keys if self.new.reqs[k].number > req.number]
        self._drop(key)
        for k in sorted(later, key=lambda k: self.new.reqs[k].number):
            self.new.reqs[k].number -= 1
        gone = [(req.volume, req.section)] if len(section_keys) == 1 else []
        self._record("remove", f"remove {self.old.req_id(key)}", removed=[key], renumbered=later, sections_removed=gone)
        self.script.touched |= {key, *later}
        self.script.sections.add((req.volume, req.section))

    def _removable(self, key: str) -> bool:
        """Not in a correlation (its correlations would go too), and its cells either hold it alone or have
        no 備考 (a 備考 beside several requirements stays with the others)."""
        req = self.new.reqs[key]
        if self.correlated(key) or not self.free_section(req.volume, req.section):
            return False
        return all(self.new.rows[r][v].keys == [key] or not self.new.rows[r][v].note for r, v in self.occurrences(key))

    def _drop(self, key: str) -> None:
        rows, origin = [], []
        for row, o in zip(self.new.rows, self.new.origin):
            for volume in list(row):
                if key in row[volume].keys:
                    row[volume].keys.remove(key)
                    if not row[volume].keys:
                        del row[volume]
            if row:
                rows.append(row)
                origin.append(o)
        self.new.rows, self.new.origin = rows, origin
        del self.new.reqs[key]

    def rename(self, volume: str | None = None, section: str | None = None, title: str | None = None) -> None:
        if volume is None:
            choices = [(v, s) for v, s, _ in self.new.toc() if (v, s) not in self.script.sections]
            volume, section = self._pick(choices, "rename")
        old_title = dict(((v, s), t) for v, s, t in self.new.toc())[(volume, section)]
        if title is None:
            applicable = [(a, b) for a, b in RETITLINGS if a in old_title and b not in old_title]
            a, b = self.rng.choice(applicable) if applicable else (None, None)
            title = old_title.replace(a, b, 1) if a else old_title + "等"
        for row in self.new.rows:
            if volume in row and row[volume].section == section:
                row[volume].title = title
        self._record("rename", f"rename {volume}-{section}", renamed=[(volume, section, old_title, title)])
        self.script.sections.add((volume, section))

    def move(self, key: str | None = None, to: str | None = None) -> None:
        if key is None:
            choices = [(k, s) for k in self.new.reqs if self.free(k) and self.sole(k)
                       and len(self.new.sections(self.new.reqs[k].volume)[self.new.reqs[k].section]) >= 2
                       and self.free_section(self.new.reqs[k].volume, self.new.reqs[k].section)
                       for s in self.new.sections(self.new.reqs[k].volume)
                       if s != self.new.reqs[k].section and self.free_section(self.new.reqs[k].volume, s)
                       and not self._alike(k, self.new.sections(self.new.reqs[k].volume)[s])
                       and max(self.new.reqs[x].number for x in self.new.sections(self.new.reqs[k].volume)[s]) < len(CIRCLED)]
            key, to = self._pick(choices, "move")
        req = self.new.reqs[key]
        source = req.section
        old_id = self.new.req_id(key)
        later = [k for k in self.new.sections(req.volume)[source] if self.new.reqs[k].number > req.number]
        target_max = max(self.new.reqs[k].number for k in self.new.sections(req.volume)[to])
        for k in later:
            self.new.reqs[k].number -= 1
        req.section, req.number = to, target_max + 1
        token, title = self._place(req.volume, to)
        for r, v in self.occurrences(key):
            self.new.rows[r][v].token, self.new.rows[r][v].title = token, title
        self._record("move", f"move {old_id} to {req.volume}-{to}", moved=[key], renumbered=later)
        self.script.touched |= {key, *later}
        self.script.sections |= {(req.volume, source), (req.volume, to)}

    def _alike(self, key: str, others: list[str]) -> bool:
        """Whether the text of ``key`` is close to one of ``others`` (a reader may take them for one text read twice)."""
        text = self.new.reqs[key].text
        return any(difflib.SequenceMatcher(None, text, self.new.reqs[o].text).ratio() >= 0.6 for o in others)

    def note(self, key: str | None = None, text: str | None = None) -> None:
        """The 備考 beside one requirement changed (or added): in every row where the requirement stands
        alone in a cell of 企画管理編 or システム運用編 with the same 備考 as the first such row."""
        if key is None:
            key = self._pick({k for row in self.new.rows for v, part in row.items()
                              if v != "gov" and len(part.keys) == 1 and self.free(k := part.keys[0])}, "note")
        parts = [self.new.rows[r][v] for r, v in self.occurrences(key) if v != "gov" and self.new.rows[r][v].keys == [key]]
        if not parts:
            raise NoTarget(f"note: {key} stands alone in no cell that has a 備考 column")
        before = parts[0].note
        if text is None:
            if before:
                lines = before.split("\n")
                lines[-1] = lines[-1] + "（第6.1版で記載を見直し）" if lines[-1] not in ("", "-") else "第6.1版で記載を見直し"
                text = "\n".join(lines)
            else:
                text = self.rng.choice(NEW_NOTES)
        for part in parts:
            if part.note == before:
                part.note = text
        self._record("note", f"note beside {self.old.req_id(key)}", noted=[(key, before, text)])
        self.script.touched.add(key)

    def correlate(self, a: str | None = None, b: str | None = None, into: str | None = None, row: int | None = None) -> None:
        """A new row linking ``a`` and ``b`` (two volumes); or ``a`` put into the first row holding ``into``
        (a row with no cell of ``a``'s volume and no 備考)."""
        pairs = self.new.pairs()
        if a is None:
            keys = sorted(k for k in self.new.reqs if self.free(k))
            if self.rng.random() < 0.5:
                choices = [(x, y) for x in keys for y in keys if VOLUMES.index(self.new.reqs[x].volume) < VOLUMES.index(self.new.reqs[y].volume)
                           and frozenset((x, y)) not in pairs]
                a, b = self._pick(choices, "correlate")
            else:
                choices = [(x, r) for r, parts in enumerate(self.new.rows) if not any(p.note for p in parts.values())
                           and all(k in keys for p in parts.values() for k in p.keys)
                           for x in keys if self.new.reqs[x].volume not in parts]
                a, row = self._pick(choices, "correlate")
        req = self.new.reqs[a]
        token, title = self._place(req.volume, req.section)
        if into is None and row is None:
            other = self.new.reqs[b]
            o_token, o_title = self._place(other.volume, other.section)
            where = max(r for r, _ in self.occurrences(a)) + 1
            self.new.rows.insert(where, {v: p for v, p in sorted({req.volume: Part(token, title, [a]), other.volume: Part(o_token, o_title, [b])}.items(),
                                                                 key=lambda e: VOLUMES.index(e[0]))})
            self.new.origin.insert(where, None)
            linked = [b]
            label = f"correlate {self.old.req_id(a)} with {self.old.req_id(b)} (a new row)"
        else:
            if row is None:
                row = next(r for r, parts in enumerate(self.new.rows) if any(into in p.keys for p in parts.values())
                           and req.volume not in parts and not any(p.note for p in parts.values()))
            linked = [k for p in self.new.rows[row].values() for k in p.keys]
            self.new.rows[row][req.volume] = Part(token, title, [a])
            self.new.rows[row] = {v: self.new.rows[row][v] for v in VOLUMES if v in self.new.rows[row]}
            label = f"correlate {self.old.req_id(a)} into the row of {', '.join(self.old.req_id(k) for k in linked)}"
        added = [frozenset((a, k)) for k in linked if frozenset((a, k)) not in pairs]
        if not added:
            raise NoTarget("correlate: already linked")
        self._record("correlate", label, correlations_added=added)
        self.script.touched |= {a, *linked}

    def uncorrelate(self, key: str | None = None, other: str | None = None, row: int | None = None) -> None:
        """``key``'s cell taken out of a row where it stands with ``other`` (another volume), where every
        requirement of that cell stands in another row too and the row has no 備考: nothing but
        correlations is lost."""
        if key is None:
            choices = [(parts[v].keys[0], r) for r, parts in enumerate(self.new.rows) if len(parts) >= 2
                       and all(self.free(k) for p in parts.values() for k in p.keys)
                       for v in parts if self._uncorrelatable(r, v)]
            key, row = self._pick(choices, "uncorrelate")
        volume = self.new.reqs[key].volume
        if row is None:
            row = next(r for r, parts in enumerate(self.new.rows) if volume in parts and key in parts[volume].keys
                       and any(other in p.keys for p in parts.values()))
        if not self._uncorrelatable(row, volume):
            raise NoTarget(f"uncorrelate: {key} cannot leave row {row}")
        before = self.new.pairs()
        part = self.new.rows[row].pop(volume)
        lost = sorted(before - self.new.pairs(), key=sorted)
        if not lost:
            self.new.rows[row][volume] = part
            raise NoTarget("uncorrelate: the row's correlations stand elsewhere too")
        keys = [k for p in self.new.rows[row].values() for k in p.keys] + part.keys
        self._record("uncorrelate", f"uncorrelate {', '.join(self.old.req_id(k) for k in part.keys)} from a row with "
                     f"{', '.join(self.old.req_id(k) for p in self.new.rows[row].values() for k in p.keys)}", correlations_removed=lost)
        self.script.touched |= set(keys)

    def _uncorrelatable(self, row: int, volume: str) -> bool:
        parts = self.new.rows[row]
        keys = [k for p in parts.values() for k in p.keys]
        if len(parts) < 2 or any(self.new.reqs[k].frozen for k in keys) or any(p.note for p in parts.values()):
            return False
        return all(len(self.occurrences(k)) >= 2 for k in parts[volume].keys)

    def new_section(self, volume: str | None = None) -> None:
        volume = volume or self.rng.choice(VOLUMES)
        existing = {s for v, s, _ in self.new.toc() if v == volume}
        section, title = next(((s, t) for s, t in NEW_SECTIONS[volume] if s not in existing), (None, None))
        if section is None:
            raise NoTarget("new-section")
        key = self._new_key()
        self.new.reqs[key] = Req(key, volume, section, 1, self._new_text(volume, section))
        token = section if volume == "gov" else f"{section}."
        rows = [r for r, parts in enumerate(self.new.rows) if volume in parts and _section_key(parts[volume].section) < _section_key(section)]
        where = max(rows) + 1 if rows else len(self.new.rows)
        self.new.rows.insert(where, {volume: Part(token, title, [key])})
        self.new.origin.insert(where, None)
        self._record("new-section", f"new section {volume}-{section}", added=[key], sections_added=[(volume, section, title)])
        self.script.touched.add(key)
        self.script.sections.add((volume, section))

    # helpers

    def _place(self, volume: str, section: str) -> tuple[str, str]:
        for row in self.new.rows:
            if volume in row and row[volume].section == section:
                return row[volume].token, row[volume].title
        raise KeyError((volume, section))

    def _new_key(self) -> str:
        self.script.new_count += 1
        return f"new:{self.script.new_count}"

    def _new_text(self, volume: str, section: str) -> str:
        used = {r.text for r in self.new.reqs.values()}
        fresh = [t for t in NEW_TEXTS if t not in used
                 and all(difflib.SequenceMatcher(None, t, u).ratio() < 0.6 for u in used)]
        if not fresh:
            raise NoTarget("no new text left")
        return self.rng.choice(fresh)

    def _record(self, kind: str, label: str, **meant) -> None:
        self.script.edits.append({"kind": kind, "label": label, **meant})


# --- the pair and its expected changes -----------------------------------------------------------

@dataclass
class Pair:
    old: Edition
    new: Edition
    changes: list[dict]
    edits: list[str]  # the edit script, one line each
    seed: int | None
    acceptance: bool

    @property
    def unchanged(self) -> list[str]:
        """The IDs of OLD that are the same requirement under the same ID in NEW with the same text: every
        ID no change of a requirement (changed, added, removed, renumbered, moved) names. Its 備考 and
        correlations may still have changed (note-changed, correlation-added, correlation-removed)."""
        named = {i for c in self.changes if c["kind"] in REQUIREMENT_KINDS for i in (c["old_id"], c["new_id"]) if i}
        return sorted(set(self.old.requirements()) - named, key=_id_key)

    def expected(self) -> dict:
        return {"old": self.old.name, "new": self.new.name, "seed": self.seed, "acceptance": self.acceptance,
                "edits": self.edits, "changes": self.changes, "unchanged": self.unchanged}


def _id_key(req_id: str) -> tuple:
    volume, section, *item = req_id.split("-")
    return (VOLUMES.index(volume), _section_key(section), *(int(i) for i in item))


# The acceptance pair: every kind at least once, each on its own requirements (IDs as OLD has them).
ACCEPTANCE = (
    ("reword", {"key": "ctrl-13-4"}),  # a requirement alone in its rows
    ("reword", {"key": "mgmt-13-6"}),  # one in a correlation (with ctrl-14-1)
    ("insert", {"volume": "ctrl", "section": "10", "at": 5}),  # ctrl-10-5…8 → 6…9 (ctrl-10-5 stands in two rows)
    ("remove", {"key": "ctrl-12-4"}),  # ctrl-12-5 → 4
    ("remove", {"key": "gov-5.2.2-1"}),  # the only one of gov-5.2.2: the section goes too
    ("rename", {"volume": "gov", "section": "2.2.3", "title": "リスク分析を踏まえた要求仕様適合性の確認"}),
    ("rename", {"volume": "ctrl", "section": "14", "title": "認証・認可に関する安全管理対策"}),
    ("move", {"key": "mgmt-6-6", "to": "11"}),  # → mgmt-11-3; mgmt-6-8…10 (with 備考 and correlations) → 7…9
    ("move", {"key": "ctrl-9-6", "to": "7"}),  # → ctrl-7-4 (it stands in two rows); ctrl-9-10 → 9
    ("note", {"key": "mgmt-1-12"}),  # a 備考 changed (in the four rows where it stands)
    ("note", {"key": "mgmt-14-1", "text": "5.2版6.5C3の趣旨を踏まえて新設"}),  # a 備考 added
    ("correlate", {"a": "gov-1.1-2", "b": "mgmt-15-3"}),  # a new row
    ("correlate", {"a": "ctrl-13-1", "into": "gov-5.3-1"}),  # into gov-5.3-1's row
    ("uncorrelate", {"key": "ctrl-14-1", "other": "mgmt-13-4"}),  # mgmt-13-4 stays, alone in its row
    ("new-section", {"volume": "ctrl"}),  # ctrl-19 with one requirement
)


def pair(seed: int = 0, *, acceptance: bool = False, old: str = "6.0", new: str = "6.1", truth: dict | None = None) -> Pair:
    """An OLD/NEW pair: OLD is the truth; NEW is OLD after ``ACCEPTANCE`` (``acceptance=True``) or after
    3–8 edits drawn from ``seed``."""
    base = from_truth(truth or load_truth(), old)
    rng = random.Random(seed)
    editor = Editor(base, new, rng)
    if acceptance:
        for kind, args in ACCEPTANCE:
            getattr(editor, kind.replace("-", "_"))(**args)
    else:
        wanted = rng.randint(3, 8)
        tries = 0
        while len(editor.script.edits) < wanted and tries < 100:
            tries += 1
            kind = rng.choice(KINDS)
            try:
                getattr(editor, kind.replace("-", "_"))()
            except NoTarget:
                continue
    changes = _label(editor.script, expected_changes(base, editor.new))
    return Pair(base, editor.new, changes, [e["label"] for e in editor.script.edits], None if acceptance else seed, acceptance)


def expected_changes(old: Edition, new: Edition) -> list[dict]:
    """Every change between two editions, found by the requirements' identity (``Req.key``). Each change
    carries ``"_key"``: the key, pair of keys or (volume, section) it is about."""
    changes = []

    def change(key, kind, old_id, new_id, **detail):
        changes.append({"kind": kind, "old_id": old_id, "new_id": new_id, "detail": detail, "_key": key})

    for key in sorted(old.reqs.keys() | new.reqs.keys(), key=lambda k: _id_key(old.req_id(k) if k in old.reqs else new.req_id(k))):
        a, b = old.reqs.get(key), new.reqs.get(key)
        if a and b:
            old_id, new_id = old.req_id(key), new.req_id(key)
            if a.frozen:
                assert (old_id, a.text) == (new_id, b.text), f"a frozen item was edited: {key}"
                continue
            if a.section != b.section:
                assert a.text == b.text
                change(key, "moved", old_id, new_id, text=b.text, **{"from": f"{a.volume}-{a.section}", "to": f"{b.volume}-{b.section}"})
            elif old_id != new_id:
                assert a.text == b.text
                change(key, "renumbered", old_id, new_id, text=b.text)
            elif a.text != b.text:
                change(key, "changed", old_id, new_id, old=a.text, new=b.text)
        elif a:
            change(key, "removed", old.req_id(key), None, text=a.text)
        else:
            change(key, "added", None, new.req_id(key), text=b.text)
    old_toc = {(v, s): t for v, s, t in old.toc()}
    new_toc = {(v, s): t for v, s, t in new.toc()}
    for v, s in sorted(old_toc.keys() | new_toc.keys(), key=lambda k: (VOLUMES.index(k[0]), _section_key(k[1]))):
        if (v, s) in old_toc and (v, s) in new_toc and old_toc[(v, s)] != new_toc[(v, s)]:
            change((v, s), "section-renamed", f"{v}-{s}", f"{v}-{s}", old=old_toc[(v, s)], new=new_toc[(v, s)])
        elif (v, s) not in new_toc:
            change((v, s), "section-removed", f"{v}-{s}", None, title=old_toc[(v, s)])
        elif (v, s) not in old_toc:
            change((v, s), "section-added", None, f"{v}-{s}", title=new_toc[(v, s)])
    old_notes, new_notes = old.notes(), new.notes()
    for key in sorted(old.reqs.keys() & new.reqs.keys(), key=lambda k: _id_key(new.req_id(k))):
        if old_notes[key] != new_notes[key]:
            correlated = any(len(row) > 1 and any(key in part.keys for part in row.values()) for e in (old, new) for row in e.rows)
            change(key, "note-changed", old.req_id(key), new.req_id(key), old=sorted(old_notes[key]), new=sorted(new_notes[key]),
                   correlated=correlated)
    old_pairs, new_pairs = old.pairs(), new.pairs()

    def ids(edition: Edition, keys) -> list[str]:
        return sorted((edition.req_id(k) for k in keys), key=_id_key)

    for kind, these, others, edition in (("correlation-added", new_pairs, old_pairs, new), ("correlation-removed", old_pairs, new_pairs, old)):
        for p in sorted(these - others, key=lambda p: [_id_key(i) for i in ids(edition, p)]):
            if not all(k in old.reqs and k in new.reqs for k in p):  # a removed (added) requirement takes its correlations with it
                continue
            change(p, kind, "+".join(ids(old, p)), "+".join(ids(new, p)), pair=ids(new, p))
    return changes


_MEANT = {"changed": "changed", "added": "added", "removed": "removed", "renumbered": "renumbered", "moved": "moved",
          "renamed": "section-renamed", "sections_added": "section-added", "sections_removed": "section-removed",
          "noted": "note-changed", "correlations_added": "correlation-added", "correlations_removed": "correlation-removed"}


def _label(script: Script, changes: list[dict]) -> list[dict]:
    """The changes found, each with the edit that meant it (``detail["edit"]``); fail if the changes
    found are not exactly the ones the edits meant."""
    meant: dict[tuple, str] = {}
    for edit in script.edits:
        for field_name, kind in _MEANT.items():
            for target in edit.get(field_name, ()):
                if field_name == "renamed" or field_name.startswith("sections"):
                    target = (target[0], target[1])
                elif field_name == "noted":
                    target = target[0]
                assert (kind, target) not in meant, f"two edits on one thing: {kind} {target}"
                meant[(kind, target)] = edit["label"]
    found = {(c["kind"], c["_key"]) for c in changes}
    assert found == set(meant), f"edits and changes differ: only found {found - set(meant)}, only meant {set(meant) - found}"
    out = []
    for c in changes:
        key = c.pop("_key")
        c["detail"]["edit"] = meant[(c["kind"], key)]
        out.append(c)
    return out


# --- writing a raw/ folder ---------------------------------------------------------------------------

def ocr_text(edition: Edition) -> str:
    """The table as an OCR-text dump: a title, the two header rows, then one line per row of 8
    tab-separated cells; a cell of more than one line is written as ``<p>…</p>`` per line."""
    lines = ["各編間相関表", "", "\t".join(HEADER), "\t".join(LABELS)]
    for cells in edition.table():
        lines.append("\t".join(_tsv_cell(c) for c in cells))
    return "\n".join(lines) + "\n"


def _tsv_cell(text: str) -> str:
    parts = [p for p in text.split("\n") if p.strip()]
    if len(parts) <= 1 and "<" not in text and "&" not in text:
        return parts[0] if parts else ""
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in parts)


def toc_tsv(edition: Edition) -> str:
    lines = [f"# 各編の目次（{edition.name}、試験用の版: tests/editions.py が相関表の記載箇所から作った）", "# volume\tsection\ttitle"]
    lines += ["\t".join(entry) for entry in edition.toc()]
    return "\n".join(lines) + "\n"


def manifest_toml(edition: Edition, sources: list[tuple[str, str]]) -> str:
    out = [f'edition = "{edition.name}"', f'title = "{edition.title}"', f'published = "{edition.published}"', ""]
    for file, kind in sources:
        out += ["[[sources]]", f'file = "{file}"', f'kind = "{kind}"', 'note = "tests/editions.py が正解から作った試験用の相関表"', ""]
    return "\n".join(out)


def write_edition(edition: Edition, folder: Path, *, sources: tuple[str, ...] = ("text",)) -> Path:
    """Write ``folder`` (``raw/<edition>/``): manifest.toml, toc.tsv and the table as OCR text
    (``"text"``) and/or a PDF (``"pdf"``, ``tests.corpus.render``, embedded TrueType, A3)."""
    folder.mkdir(parents=True, exist_ok=True)
    listed = []
    if "text" in sources:
        name = TEXT_FILE.format(edition=edition.name)
        (folder / name).write_text(ocr_text(edition), encoding="utf-8")
        listed.append((name, "ocr-text"))
    if "pdf" in sources:
        from .corpus import render

        name = PDF_FILE.format(edition=edition.name)
        render(edition.table(), folder / name)
        listed.append((name, "pdf"))
    (folder / "toc.tsv").write_text(toc_tsv(edition), encoding="utf-8")
    (folder / "manifest.toml").write_text(manifest_toml(edition, listed), encoding="utf-8")
    return folder


def write_pair(made: Pair, folder: Path, *, sources: tuple[str, ...] = ("text",)) -> Path:
    """Write ``folder/raw/<old>/``, ``folder/raw/<new>/`` and ``folder/expected.json``; return ``folder/raw``."""
    raw = folder / "raw"
    write_edition(made.old, raw / made.old.name, sources=sources)
    write_edition(made.new, raw / made.new.name, sources=sources)
    (folder / "expected.json").write_text(json.dumps(made.expected(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return raw


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.editions", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--acceptance", action="store_true", help="the fixed pair with every kind of change")
    parser.add_argument("--pdf", action="store_true", help="the table as a PDF instead of OCR text")
    parser.add_argument("--both", action="store_true", help="the table as OCR text and as a PDF")
    parser.add_argument("--old", default="6.0")
    parser.add_argument("--new", default="6.1")
    args = parser.parse_args(argv)
    sources = ("text", "pdf") if args.both else ("pdf",) if args.pdf else ("text",)
    made = pair(args.seed, acceptance=args.acceptance, old=args.old, new=args.new)
    raw = write_pair(made, args.folder, sources=sources)
    print(f"{raw / made.old.name}  {raw / made.new.name}  {args.folder / 'expected.json'}")
    for line in made.edits:
        print(f"  {line}")
    counts: dict[str, int] = {}
    for c in made.changes:
        counts[c["kind"]] = counts.get(c["kind"], 0) + 1
    print("  " + "、".join(f"{k} {n}" for k, n in counts.items()) + f"、unchanged {len(made.unchanged)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
