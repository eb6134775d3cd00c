"""The ``correct`` stage: OCR corrections, each one explained, some only proposed.

    structural  numbers (「2. 2. 1」→「2.2.1」, 「52版」→「5.2版」), list markers at a line start
                (「ー」「一」→「－」), spaces inside brackets, Kangxi radicals (⽬→目), a dropped 「こ」
                at a sentence end (「求めると。」→「求めること。」), brackets that don't balance
                (「…非常時用機能)」→「「…非常時用機能」」)
    grammar     doubled or dropped kana and particles where Sudachi says the sentence no longer parses
                and the repair does (「等にに」→「等に」, 「することもに」→「するとともに」, 「講じよう契約」→
                「講じるよう契約」)
    lexical     near-misses of the guideline's vocabulary (``data/lexicon.tsv``: 経理層→経営層,
                バターンファイル→パターンファイル, eberos→Kerberos), scored by how OCR confuses
                characters and whether Sudachi knows the text as it stands
    [link]
    consensus   the readings of one requirement in several rows (and other requirements' texts within
                the OCR noise): per disagreement the reading that parses, the vote only where both do
    numbering   item numbers out of order, gaps and duplicates within a section: reported only

Every step is a pure function ``text -> [Candidate]``. A candidate at or above ``APPLY_AT`` is
applied; below it, it is only reported. A maintainer's ``raw/<edition>/corrections.tsv`` accepts
or rejects a candidate, or adds a correction, on every run. ``raw_text`` is never touched.
"""

from __future__ import annotations

import bisect
import csv
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import ahocorasick
import numpy
from rapidfuzz import process
from rapidfuzz.distance import LCSseq, Levenshtein

from . import textfile
from .errors import ManifestError
from .limits import LIMITS, Limits
from .model import CIRCLED, Item, Requirement, TableRow, id_key
from .normalize import RADICALS, clean, repair_char, strip_item_number
from .place import NOISE, same_text

APPLY_AT = 0.8
LEXICON = Path(__file__).resolve().parent / "data" / "lexicon.tsv"
OVERRIDES = "corrections.tsv"  # in raw/<edition>/


@dataclass(frozen=True, order=True)
class Candidate:
    """A proposed change of ``text[start:end]`` to ``after``."""

    start: int
    end: int
    after: str
    step: str
    confidence: float
    evidence: str


@dataclass(frozen=True)
class Correction:
    """One line of ``corrections.tsv``: what was (or would be) changed where, by which step, and why."""

    id: str
    field: str  # "text", "variant:2", "note:1"
    position: int
    before: str
    after: str
    step: str
    confidence: float
    evidence: str
    status: str  # applied | proposed | accepted | rejected | added | reported

    COLUMNS = ("id", "field", "position", "before", "after", "step", "confidence", "evidence", "status")

    def row(self) -> list[str]:
        return [self.id, self.field, str(self.position), self.before, self.after, self.step, f"{self.confidence:.2f}", self.evidence, self.status]


@dataclass(frozen=True)
class Override:
    """A maintainer's decision: ``accept`` or ``reject`` a candidate (id, before, after), or ``add`` one."""

    action: str
    id: str
    before: str
    after: str
    note: str = ""
    line: int = 0


@dataclass
class Overrides:
    entries: list[Override] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    @functools.cached_property
    def _by_id(self) -> dict[str, list[tuple[int, Override]]]:
        """ID → the entries (numbered) about it: a lookup per text, not a scan of every override."""
        by_id: dict[str, list[tuple[int, Override]]] = {}
        for n, entry in enumerate(self.entries):
            by_id.setdefault(entry.id, []).append((n, entry))
        return by_id

    def _for(self, key: str) -> list[tuple[int, Override]]:
        return self._by_id.get(key, [])

    def decision(self, key: str, before: str, after: str) -> Override | None:
        for n, entry in self._for(key):
            if entry.action in ("accept", "reject") and entry.before == before and entry.after == after:
                self.used.add(n)
                return entry
        return None

    def additions(self, key: str) -> list[tuple[int, Override]]:
        return [(n, e) for n, e in self._for(key) if e.action == "add"]


# --- the lexicon -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lexicon:
    terms: tuple[str, ...]
    documents: tuple[str, ...] = ()

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.terms)

    @functools.cached_property
    def latin(self) -> frozenset[int]:
        """The Latin terms (three characters or more), by index in ``terms``: looked for in whole Latin words."""
        return frozenset(t for t, term in enumerate(self.terms) if len(term) >= 3 and term.isascii())

    @functools.cached_property
    def latin_terms(self) -> tuple[list[int], list[str], numpy.ndarray]:
        """The Latin terms' indexes in order, the terms, and their budgets: one ``cdist`` row per term."""
        order = sorted(self.latin)
        return order, [self.terms[t] for t in order], numpy.array([_budget(self.terms[t]) for t in order])

    @functools.cached_property
    def latin_lettered(self) -> bool:
        """Whether a word must have a letter to be a near-miss of a Latin term: every Latin term has fewer
        characters other than letters than a span within its budget shares with it (``len - budget``)."""
        return all(sum(not c.isalpha() for c in self.terms[t]) < len(self.terms[t]) - _budget(self.terms[t]) for t in self.latin)

    @functools.cached_property
    def replace_only(self) -> frozenset[int]:
        """The non-Latin terms, by index, with no Latin capital: for them an insertion or a deletion is
        never an edit OCR is known to make (``_known_edit``), only a confused pair replaced one for one."""
        return frozenset(t for t, term in enumerate(self.terms)
                         if not term.isascii() and not any(c.isascii() and c.isupper() for c in term))

    @functools.cached_property
    def self_shifts(self) -> dict[int, bool]:
        """Term (by index) → whether the term read right, shifted by 1 … its budget characters either way,
        could be read as the term within its budget by confused pairs alone: the characters where it
        overlaps itself differ in no more places than the budget, each a confused pair.

        >>> lexicon = load_lexicon()
        >>> lexicon.self_shifts[lexicon.terms.index("保守作業")]
        False
        """
        def shifts(term: str) -> bool:
            budget = _budget(term)
            for k in (*range(-budget, 0), *range(1, budget + 1)):
                left = budget  # differences it may still have; the first other than a confused pair ends the shift
                for moved, still in zip(term[k:], term) if k > 0 else zip(term, term[-k:]):
                    if moved != still:
                        left -= 1
                        if left < 0 or frozenset((moved, still)) not in CONFUSIONS:
                            break
                else:
                    return True
            return False

        return {t: shifts(term) for t, term in enumerate(self.terms)}

    @functools.cached_property
    def shapes(self) -> tuple[tuple[str, int, bool, frozenset[str]], ...]:
        """Per term (by index), looked up once per term and text: the term; its budget of edits; whether
        its near-misses can't overlap it read right (``replace_only`` and not ``self_shifts``); and for a
        ``replace_only`` term, the characters a near-miss of it can start with: its own first one or one
        OCR confuses with it (any other edit there is an unknown one at the edge), else nothing."""
        confused: dict[str, frozenset[str]] = {}  # a character → it and those OCR confuses it with
        for pair in CONFUSIONS:
            for c in pair:
                confused[c] = confused.get(c, frozenset(c)) | pair
        return tuple((term, _budget(term), t in self.replace_only and not self.self_shifts[t],
                      confused.get(term[0], frozenset(term[0])) if t in self.replace_only else frozenset())
                     for t, term in enumerate(self.terms))

    @functools.cached_property
    def keys(self) -> ahocorasick.Automaton:
        """What a near-miss of a (non-Latin, three or more characters) term keeps intact: one of
        ``budget + 1`` pieces of it, or, where those would be shorter than two characters, one of its
        pairs. An automaton of every key → ((term index, how far before the key's last character the
        term starts), …)."""
        found: dict[str, list[tuple[int, int]]] = {}
        for t, term in enumerate(self.terms):
            if len(term) >= 3 and not term.isascii():
                count = _budget(term) + 1
                cuts = [len(term) * k // count for k in range(count + 1)]
                keys = ([(term[a:b], a) for a, b in zip(cuts, cuts[1:])] if len(term) >= 2 * count
                        else [(term[i:i + 2], i) for i in range(len(term) - 1)])
                for key, at in keys:
                    found.setdefault(key, []).append((t, at))
        automaton = ahocorasick.Automaton()
        for key, where in sorted(found.items()):  # (term, how far before the key's last character the term starts)
            automaton.add_word(key, tuple((t, len(key) - 1 + at) for t, at in where))
        automaton.make_automaton()
        return automaton


@functools.lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON) -> Lexicon:
    """Given ``lexicon.tsv`` (term, kind, source; ``#`` comments), return the lexicon."""
    terms, documents = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            term, kind = (line.split("\t") + [""])[:2]
            terms.append(term)
            if kind == "document":
                documents.append(term)
    order = lambda t: (-len(t), t)  # noqa: E731
    return Lexicon(tuple(sorted(set(terms), key=order)), tuple(sorted(set(documents), key=order)))


# --- structural steps --------------------------------------------------------------------------------

# A pattern that begins with a lookbehind or with groups to choose from begins here with a lookahead for the
# characters a match can begin with: ``re`` then tries the rest only there (two to three times as fast).
_SPACED_NUMBER = re.compile(r"(?=[\s.])(?:(?<=\d)\s*\.\s+(?=\d)|(?<=\d)\s+\.\s*(?=\d))")
_EDITION = re.compile(r"(?=[1-9])(?<![\d.])([1-9])([0-9])(?=版)")
_LINE_START_DASH = re.compile(r"(?m)^[ー一—―‐](?=[^\s\dー一])")
_BRACKET_SPACE = re.compile(r"(?= )(?:(?<=[(（「『【])[ ]+|(?<! )[ ]+(?=[)）」』】]))")  # (?<! ): linear on long runs of spaces


def section_numbers(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「2. 2. 1」→「2.2.1」: no space inside a section number.

    >>> [c.after for c in section_numbers("5.2版 6. 2. 1 の趣旨")]
    ['.', '.']
    """
    if "." not in text:
        return []
    return [Candidate(m.start(), m.end(), ".", "structural.section-number", 0.95, "節番号の中の空白") for m in _SPACED_NUMBER.finditer(text)]


def edition_numbers(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「52版」→「5.2版」: editions of the guideline are numbered with a point.

    >>> [c.after for c in edition_numbers("52版4.1B(2)の趣旨")]
    ['5.2']
    """
    if "版" not in text:
        return []
    return [Candidate(m.start(), m.end(), f"{m.group(1)}.{m.group(2)}", "structural.edition", 0.95, "版の番号は「5.2版」の形")
            for m in _EDITION.finditer(text)]


def list_markers(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """A line starting with 「ー」 (which no line may start with) or, in a list, 「一」「—」: the marker 「－」.

    >>> [c.after for c in list_markers("次の対策を実施すること。\\nー入力者の識別\\n一記録の確定")]
    ['－', '－']
    """
    if "\n" not in text and text[:1] not in "ー一—―‐":
        return []
    listed = "\n－" in text or "\nー" in text
    out = []
    for m in _LINE_START_DASH.finditer(text):
        if m.group() == "ー" or listed:
            confidence = 0.95 if m.group() == "ー" else 0.85
            out.append(Candidate(m.start(), m.end(), "－", "structural.list-marker", confidence, f"行頭の「{m.group()}」は箇条書きの記号"))
    return out


def bracket_spaces(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「委託 (第三者委託 )」→「委託 (第三者委託)」: no space just inside a bracket.

    >>> [(c.start, c.after) for c in bracket_spaces("( 第三者委託 )")]
    [(1, ''), (7, '')]
    """
    if " " not in text:
        return []
    return [Candidate(m.start(), m.end(), "", "structural.bracket", 0.9, "括弧の内側の空白") for m in _BRACKET_SPACE.finditer(text)]


_OPENERS = {"(": ")", "（": "）", "「": "」", "『": "』", "【": "】", "[": "]"}
_CLOSERS = {close: open_ for open_, close in _OPENERS.items()}
_FAMILY = {**{c: "(" for c in "()（）"}, **{c: c for c in "「『【["}, **{c: _CLOSERS[c] for c in "」』】]"}}
_BRACKET = re.compile("[" + re.escape("".join(_OPENERS) + "".join(_CLOSERS)) + "]")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_LIST_ENTRY = re.compile(r"^[－・][ ]*")
_LIST_GOES_ON = re.compile(r"並びに|及び|又は|若しくは")


@dataclass(frozen=True)
class Brackets:
    """The brackets of one line: matched ``pairs``, pairs ``crossed`` (an opener closed by another kind),
    ``lone`` closers (nothing opens them) and ``unclosed`` openers; positions in the line."""

    pairs: tuple[tuple[int, int], ...]
    crossed: tuple[tuple[int, int], ...]
    lone: tuple[int, ...]
    unclosed: tuple[int, ...]

    @property
    def balanced(self) -> bool:
        return not (self.crossed or self.lone or self.unclosed)


def scan_brackets(line: str) -> Brackets:
    """Given one line, return how its brackets pair up.

    >>> scan_brackets("「非常時用機能)の手順(例)").crossed, scan_brackets("火災等)並びに停電等)").lone
    (((0, 7),), (3, 10))
    """
    pairs, crossed, lone, unclosed, stack = [], [], [], [], []
    for m in _BRACKET.finditer(line):
        i, ch = m.start(), m.group()
        if ch in _OPENERS:
            stack.append(i)
        elif ch in _CLOSERS:
            if not stack:
                lone.append(i)
            elif _FAMILY[line[stack[-1]]] == _FAMILY[ch]:
                pairs.append((stack.pop(), i))
            elif any(_FAMILY[line[j]] == _FAMILY[ch] for j in stack):
                while _FAMILY[line[stack[-1]]] != _FAMILY[ch]:
                    unclosed.append(stack.pop())
                pairs.append((stack.pop(), i))
            else:
                crossed.append((stack.pop(), i))
    return Brackets(tuple(pairs), tuple(crossed), tuple(lone), tuple(sorted(unclosed + stack)))


def _lines(text: str) -> Iterable[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def brackets(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """Balance the brackets of a line where they are not: an opener closed by another kind of closer
    (「…) → 「…」, (…」 → (…), and （ closed by ) → （…）; a closer too many where the bracketed list
    goes on (「火災等)並びに…停電等)」: the first one is stray); a list entry with a closer and no opener
    (its 「 fell off next to the bullet, and 」 was read as )). Anything else is only proposed.

    >>> [c.after for c in brackets("－非常時のユーザアカウントや非常時用機能)の手順")]
    ['「非常時のユーザアカウントや非常時用機能」']
    >>> [(c.start, c.after) for c in brackets("災害(地震、落雷、火災等)並びにそれに伴う停電等)に耐えうる")]
    [(12, '')]
    >>> brackets("(ただし、「TLS暗号設定ガイドライン」を参照)")
    []
    """
    if not _BRACKET.search(text):
        return []
    out = []
    for offset, line in _lines(text):
        found = scan_brackets(line)
        for open_, close in found.pairs:
            if line[close] != _OPENERS[line[open_]]:
                out.append(Candidate(offset + close, offset + close + 1, _OPENERS[line[open_]], "structural.bracket-balance", 0.9,
                                     f"「{line[open_]}」を幅の違う「{line[close]}」で閉じている"))
        for open_, close in found.crossed:
            out.append(Candidate(offset + close, offset + close + 1, _OPENERS[line[open_]], "structural.bracket-balance", 0.85,
                                 f"「{line[open_]}」を「{line[close]}」で閉じている（閉じ括弧の読み違い）"))
        for close in found.lone:
            if close == 0 or not _JAPANESE.match(line[close - 1]):
                continue
            out.append(_lone_closer(line, found, close, offset))
    return out


def _lone_closer(line: str, found: Brackets, close: int, offset: int) -> Candidate:
    """A closer nothing opens: the earlier closer of a list that goes on is the stray one; in a list entry
    with no opener at all, the entry's 「 was lost; else only propose dropping the closer."""
    earlier = [c for o, c in found.pairs if c < close and _FAMILY[line[c]] == _FAMILY[line[close]]]
    goes_on = _LIST_GOES_ON.match(line, earlier[-1] + 1) if earlier else None
    if goes_on and not any(earlier[-1] < c < close for c in found.lone):
        stray = earlier[-1]
        return Candidate(offset + stray, offset + stray + 1, "", "structural.bracket-balance", 0.85,
                         f"「{line[stray]}」のあとも「{goes_on.group()}」で括弧の中の列挙が続き、後ろの「{line[close]}」で閉じる: 先の「{line[stray]}」は余分")
    entry = _LIST_ENTRY.match(line)
    if entry and len(found.lone) == 1 and not any(ch in _OPENERS for ch in line[:close]):  # the entry's one stray closer
        start = entry.end()
        return Candidate(offset + start, offset + close + 1, "「" + line[start:close] + "」", "structural.bracket-balance", 0.8,
                         f"箇条の中に開き括弧がなく「{line[close]}」で閉じている: 箇条の頭の「「」が落ち、「」」を「{line[close]}」と読んだもの")
    return Candidate(offset + close, offset + close + 1, "", "structural.bracket-balance", 0.5, f"開く括弧のない「{line[close]}」")


_DROPPED_KO = re.compile(r"(?=と)(?<=[るすう])と(?=。)")


def sentence_end(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「…を求めると。」→「…を求めること。」: a requirement ends in 「こと。」, and 「…ると。」 ends no sentence.

    >>> [c.after for c in sentence_end("その結果の報告を求めると。")]
    ['こと']
    """
    if "ると。" not in text and "すと。" not in text and "うと。" not in text:
        return []
    return [Candidate(m.start(), m.end(), "こと", "structural.sentence-end", 0.9, "文末の「ると。」は「ること。」の「こ」が落ちたもの")
            for m in _DROPPED_KO.finditer(text)]


def radicals(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「⽬」 (Kangxi radical) →「目」 (the unified ideograph it stands for).

    >>> [c.after for c in radicals("項⽬")]
    ['目']
    """
    return [Candidate(m.start(), m.end(), repair_char(m.group()), "structural.radical", 0.99, "康熙部首")
            for m in RADICALS.finditer(text)]


_REFERENCE = re.compile(r"(?:(?P<edition>\d\.\d)版)?(?P<section>\d{1,2}(?:\.\d{1,2})*)(?:(?P<part>[A-D])(?P<item>\d+(?:\(\d+\))?|\(\d+\))?)?")


def references(note: str) -> list[dict]:
    """Given a 備考, return the places of the 5.2 edition it cites, as fields.

    In 5.2 a place is a section, a part (A 制度上の要求事項, B 考え方, C 最低限のガイドライン,
    D 推奨されるガイドライン) and an item.

    >>> references("6.11C6 10C1(7)")
    [{'edition': '5.2', 'section': '6.11', 'part': 'C', 'item': '6', 'text': '6.11C6'}, {'edition': '5.2', 'section': '10', 'part': 'C', 'item': '1(7)', 'text': '10C1(7)'}]
    >>> references("5.2版4.1B(2)の趣旨を踏まえて新設")
    [{'edition': '5.2', 'section': '4.1', 'part': 'B', 'item': '(2)', 'text': '5.2版4.1B(2)'}]
    >>> references("リスク分析を踏まえた対応について新設")
    []
    """
    out = []
    for m in _REFERENCE.finditer(note):
        if not (m.group("part") or m.group("edition")):
            continue  # a bare number is not a place
        ref = {"edition": m.group("edition") or "5.2", "section": m.group("section")}
        ref.update({k: m.group(k) for k in ("part", "item") if m.group(k)})
        ref["text"] = m.group()
        out.append(ref)
    return out


# --- lexical step ------------------------------------------------------------------------------------

# Characters OCR takes for one another in this kind of print (each pair either way).
CONFUSIONS = {frozenset(p) for p in (
    "バパ", "ビピ", "ブプ", "ベペ", "ボポ", "ハバ", "ヒビ", "フブ", "ヘベ", "ホボ", "ハパ", "ヒピ", "フプ", "ヘペ", "ホポ",
    "カガ", "キギ", "クグ", "ケゲ", "コゴ", "サザ", "シジ", "スズ", "セゼ", "ソゾ", "タダ", "チヂ", "ツヅ", "テデ", "トド",
    "ツッ", "ヤャ", "ユュ", "ヨョ", "アァ", "イィ", "ウゥ", "エェ", "オォ", "ケヶ", "つっ", "やゃ", "ゆゅ", "よょ",
    "ー一", "ー－", "一－", "口ロ", "力カ", "工エ", "夕タ", "二ニ", "八ハ", "卜ト", "テタ", "ルレ", "ソン", "シツ",
    "理営", "装常", "適速", "業画", "開関", "未末", "土士", "己巳", "侯候", "綱網", "識職", "績積", "微徴",
)}


def lexical(text: str, lexicon: Lexicon) -> list[Candidate]:
    """Near-misses of lexicon terms: a span not in the lexicon within a few edits of a term.

    An edit OCR is known to make (a dakuten, small kana or look-alike kanji confused, a Latin
    letter lost) costs a little confidence; any other edit drops the candidate below ``APPLY_AT``,
    so it is only proposed. So is a span that Sudachi reads as one dictionary word: it may be right
    as it stands. An edit at either end of a Japanese span must be a known one (else the "span" is
    the term beside other words).
    """
    found: list[Candidate] = []
    anchors = _near_anchors(text, lexicon)  # the terms a span of the text may be a near-miss of
    latin_words = [(m.start(), m.end()) for m in _LATIN_WORD.finditer(text)] if lexicon.latin else []
    for t in sorted({*anchors, *_near_latin([text[start:end] for start, end in latin_words], lexicon)}):
        term, budget, _, first = lexicon.shapes[t]
        latin = t in lexicon.latin
        # for a ``replace_only`` term, a span starting otherwise than the term (or a character OCR confuses
        # with its first) has an edit at its start that OCR does not make: it would fail below, so is not measured
        windows = ([(start, end) for start, end in latin_words if abs(end - start - len(term)) <= budget] if latin
                   else _windows(text, term, budget, anchors[t], first))
        exact_ends = [at + len(term) for at in _find_all(text, term)]  # ascending, and so are the starts
        if exact_ends and t in lexicon.replace_only:
            # where the term stands read right, only a span as long as it can pass (every edit known: a confused
            # pair, one for one); a longer or shorter one needs an insertion or deletion, which is not
            windows = [w for w in windows if w[1] - w[0] == len(term) or not _overlaps_exact(exact_ends, len(term), *w)]
        if not windows:
            continue
        spans = [text[start:end] for start, end in windows]
        # the distances in one call (rapidfuzz's loop, not Python's): only the near ones come back
        near = process.extract(term, spans, scorer=Levenshtein.distance, score_cutoff=budget, limit=None)
        if not near:
            continue
        for _, _, w in sorted(near, key=lambda hit: hit[2]):
            (start, end), span = windows[w], spans[w]
            if span in lexicon.vocabulary:
                continue
            ops = Levenshtein.editops(span, term)
            if _overlaps_exact(exact_ends, len(term), start, end) and not all(_known_edit(op, span, term) for op in ops):
                continue  # the term itself stands here, read right
            if not latin and any(_at_edge(op, span) and not _known_edit(op, span, term) for op in ops):
                continue  # an edit at either end that OCR does not make: the term beside other words, not misread
            if _inflected(span, ops):
                continue  # the term's words with kana between them: 「認定した時刻認証事業者」 is no 「認定時刻認証事業者」 misread
            confidence, why = _lexical_confidence(span, term, ops)
            found.append(Candidate(start, end, term, "lexical", confidence, f"語彙「{term}」に近い（{why}）"))
    return _best_per_span(found)


def _near_latin(words: list[str], lexicon: Lexicon) -> list[int]:
    """The Latin terms (by index) within their budget of one of ``words`` (a text's whole Latin words):
    every distance in one C call; the others are not measured. A word with no letter is passed by where
    no Latin term has as many other characters as a near-miss of it must keep (``Lexicon.latin_lettered``).

    >>> lexicon = load_lexicon()
    >>> [lexicon.terms[t] for t in _near_latin(["eberos", "5.2"], lexicon)]
    ['Kerberos']
    """
    if lexicon.latin_lettered:
        words = [word for word in words if _LETTER.search(word)]
    if not words or not lexicon.latin:
        return []
    order, terms, budgets = lexicon.latin_terms
    nearest = process.cdist(terms, words, scorer=Levenshtein.distance, score_cutoff=3).min(axis=1)
    return [order[k] for k in numpy.flatnonzero(nearest <= budgets)]


def _budget(term: str) -> int:
    """The edits a near-miss of ``term`` may have: 1 up to 6 characters, 2 up to 11, else 3."""
    return 1 if len(term) <= 6 else 2 if len(term) <= 11 else 3


def _overlaps_exact(exact_ends: list[int], length: int, start: int, end: int) -> bool:
    """Whether ``[start, end)`` overlaps one of the term's exact occurrences (given by their ascending
    ends; each is ``length`` long): the first occurrence ending after ``start`` decides, by bisection.

    >>> _overlaps_exact([5, 20], 3, 4, 8), _overlaps_exact([5, 20], 3, 6, 17)
    (True, False)
    """
    i = bisect.bisect_right(exact_ends, start)
    return i < len(exact_ends) and exact_ends[i] - length < end


def _known_edit(op, span: str, term: str) -> bool:
    """An edit OCR is known to make: a confused pair, a lost Latin letter (eberos → Kerberos), or a
    stray 「I」「l」「|」 (a ruling line) before a Latin word (IMACアドレス → MACアドレス)."""
    if op.tag == "replace":
        return frozenset((span[op.src_pos], term[op.dest_pos])) in CONFUSIONS
    if op.tag == "insert":
        return term.isascii() and term[op.dest_pos].isalpha()
    return span[op.src_pos] in "Il|" and op.dest_pos < len(term) and term[op.dest_pos].isascii() and term[op.dest_pos].isupper()


_HIRAGANA = re.compile(r"[\u3041-\u309f]")


def _inflected(span: str, ops) -> bool:
    """Whether ``span`` is the term with only hiragana added between its words (an inflection or a
    particle: 「認定した時刻認証事業者」, 「不正ソフトウェアが混入」): Japanese as written, not a misreading.

    >>> _inflected("認定した時刻認証事業者", Levenshtein.editops("認定した時刻認証事業者", "認定時刻認証事業者"))
    True
    >>> _inflected("経理層", Levenshtein.editops("経理層", "経営層"))
    False
    """
    return bool(ops) and all(op.tag == "delete" and _HIRAGANA.match(span[op.src_pos]) for op in ops)


def _at_edge(op, span: str) -> bool:
    return op.src_pos == 0 or op.src_pos >= len(span) - (1 if op.tag == "replace" else 0)


def _find_all(text: str, sub: str) -> Iterable[int]:
    """Where ``sub`` starts in ``text``, overlapping ones too (str.find: a regular expression per
    lexicon term would overflow ``re``'s cache of compiled patterns and recompile every time).

    >>> list(_find_all("ににに", "にに"))
    [0, 1]
    """
    at = text.find(sub)
    while at >= 0:
        yield at
        at = text.find(sub, at + 1)


def _near_anchors(text: str, lexicon: Lexicon) -> dict[int, list[int]]:
    """For each term a span of ``text`` may be a near-miss of: the places where a piece of the term
    standing in the text puts the term's start and this cheap test, which never says no where ``lexical``
    would find a candidate, says it may be near (``lexical`` measures the spans around them only):

    - A span within ``budget`` edits of a term keeps one of ``budget + 1`` pieces of it intact
      (``Lexicon.keys``; each edit touches one piece at most), at most ``budget`` characters from its
      place; a term too short for pieces of two characters is looked for by its pairs (a near-miss of a
      three-character term with its middle character misread or lost keeps none: it is not looked for).
      One pass of an automaton finds every key in the text.
    - A span within ``budget`` edits of a term (``L`` long) shares at least ``L - budget`` characters
      with it, in order, and lies within ``budget`` of where the key puts the term's start and is no
      longer than ``L + budget``: the text around that start must share as many (one C call a start).
    - A near-miss of a term whose near-misses are confused pairs replaced one for one
      (``Lexicon.replace_only``) starts with the term's first character or one OCR confuses with it (any
      other edit at its start is one ``lexical`` refuses): one must stand within ``budget`` of the start.
    - Where such a term stands read right, that start is left out, unless the term is nearly itself
      shifted by a few characters (``Lexicon.self_shifts``): every span there overlaps the term read
      right, by the same length, and would pass only as such a shift.

    >>> lexicon = load_lexicon()
    >>> {lexicon.terms[t]: starts for t, starts in _near_anchors("保存作業の作業", lexicon).items()}, _near_anchors("保守作業の作業", lexicon)
    ({'保守作業': [0]}, {})
    """
    placed: dict[int, set[int]] = {}
    for end, hits in lexicon.keys.iter(text):
        for t, back in hits:
            if t in placed:
                placed[t].add(end - back)
            else:
                placed[t] = {end - back}
    similarity = LCSseq.similarity
    shapes = lexicon.shapes
    near: dict[int, list[int]] = {}
    for t, starts in placed.items():
        term, budget, alone, first = shapes[t]
        right_here = alone and term in text
        reach, need = len(term) + budget, len(term) - budget
        for at in starts:
            if right_here and at >= 0 and text.startswith(term, at):
                continue
            left = at - budget if at > budget else 0
            if similarity(term, text[left:at + reach + budget], score_cutoff=need) \
                    and not (first and first.isdisjoint(text[left:at + budget + 1])):
                near.setdefault(t, []).append(at)
    return near


def _windows(text: str, term: str, budget: int, anchors: list[int], first: frozenset[str] = frozenset()) -> list[tuple[int, int]]:
    """Spans of ``text`` that may be ``term`` misread: starting at most ``budget`` from where a piece of
    the term puts its start (``anchors``, from ``_near_anchors``), ``len(term) ± budget`` long, in order.
    With ``first``, only the spans starting with one of those characters.

    >>> _windows("保存作業の", "保守作業", 1, [0], frozenset("保"))
    [(0, 3), (0, 4), (0, 5)]
    """
    length = len(text)
    starts = sorted({start for at in anchors for start in range(max(at - budget, 0), min(at + budget + 1, length))
                     if not first or text[start] in first})
    sizes = [size for size in range(len(term) - budget, len(term) + budget + 1) if size > 0]
    return [(start, start + size) for start in starts for size in sizes if start + size <= length]


_LETTER = re.compile("[A-Za-z]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*")  # where a Latin term (three or more characters) is looked for: whole words


def _lexical_confidence(span: str, term: str, ops) -> tuple[float, str]:
    """Known OCR confusions cost little; any other edit makes the candidate a proposal only."""
    known = sum(1 for op in ops if _known_edit(op, span, term))
    unknown = len(ops) - known
    confidence = 0.97 - 0.02 * known - 0.22 * unknown
    why = f"{known + unknown} 字違い" + (f"、OCR で起きやすい違い {known}" if known else "") + (f"、ほかの違い {unknown}" if unknown else "")
    if _one_dictionary_word(span):
        confidence -= 0.3
        why += "、いまの綴りも辞書の語"
    return round(confidence, 2), why


@functools.lru_cache(maxsize=4096)
def _one_dictionary_word(span: str) -> bool:
    """Whether the span as it stands is a word of Sudachi's dictionary (``analysis.is_word``: a lookup,
    in a quarter of the time of a reading). On the 3,510 spans ``lexical`` measured in the sample misread
    3,000 times at random, the same answer as whether Sudachi reads the span alone as one known word.

    >>> _one_dictionary_word("保存"), _one_dictionary_word("保存作業"), _one_dictionary_word("経理層")
    (True, False, False)
    """
    from .index.analysis import is_word

    return is_word(span)


def _best_per_span(candidates: list[Candidate]) -> list[Candidate]:
    """Of overlapping candidates, keep the most confident (then the longest).

    Kept spans are pairwise apart, so sorted by start they are sorted by end too: a candidate
    overlaps one of them exactly when the last one starting before its end reaches past its start.
    One bisection per candidate: n log n, not n².

    >>> [(c.start, c.end) for c in _best_per_span([Candidate(0, 4, "a", "s", 0.9, ""), Candidate(2, 6, "b", "s", 0.95, ""),
    ...                                              Candidate(6, 8, "c", "s", 0.5, "")])]
    [(2, 6), (6, 8)]
    """
    spans: list[tuple[int, int]] = []  # (start, end) of the kept, ascending
    kept: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (-c.confidence, -(c.end - c.start), c.start, c.after)):
        before_end = bisect.bisect_left(spans, (c.end, -1))  # the kept that start before c ends
        if before_end and spans[before_end - 1][1] > c.start:
            continue
        bisect.insort(spans, (c.start, c.end))
        kept.append(c)
    return sorted(kept)


# --- grammar: where the sentence no longer parses (Sudachi) ------------------------------------------

_SUDACHI_PIECE = 4000  # characters; SudachiPy refuses input over ~49 KB of UTF-8, so long lines go in pieces
OOV_COST = 10000  # what an out-of-vocabulary word adds to a text's cost: about two unlikely words


class Morpheme(NamedTuple):
    """A word as Sudachi (mode C) reads it, with its place in the text (a named tuple: thousands are
    made per edition, and a frozen dataclass costs several times as much to make)."""

    surface: str
    pos: tuple[str, ...]  # part of speech, 6 fields: 助詞 格助詞 * * * *; the last is the conjugated form
    lemma: str
    start: int
    end: int
    oov: bool


def _pieces(text: str) -> Iterable[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        for start in range(0, len(line), _SUDACHI_PIECE):
            yield offset + start, line[start:start + _SUDACHI_PIECE]
        offset += len(line)


class Analysis(Sequence):
    """Sudachi's reading of a text: its words (a sequence of ``Morpheme``, each made when first asked
    for: ``grammar`` looks at a few words of most texts), the cost of the reading, and which word starts
    and which ends at each offset."""

    def __init__(self, text: str):
        from .index.analysis import sudachi

        tokenizer, _ = sudachi()
        self.cost = 0
        self._text = text
        self._words: list = []  # Sudachi's words, as it gives them
        self._bounds: list[int] = []  # where each word starts, and where the last ends
        self._made: dict[int, Morpheme] = {}
        words, bounds = self._words, self._bounds
        for offset, piece in _pieces(text):
            found = tokenizer.tokenize(piece)
            self.cost += found.get_internal_cost()
            for m in found:  # the words of a piece lie side by side: each ends where the next begins
                words.append(m)
                bounds.append(offset + m.begin())
        bounds.append(len(text))

    @functools.cached_property
    def starting(self) -> dict[int, int]:
        """Offset → the word that starts there."""
        return {at: i for i, at in enumerate(self._bounds[:-1])}

    @functools.cached_property
    def ending(self) -> dict[int, int]:
        """Offset → the word that ends there."""
        return {at: i for i, at in enumerate(self._bounds[1:])}

    def __len__(self) -> int:
        return len(self._words)

    def __getitem__(self, i: int) -> Morpheme:
        if i < 0:
            i += len(self._words)
        if not 0 <= i < len(self._words):
            raise IndexError(i)
        made = self._made.get(i)
        if made is None:
            m = self._words[i]
            start, end = self._bounds[i], self._bounds[i + 1]
            made = self._made[i] = Morpheme(self._text[start:end], _pos(m), m.dictionary_form(), start, end, m.is_oov())
        return made

    def fault_candidates(self) -> list[int]:
        """The words a fault of ``parse_faults`` can be at: an unknown word, a particle, a word ending in
        「よう」 or 「的」 (told from Sudachi's words as read, no ``Morpheme`` made of the others)."""
        text, bounds = self._text, self._bounds
        return [i for i, m in enumerate(self._words)
                if m.is_oov() or _pos(m)[0] == "助詞" or text[bounds[i]:bounds[i + 1]].endswith(("よう", "的"))]

    @functools.cached_property
    def unknown(self) -> int:
        """How many of its words are unknown to Sudachi's dictionary."""
        return sum(1 for m in self._words if m.is_oov())

    @functools.cached_property
    def morphemes(self) -> tuple[Morpheme, ...]:
        return tuple(self[i] for i in range(len(self._words)))


_POS: dict[int, tuple[str, ...]] = {}  # Sudachi's part-of-speech id → its six fields, made once


def _pos(m) -> tuple[str, ...]:
    """The part of speech of one of Sudachi's words."""
    pos_id = m.part_of_speech_id()
    return _POS.get(pos_id) or _POS.setdefault(pos_id, tuple(m.part_of_speech()))


@functools.lru_cache(maxsize=16384)
def _analyse(text: str) -> Analysis:
    return Analysis(text)


def morphemes(text: str) -> tuple[Morpheme, ...]:
    """Given a text, return Sudachi's words (mode C) with their offsets.

    >>> [(m.surface, m.pos[0]) for m in morphemes("等にに応じて")]
    [('等', '接尾辞'), ('に', '助詞'), ('に', '助詞'), ('応じ', '動詞'), ('て', '助詞')]
    """
    return _analyse(text).morphemes


def language_cost(text: str) -> int:
    """Given a text, return Sudachi's cost of its best reading (dictionary word costs and the costs of
    each word following the other) plus ``OOV_COST`` per unknown word: the lower, the more it reads like Japanese.

    >>> language_cost("利用方法等に応じて") < language_cost("利用方法等にに応じて")
    True
    """
    analysis = _analyse(text)
    return analysis.cost + OOV_COST * analysis.unknown


@dataclass(frozen=True)
class Fault:
    """Where a text stops parsing: ``kind`` is one of ``FAULTS``; ``start:end`` the words concerned."""

    kind: str
    start: int
    end: int
    words: tuple[Morpheme, ...] = ()


FAULTS = {
    "unknown-word": "Sudachi の辞書にない語",
    "particles": "続くことのない助詞の並び",
    "particle-first": "読点・句点・行頭のすぐあとの助詞",
    "volitional": "名詞や読点の前の意志形（「…よう」）",
    "teki-no": "「〜的の」のあとに「〜する」",
    "brackets": "閉じていない・違う種類で閉じた括弧",
}
_CASE_OR_BINDING = frozenset(["が", "を", "に", "へ", "は", "も"])
_NEVER_AFTER_ANOTHER = frozenset(["が", "を", "に"])
_LINE_STARTS = frozenset(["、", "。", "\n", "－", "・"])


def _particle(m: Morpheme) -> bool:
    return m.pos[0] == "助詞"


def parse_faults(text: str) -> list[Fault]:
    """Given a text, return the places where Sudachi's reading says it no longer parses: an unknown
    word; two particles that never follow one another (「等にに」「することもに」); a case particle
    opening a clause (「、も使用された」); a volitional form before a noun or a comma (「講じよう契約」);
    「定期的の実施する」; a line whose brackets don't balance.

    >>> [f.kind for f in parse_faults("等にに応じて、も使用された場合、措置を講じよう契約において")]
    ['particles', 'particle-first', 'volitional']
    >>> parse_faults("ここにある。ののしる。それには、利用者にも")
    []
    """
    found = _analyse(text)
    faults = []
    for i in found.fault_candidates():  # a word no fault can be at is passed by
        faults += _faults_at(found, i)
    for offset, line in _lines(text):
        if not scan_brackets(line).balanced:
            faults.append(Fault("brackets", offset, offset + len(line)))
    return faults


def _faults_at(found: Sequence[Morpheme], i: int) -> list[Fault]:
    """The word faults ``parse_faults`` finds at ``found[i]`` (the words before and after it as context)."""
    m = found[i]
    before = found[i - 1] if i else None
    surface, pos = m.surface, m.pos
    faults = []
    if m.oov and not surface.isascii():
        faults.append(Fault("unknown-word", m.start, m.end, (m,)))
    if pos[0] == "助詞":
        if before and before.surface in _CASE_OR_BINDING and _particle(before) \
                and (surface in _NEVER_AFTER_ANOTHER or surface == before.surface):
            faults.append(Fault("particles", before.start, m.end, (before, m)))
        if pos[1] in ("格助詞", "係助詞") and (before is None or before.surface in _LINE_STARTS):
            faults.append(Fault("particle-first", m.start, m.end, (m,)))
    if surface.endswith("よう") and pos[5].startswith("意志推量形") and i + 1 < len(found) \
            and found[i + 1].surface not in ("と", "。", "か", "」", "\n") and not _particle(found[i + 1]):
        verb = (before, m) if pos[0] == "助動詞" and before else (m,)
        faults.append(Fault("volitional", verb[0].start, m.end, verb))
    if surface.endswith("的") and pos[2] == "形状詞可能" and i + 3 < len(found) and found[i + 1].surface == "の" \
            and found[i + 2].pos[2] == "サ変可能" and found[i + 3].lemma == "する":
        faults.append(Fault("teki-no", found[i + 1].start, found[i + 1].end, (m, found[i + 1])))
    return faults


def _repairable_faults(text: str) -> list[Fault]:
    """``parse_faults`` of the kinds ``grammar`` repairs, in its order, looked for only at the words
    where ``_MAY_NEED_REPAIR_AT`` says one can be (every place, overlapping ones too): the particle
    after a particle or a line start, the word ending in 「よう」 or in 「的」 before 「の」; a line start or
    comma only where a particle can follow (``_may_open_with_particle``), a 「よう」 only where a volitional
    word can end (``_may_end_volitional``). Sudachi reads the clauses around those places
    (``_reading_windows``), not the whole text.

    >>> [f.kind for f in _repairable_faults("等にに応じて、も使用された場合")] == [f.kind for f in parse_faults("等にに応じて、も使用された場合")]
    True
    """
    places = [("starts" if m.lastgroup == "opens" else m.lastgroup, m.start()) for m in _MAY_NEED_REPAIR_AT.finditer(text)
              if _may_be_fault_at(text, m)]
    if _may_open_with_particle(text, 0):
        places.append(("starts", -1))
    if not places:
        return []
    faults = []
    for left, right in _reading_windows(text, sorted(max(at, 0) for _, at in places)):
        found = _analyse(text[left:right])
        starting, ending = found.starting, found.ending
        words = {starting.get(at + 1 - left) if kind == "starts" else ending.get(at + 1 - left if kind == "teki" else at + 2 - left)
                 for kind, at in places if left <= max(at, 0) < right}
        faults += [_shifted(f, left) for i in sorted(words - {None}) if found[i].pos[0] == "助詞" or found[i].surface.endswith(("よう", "的"))
                   for f in _faults_at(found, i) if f.kind in _REPAIRS]
    return faults


def _may_be_fault_at(text: str, found: re.Match) -> bool:
    """Whether a place ``_MAY_NEED_REPAIR_AT`` found passes the tests of its kind that look at the dictionary."""
    if found.lastgroup == "opens":
        return _may_open_with_particle(text, found.end())
    if found.lastgroup == "you":
        return _may_end_volitional(text, found.start())
    return True


def _reading_windows(text: str, places: list[int]) -> list[tuple[int, int]]:
    """What Sudachi reads of ``text`` to judge the words at ``places`` (ascending): the clause around each
    (``_clause``, as a repair is judged in) with the 「。」 or line end bounding it, for Sudachi reads the
    words beside them so, and the symbols, letters and digits next to either end (Sudachi may read a run
    of symbols with a 「。」 in it as one unknown word: 「‐‐。－。－」 before 「に」); overlapping or touching
    windows are one. On 12,800 texts (the sample's, misread at random) and 100,000 drawn by hypothesis,
    the faults found so were those of the whole text read.

    >>> _reading_windows("等にに応じて。" + "あ" * 30 + "、も使用された場合", [1, 37])
    [(0, 7), (17, 46)]
    >>> _reading_windows("以上）。－にに", [4])
    [(2, 7)]
    """
    windows: list[list[int]] = []
    for at in places:
        left, right = _clause(text, at, at + 2)
        left -= 1 if left and text[left - 1] in "。\n" else 0
        right += 1 if right < len(text) and text[right] in "。\n" else 0
        while left and _NOT_PLAIN.match(text, left - 1):
            left -= 1
        while right < len(text) and _NOT_PLAIN.match(text, right):
            right += 1
        if windows and left <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], right)
        else:
            windows.append([left, right])
    return [(left, right) for left, right in windows]


def _shifted(fault: Fault, offset: int) -> Fault:
    """``fault`` found in a window of the text that starts at ``offset``, with its places in the whole text."""
    if not offset:
        return fault
    return Fault(fault.kind, fault.start + offset, fault.end + offset,
                 tuple(m._replace(start=m.start + offset, end=m.end + offset) for m in fault.words))


def _clause(text: str, start: int, end: int, reach: int = 20) -> tuple[int, int]:
    """The window around ``start:end`` a repair is judged in: up to ``reach`` characters either side,
    not past a sentence end or a line."""
    left = max(text.rfind("。", 0, start) + 1, text.rfind("\n", 0, start) + 1, start - reach, 0)
    stops = [i for i in (text.find("。", end), text.find("\n", end)) if i >= 0]
    right = min([*stops, end + reach, len(text)])
    return left, max(right, end)


def repairs_fault(text: str, start: int, end: int, after: str) -> bool:
    """Whether changing ``text[start:end]`` to ``after`` leaves fewer faults in the clause around it and no
    fault of a kind it did not have.

    >>> repairs_fault("等にに応じて", 1, 2, ""), repairs_fault("等にに応じて", 1, 3, "をを")
    (True, False)
    """
    left, right = _clause(text, start, end)
    before = Counter(f.kind for f in parse_faults(text[left:right]))
    now = Counter(f.kind for f in parse_faults(text[left:start] + after + text[end:right]))
    return sum(now.values()) < sum(before.values()) and all(now[k] <= before[k] for k in now)


# Set phrases of the guideline's prose (複合辞): a pair of particles that can't follow one another is
# often one of these with a character misread (「することもに」 for 「するとともに」).
SET_PHRASES = ("とともに", "について", "に対して", "に関して", "において", "における", "によって", "に基づいて",
               "に基づき", "に応じて", "として", "ように", "ための")
# Adverbs that a dropped character leaves as a bare particle, and the words they always go with
# (「もし…場合」: 「、も使用された場合」 is 「、もし使用された場合」).
PAIRED_ADVERBS = {"もし": ("場合", "ば", "たら", "なら")}


# Every case and binding particle (格助詞, 係助詞) that Sudachi's dictionary gives a reading, as it is
# written there: a word Sudachi reads as one at a place is one of these in the text as Sudachi reads it
# (``as_read``), for it never makes an unknown word a particle. An entry its lookup does not find is in
# no reading: the dictionary has 「-」 as the particle 「から」 too, but reads 「-」 and 「－」 only as a
# symbol, so a list marker 「－」 is not looked at. Checked against every entry of the installed
# dictionary, and against its lookup, by a slow test.
CLAUSE_PARTICLES = (
    "~", "−", "〜", "から", "が", "が〜", "がぁ", "こそ", "じぁ", "じゃ", "じゃ〜", "じゃぁ", "じゃあ", "じゃア", "じゃー",
    "ぞ", "たぁ", "たあ", "ちゃ", "ぢや", "ぢやア", "っから", "っと", "で", "で〜", "でぇ", "でー", "と", "とぉ", "とて", "とォ",
    "に", "にぃ", "にて", "にゃ", "にゃぁ", "にゃあ", "にー", "の", "は", "はー", "ば", "へ", "も", "も〜", "もー", "や", "やあ",
    "よ", "より", "を", "をば", "ん", "ゝ", "カラ", "ッから", "ッと", "デ", "ト", "ニ", "ノ", "ヘ", "モ", "ヨリ", "ヲ", "ン", "ヶ",
    "乃", "之", "乎", "廼", "歟")
_READ_AHEAD = 8  # characters: the longest particle is 3 as Sudachi reads it, and a half-width kana with its mark is 2
_PLAIN = "\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff"  # kana and kanji that Sudachi reads as themselves
_NOT_PLAIN = re.compile(rf"[^{_PLAIN}\n]")  # a symbol, letter or digit: no kana, kanji or line end
_PLAIN_CHAR = re.compile(rf"[{_PLAIN}]")
_MARKS = "\u3099-\u309c\uff9e\uff9f"  # voiced-sound marks, which Sudachi joins to the kana before them (「てﾞ」 is 「で」)
_PARTICLE_FIRSTS = "".join(sorted({particle[0] for particle in CLAUSE_PARTICLES}))
# What may begin a particle: a character one begins with, any other that Sudachi may read as something
# else, or one before a voiced-sound mark. Where a plain kana or kanji no particle begins with stands, none does.
_MAY_BEGIN_PARTICLE = rf"[{re.escape(_PARTICLE_FIRSTS)}]|[^{_PLAIN}]|.[{_MARKS}]"
# Where a fault of a kind ``grammar`` repairs can be, by the characters of the words concerned (the words
# of a reading lie side by side): two particles (「にに」「もに」); a particle opening a clause; a
# volitional 「…よう」; 「…的の」. A text with none of these is not read by Sudachi for ``grammar``; in
# one with some, only the words there are looked at.
_MAY_NEED_REPAIR_AT = re.compile(  # one character each, what follows looked ahead at: every place is found
    rf"(?=[がをにへはも、。\n－・よ的])(?:(?P<starts>[がをにへはも](?=[がをに])|へ(?=へ)|は(?=は)|も(?=も))"
    rf"|(?P<opens>[、。\n－・](?={_MAY_BEGIN_PARTICLE}))|(?P<you>よ(?=う))|(?P<teki>的(?=の)))")
_MAY_BEGIN_PARTICLE_AT = re.compile(_MAY_BEGIN_PARTICLE)
_BEFORE_MARK = re.compile(rf".[{_MARKS}]")


def _may_open_with_particle(text: str, at: int) -> bool:
    """Whether the word Sudachi reads at ``text[at]`` can be a case or binding particle: the text there,
    as Sudachi reads it, begins with one.

    >>> _may_open_with_particle("、も使用", 1), _may_open_with_particle("、その", 1), _may_open_with_particle("、ﾃﾞｰﾀ", 1)
    (True, False, True)
    """
    if not _MAY_BEGIN_PARTICLE_AT.match(text, at):
        return False
    if not _BEFORE_MARK.match(text, at) and not _may_read_as_particle_first(text[at]):
        return False
    from .index.analysis import as_read

    return as_read(text[at:at + _READ_AHEAD]).startswith(CLAUSE_PARTICLES)


# Every character that stands before 「よう」 in a word of Sudachi's dictionary in a volitional form
# (意志推量形, 13,604 words: 「講じよう」「見よう」「用いよう」); none is 「よう」 alone, and Sudachi gives an unknown word
# no conjugated form. So a 「よう」 after any other (「するよう」「のよう」「うよう」) ends no volitional word.
# Checked against every entry of the installed dictionary by a slow test.
VOLITIONAL_BEFORE_YOU = frozenset(
    "〆いえかきぎけげこしじせぜちてでにねひびへべみめらりれゐゑエキケゲセテデネビベメリレ上下乾仕付伴似來働入兼冒凌出分割化卑受合"
    "向咽喰噎垂塡増定寝射尽居干当待得忘思惚惟想戯払投抜拉拭捜据掛換昇昏替来枯染構止歴気治消滲漕為烹煮熟獲癒盛看着瞥示礼立簸糅経置"
    "肖脱臥荒落著薨行衣補見視覧観訴診試貞貰跳躾込逃過鄙酬鋳開降露顧飛食駈魁")


def _may_end_volitional(text: str, at: int) -> bool:
    """Whether the 「よう」 at ``text[at]`` can end a word Sudachi reads in a volitional form: the character
    before it is one such a word has there (``VOLITIONAL_BEFORE_YOU``, as Sudachi reads it), or one that
    Sudachi may read joined to what is before it (a voiced-sound mark, a symbol).

    >>> _may_end_volitional("措置を講じよう契約", 5), _may_end_volitional("漏れることのないように", 8), _may_end_volitional("するように", 2)
    (True, True, False)
    """
    if not at:
        return False
    before = text[at - 1]
    return not _PLAIN_CHAR.match(before) or _as_read_char(before) in VOLITIONAL_BEFORE_YOU


@functools.lru_cache(maxsize=None)
def _as_read_char(char: str) -> str:
    """One character as Sudachi reads it (``as_read``), once per character."""
    from .index.analysis import as_read

    return as_read(char)


def _may_read_as_particle_first(char: str) -> bool:
    """Whether Sudachi reads ``char`` (with no voiced-sound mark after it) as a character a particle
    begins with, or as nothing (then what follows decides)."""
    read = _as_read_char(char)
    return not read or read[0] in _PARTICLE_FIRSTS


def grammar(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """Doubled or dropped kana and particles where the sentence no longer parses: for each fault that
    ``parse_faults`` finds, the one repair of its kind, kept only if ``repairs_fault`` says the clause
    then parses. An unknown word or unbalanced brackets are other steps' business.

    >>> correct_text("情報機器の利用方法等にに応じて必要であれば", steps=[grammar])[0]
    '情報機器の利用方法等に応じて必要であれば'
    >>> correct_text("ないようにすることもに、もし使用された場合", steps=[grammar])[0]
    'ないようにするとともに、もし使用された場合'
    >>> correct_text("ないようにするとともに、も使用された場合", steps=[grammar])[0]
    'ないようにするとともに、もし使用された場合'
    >>> correct_text("必要な措置を講じよう契約において定め", steps=[grammar])[0]
    '必要な措置を講じるよう契約において定め'
    >>> correct_text("内部監査を定期的の実施すること。ここにある。ののしる。", steps=[grammar])[0]
    '内部監査を定期的に実施すること。ここにある。ののしる。'
    """
    out = []
    for fault in _repairable_faults(text):  # a text with no place a repair could be is not read by Sudachi
        repair = _REPAIRS.get(fault.kind)
        candidate = repair(text, fault) if repair else None
        if candidate is not None and repairs_fault(text, candidate.start, candidate.end, candidate.after):
            out.append(candidate)
    return out


def _words(fault: Fault) -> str:
    return "/".join(m.surface for m in fault.words)


def _repair_particles(text: str, fault: Fault) -> Candidate | None:
    """The same particle twice: drop the second. Two that never follow one another: the set phrase one
    character away, else only propose dropping the second."""
    first, second = fault.words
    if first.surface == second.surface:
        return Candidate(second.start, second.end, "", "grammar.doubled-particle", 0.9,
                         f"助詞「{first.surface}」が二つ続き文にならない（Sudachi: {_words(fault)}）。一つにすると解析が通る")
    for phrase in SET_PHRASES:
        for start in range(max(0, fault.end - len(phrase)), min(fault.start + 1, len(text) - len(phrase) + 1)):
            span = text[start:start + len(phrase)]
            if sum(a != b for a, b in zip(span, phrase)) == 1 and repairs_fault(text, start, start + len(phrase), phrase):
                return Candidate(start, start + len(phrase), phrase, "grammar.set-phrase", 0.85,
                                 f"助詞「{first.surface}」のあとに「{second.surface}」は続かない（Sudachi: {_words(fault)}）。"
                                 f"「{span}」は定型の「{phrase}」の 1 字違いで、直すと解析が通る")
    return Candidate(second.start, second.end, "", "grammar.particles", 0.5,
                     f"助詞「{first.surface}」のあとに「{second.surface}」は続かない（Sudachi: {_words(fault)}）")


def _repair_particle_first(text: str, fault: Fault) -> Candidate | None:
    """A clause opening with a particle: the paired adverb it is the start of, when its partner word
    follows in the clause; else only propose dropping the particle."""
    (m,) = fault.words
    _, right = _clause(text, m.start, m.end, reach=30)
    for adverb, partners in PAIRED_ADVERBS.items():
        partner = next((p for p in partners if p in text[m.end:right]), None)
        if adverb.startswith(m.surface) and adverb != m.surface and partner:
            return Candidate(m.end, m.end, adverb[len(m.surface):], "grammar.dropped-kana", 0.85,
                             f"読点のあとの助詞「{m.surface}」では文にならない。後ろの「{partner}」と対になる「{adverb}」の"
                             f"「{adverb[len(m.surface):]}」が落ちたもの")
    return Candidate(m.start, m.end, "", "grammar.particles", 0.5, f"読点・行頭のすぐあとの助詞「{m.surface}」")


def _repair_volitional(text: str, fault: Fault) -> Candidate | None:
    """「講じよう契約」「行われよう、」: the 「る」 of 「講じるよう」 dropped."""
    said = text[fault.start:fault.end]
    at = fault.end - len("よう")
    return Candidate(at, at, "る", "grammar.dropped-kana", 0.85,
                     f"意志形「{said}」のあとに「{text[fault.end:fault.end + 2]}」は続かない: 「{said[:-2]}るよう」の「る」が落ちたもの")


def _repair_teki_no(text: str, fault: Fault) -> Candidate | None:
    """「定期的の実施する」: 「〜的に」 before a verb."""
    teki, no = fault.words
    return Candidate(no.start, no.end, "に", "grammar.particles", 0.85, f"「{teki.surface}の」のあとに「〜する」は続かない: 「{teki.surface}に」")


_REPAIRS: dict[str, Callable[[str, Fault], Candidate | None]] = {
    "particles": _repair_particles,
    "particle-first": _repair_particle_first,
    "volitional": _repair_volitional,
    "teki-no": _repair_teki_no,
}


_QUOTED = re.compile(r"「([^「」\n]{4,60})」")


def quoted_names(text: str, lexicon: Lexicon) -> list[Candidate]:
    """A name in 「」 (the guideline quotes the documents it cites) that is no lexicon entry but clearly
    closest to a document of the lexicon, and not a longer name containing it:
    「サービ仕接連合開示」→「サービス仕様適合開示書」.

    >>> [c.after for c in quoted_names("における「サービ仕接連合開示」を利用", load_lexicon())]
    ['サービス仕様適合開示書']
    """
    if "「" not in text:
        return []
    from rapidfuzz import fuzz, process

    out = []
    names = list(lexicon.documents)
    for m in _QUOTED.finditer(text):
        name = m.group(1)
        if name in lexicon.vocabulary or any(d in name for d in names):
            continue
        best = process.extract(name, names, scorer=fuzz.ratio, limit=2)
        if not best or best[0][1] < 65 or (len(best) > 1 and best[0][1] - best[1][1] < 15):
            continue
        confidence = round(min(0.95, best[0][1] / 100 + 0.15), 2)
        out.append(Candidate(m.start(1), m.end(1), best[0][0], "lexical.quoted-name", confidence,
                             f"「」の中の名前が語彙「{best[0][0]}」に近い（一致 {best[0][1]:.0f}%、次点との差 ≥ 15）"))
    return out


Step = Callable[[str, Lexicon], list[Candidate]]
STEPS: list[Step] = [radicals, section_numbers, edition_numbers, list_markers, brackets, bracket_spaces, sentence_end, grammar,
                     quoted_names, lexical]


# --- applying steps ----------------------------------------------------------------------------------

def correct_text(text: str, *, key: str = "", field_name: str = "text", lexicon: Lexicon | None = None,
                 overrides: Overrides | None = None, steps: Iterable[Step] = STEPS,
                 found: dict[tuple[Step, str], list[Candidate]] | None = None) -> tuple[str, list[Correction]]:
    """Run the steps over one text; return the corrected text and every correction made or proposed.
    ``found`` keeps what each step found in each text it was given, for the other texts of the same run
    that read alike (a step is a pure function of the text; what is decided of its finds depends on ``key``).

    >>> correct_text("経理層に報告し、52版の趣旨")[0]
    '経営層に報告し、5.2版の趣旨'
    """
    lexicon = lexicon or load_lexicon()
    overrides = overrides or Overrides()
    trail: list[Correction] = []
    for step in steps:
        if found is None:
            candidates = step(text, lexicon)
        elif (step, text) in found:
            candidates = found[(step, text)]
        else:
            candidates = found[(step, text)] = step(text, lexicon)
        if not candidates:
            continue
        candidates = _best_per_span(candidates)
        out, last = [], 0
        for c in candidates:
            before = text[c.start:c.end]
            decision = overrides.decision(key, before, c.after)
            if decision is not None:
                status = "accepted" if decision.action == "accept" else "rejected"
            else:
                status = "applied" if c.confidence >= APPLY_AT else "proposed"
            trail.append(Correction(key, field_name, c.start, before, c.after, c.step, c.confidence, c.evidence, status))
            if status in ("applied", "accepted"):
                out.append(text[last:c.start] + c.after)
                last = c.end
        text = "".join(out) + text[last:]
    for n, entry in overrides.additions(key):
        if entry.before in text:
            overrides.used.add(n)
            trail.append(Correction(key, field_name, text.index(entry.before), entry.before, entry.after, "override", 1.0,
                                    entry.note or "メンテナーの追加", "added"))
            text = text.replace(entry.before, entry.after)
    return text, trail


def heading_misreadings(read: str, title: str) -> list[tuple[str, str]]:
    """Given a 記載箇所 title as OCR read it and as the table of contents has it, return the spans of
    two to four characters misread one for one, with their right reading; nothing unless the two
    titles are plainly the same heading.

    >>> heading_misreadings("リスク分析を踏まえた要委任係適合性の管理", "リスク分析を踏まえた要求仕様適合性の管理")
    [('委任係', '求仕様')]
    """
    from rapidfuzz import fuzz

    if not read or not title or read == title or fuzz.ratio(read, title) < 70:
        return []
    return [(read[op.src_start:op.src_end], title[op.dest_start:op.dest_end]) for op in Levenshtein.opcodes(read, title)
            if op.tag == "replace" and 2 <= op.src_end - op.src_start <= 4 and op.src_end - op.src_start == op.dest_end - op.dest_start]


def heading_consensus(text: str, misread: list[tuple[str, str]]) -> list[Candidate]:
    """The same misreading as in the section's heading, where the table of contents gives the right one."""
    return [Candidate(m.start(), m.end(), right, "consensus.heading", 0.88, f"記載箇所の見出しで「{wrong}」は目次では「{right}」")
            for wrong, right in misread for m in re.finditer(re.escape(wrong), text)]


def item_steps(item: Item) -> list[Step]:
    """The steps for one item's text: ``STEPS``, and the misreadings of its section's heading where the
    table of contents has it right."""
    misread = heading_misreadings(item.heading_read, item.section_title)
    return [*STEPS, lambda text, lexicon, misread=misread: heading_consensus(text, misread)] if misread else list(STEPS)


def correct_rows(rows: list[TableRow], *, lexicon: Lexicon | None = None, overrides: Overrides | None = None) -> list[Correction]:
    """Correct every item and note of the rows in place (``text`` only); return the trail."""
    trail: list[Correction] = []
    seen: dict[tuple[str, str], tuple[str, list[Correction]]] = {}
    found: dict[tuple[Step, str], list[Candidate]] = {}  # the same text under other numbers: each step runs once
    steps: dict[tuple[str, str], list[Step]] = {}  # a section's heading is compared with its title once
    for row in rows:
        for item in row.items:
            cache_key = (item.id, item.text)
            if cache_key not in seen:  # one requirement read alike in many rows: one trail entry
                heading = (item.heading_read, item.section_title)
                if heading not in steps:
                    steps[heading] = item_steps(item)
                seen[cache_key] = correct_text(item.text, key=item.id, lexicon=lexicon, overrides=overrides, steps=steps[heading],
                                               found=found)
                trail.extend(seen[cache_key][1])
            item.text = seen[cache_key][0]
        for note in row.notes:
            key = "note:" + "+".join(note.annotates)
            cache_key = (key, note.text)
            if cache_key not in seen:
                seen[cache_key] = correct_text(note.text, key=key, field_name="note", lexicon=lexicon, overrides=overrides, found=found)
                trail.extend(seen[cache_key][1])
            note.text = seen[cache_key][0]
    return trail


def reading_fixes(problems: list) -> list[Correction]:
    """What ingest read as something else (a volume name, a section number from its title) and what
    the steps would change in lines that could not be placed: the review file lists them too."""
    trail = []
    for p in problems:
        where = str(p.source)
        if p.code in ("header-label", "section-from-title"):
            before, _, after = p.detail.partition("」を ")
            trail.append(Correction(f"{p.volume}:{where}", p.code, 0, before.lstrip("「"), after.removesuffix(" とした"),
                                    f"structural.{p.code}", 0.9, p.reason, "applied"))
        elif p.item is not None and p.text:
            _, found = correct_text(clean(strip_item_number(p.text)), key=f"{p.volume}:{where}", field_name="not-placed")
            trail.extend(Correction(c.id, c.field, c.position, c.before, c.after, c.step, c.confidence,
                                    f"{c.evidence}。遵守事項として置けなかった行なので requirements.jsonl には出ない（{p.code}）",
                                    "reported") for c in found)
    return trail


# --- consensus ---------------------------------------------------------------------------------------

def disagreements(base: str, other: str) -> list[tuple[int, int, str]]:
    """Given two readings of one text, return where ``other`` reads ``base[start:end]`` otherwise, and
    how: spans of up to 4 characters either side (OCR noise, not rewording); spans less than 2
    characters apart are one.

    >>> disagreements("ようにすることもに、もし使用", "ようにするとともに、も使用")
    [(5, 6, 'と'), (11, 12, '')]
    """
    spans: list[list[int]] = []
    for op in Levenshtein.opcodes(base, other):
        if op.tag == "equal":
            continue
        if spans and op.src_start - spans[-1][1] < 2 and op.dest_start - spans[-1][3] < 2:
            spans[-1][1], spans[-1][3] = op.src_end, op.dest_end
        else:
            spans.append([op.src_start, op.src_end, op.dest_start, op.dest_end])
    return [(i1, i2, other[j1:j2]) for i1, i2, j1, j2 in spans if i2 - i1 <= 4 and j2 - j1 <= 4]


def _judge(base: str, start: int, end: int, after: str) -> tuple[list[str], int]:
    """The faults and the language cost of the clause around ``start:end`` read as ``after``."""
    left, right = _clause(base, start, end)
    text = base[left:start] + after + base[end:right]
    return [f.kind for f in parse_faults(text)], language_cost(text)


def consensus_candidates(base: str, readings: Iterable[tuple[str, int]], own: int = 1) -> list[Candidate]:
    """Given a text read in ``own`` rows and other readings of it (text, rows), return for each
    disagreement the reading that parses: another reading wins where the text as it stands has a
    fault (``parse_faults``) the other has not, the fewest faults then the lowest language cost first.
    Where both parse, a reading of at least ``own + 2`` rows wins if it costs no more. A reading of 0
    rows (another requirement's text within the noise) can settle a fault but never outvotes.

    >>> [(c.start, c.after) for c in consensus_candidates("ようにするとともに、も使用された場合", [("ようにすることもに、もし使用された場合", 0)])]
    [(11, 'し')]
    >>> consensus_candidates("リスク評価の結果、医療情報の重要性", [("リスク評価を踏まえ、医療情報の重要性", 0)])
    []
    """
    votes: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for text, weight in readings:
        for start, end, after in disagreements(base, text):
            votes[(start, end)][after] += weight
    out = []
    for (start, end), counter in sorted(votes.items()):
        faults, cost = _judge(base, start, end, base[start:end])
        if not faults and max(counter.values()) < own + 2:
            continue  # nothing to settle and no reading with the rows to outvote: the others need not be judged
        judged = sorted((len(f), c, -counter[after], after, f) for after in counter for f, c in [_judge(base, start, end, after)])
        rows = own + sum(counter.values())
        n, best_cost, minus, after, best_faults = judged[0]
        if n < len(faults):
            why = "、".join(FAULTS[k] for k in sorted(Counter(faults) - Counter(best_faults)))
            whose = f"{-minus} 行の読み" if minus else "同じ文の別の遵守事項の読み"
            out.append(Candidate(start, end, after, "consensus", 0.9,
                                 f"{whose}「{after}」は解析が通り、いまの読み「{base[start:end]}」には{why}"
                                 f"（Sudachi のコスト {cost} → {best_cost}）"))
            continue
        voted = [(m, c, a) for k, c, m, a, _ in judged if k == len(faults) and -m >= own + 2 and c <= cost]
        if voted:
            minus, best_cost, after = min(voted)
            out.append(Candidate(start, end, after, "consensus", 0.85,
                                 f"{rows} 行のうち {-minus} 行がこの読みで、解析も劣らない（Sudachi のコスト {cost} → {best_cost}）"))
    return out


def consensus(requirement: Requirement, *, copies: Iterable[str] = ()) -> list[Correction]:
    """Settle the disagreements between the readings of one requirement (its ``variants`` within the
    OCR noise, weighted by their rows; ``copies``: texts of other requirements within the noise, which
    settle only faults) by ``consensus_candidates``; change ``requirement.text``; return the trail."""
    readings = [(v.text, len(v.sources)) for v in requirement.variants if same_text(v.text, requirement.text)]
    readings += [(text, 0) for text in copies]
    if not readings:
        return []
    base = requirement.text
    trail, out, last = [], [], 0
    for c in _best_per_span(consensus_candidates(base, readings, len(requirement.sources))):
        trail.append(Correction(requirement.id, "text", c.start, base[c.start:c.end], c.after, c.step, c.confidence, c.evidence, "applied"))
        out.append(base[last:c.start] + c.after)
        last = c.end
    requirement.text = "".join(out) + base[last:]
    return trail


def consensus_all(requirements: list[Requirement]) -> list[Correction]:
    """``consensus`` for every requirement, with the texts of the other requirements of its volume that
    are within the OCR noise of it as ``copies`` (the sample repeats rows under other numbers); each
    judged on the texts as they were before any of them changed."""
    copies = noise_copies([(r.volume, r.text) for r in requirements])
    trail = []
    for requirement, same in zip(requirements, copies):
        trail += consensus(requirement, copies=same)
    return trail


def noise_copies(texts: list[tuple[str, str]]) -> list[list[str]]:
    """Given (volume, text) pairs, return for each the other texts of its volume within the OCR noise
    (``fuzz.ratio`` ≥ ``NOISE``), in the order given. Only the pairs that can pass are measured, in one C
    call: a character of one text that the other lacks is in no common subsequence, so with ``kept``
    the characters of a text whose kind the other has, the two share at most ``min(kept, kept')`` in
    order and ``fuzz.ratio`` is at most ``200 · min(kept, kept') ÷ both lengths`` (which also bounds
    the ratio of texts unlike in length). Every pair's ``kept`` is one matrix product of the texts'
    character counts.

    >>> noise_copies([("gov", "経営層に報告すること"), ("gov", "経理層に報告すること"), ("mgmt", "経営層に報告すること")])
    [['経理層に報告すること'], ['経営層に報告すること'], []]
    """
    from rapidfuzz import fuzz, process

    by_volume: dict[str, list[int]] = {}
    for n, (volume, _) in enumerate(texts):
        by_volume.setdefault(volume, []).append(n)
    pairs: list[tuple[int, int]] = []
    for members in by_volume.values():
        own = [texts[n][1] for n in members]
        lengths = numpy.array([len(text) for text in own], dtype=numpy.int64)
        codes = numpy.frombuffer("".join(own).encode("utf-32-le"), dtype=numpy.uint32)
        kinds, kind_of = numpy.unique(codes, return_inverse=True)
        counts = numpy.bincount(numpy.repeat(numpy.arange(len(own)), lengths) * len(kinds) + kind_of,
                                minlength=len(own) * len(kinds)).reshape(len(own), len(kinds)).astype(numpy.float64)
        kept = counts @ (counts > 0).T  # [i, j]: the characters of text i whose kind text j has
        rows, cols = numpy.triu_indices(len(own), k=1)
        shared, both = numpy.minimum(kept[rows, cols], kept[cols, rows]), lengths[rows] + lengths[cols]
        alike = 200 * shared >= NOISE * both - 1e-9
        rows, cols = rows[alike], cols[alike]
        scores = process.cpdist([own[i] for i in rows], [own[j] for j in cols], scorer=fuzz.ratio, score_cutoff=NOISE,
                                dtype=numpy.float64)
        pairs += [(members[int(rows[k])], members[int(cols[k])]) for k in numpy.flatnonzero(scores >= NOISE)]
    near: list[set[int]] = [set() for _ in texts]
    for i, j in pairs:
        near[i].add(j)
        near[j].add(i)
    return [[texts[j][1] for j in sorted(found)] for found in near]


# --- numbering ---------------------------------------------------------------------------------------

def numbering(rows: list[TableRow]) -> list[Correction]:
    """Item numbers that go backwards within one cell, and gaps in a section's numbers: reported."""
    trail: list[Correction] = []
    for row in rows:
        cells: dict[tuple, list] = defaultdict(list)
        for item in row.items:
            cells[(item.volume, item.source.column, item.source.page)].append(item)
        for items in cells.values():
            for a, b in zip(items, items[1:]):
                if b.section == a.section and b.item <= a.item:
                    trail.append(Correction(b.id, "number", 0, CIRCLED[a.item - 1], CIRCLED[b.item - 1], "numbering", 0.0,
                                            f"{row.source} で {CIRCLED[a.item - 1]} の後に {CIRCLED[b.item - 1]}", "reported"))
    sections: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in rows:
        for item in row.items:
            sections[(item.volume, item.section)].add(item.item)
    for (volume, section), numbers in sorted(sections.items(), key=lambda kv: id_key(f"{kv[0][0]}-{kv[0][1]}-1")):
        missing = sorted(set(range(1, max(numbers) + 1)) - numbers)
        if missing:
            trail.append(Correction(f"{volume}-{section}", "number", 0, "", "、".join(CIRCLED[n - 1] for n in missing), "numbering", 0.0,
                                    f"{max(numbers)} 番までのうち見つからない番号（サンプルが表の一部なら当然）", "reported"))
    return trail


# --- overrides ---------------------------------------------------------------------------------------

def load_overrides(folder: Path, *, limits: Limits = LIMITS) -> Overrides:
    """Given an edition folder, read its ``corrections.tsv`` (action, id, before, after, note).

    Read as text by ``textfile`` (UTF-8 with or without BOM, UTF-16, Shift_JIS; any line ends), one
    line a record: tabs separate, a field never runs onto the next line, so an error names the line
    where it is. A field over ``limits.max_field_chars`` is an error too.
    """
    path = folder / OVERRIDES
    if not path.exists() and not path.is_symlink():
        return Overrides()
    text = textfile.read_text(path, limits=limits, what="corrections.tsv", error=ManifestError)
    entries = []
    for n, cells in textfile.tsv_rows(text, path, limits=limits, error=ManifestError):
        if len(cells) < 4 or cells[0] not in ("accept", "reject", "add") or not cells[1] or not cells[2]:
            raise ManifestError(f"{path}:{n}行: 「accept|reject|add<TAB>ID<TAB>前<TAB>後<TAB>メモ」の形ではありません"
                                "（タブで区切ってください。判断でない行は # で始めてください）")
        entries.append(Override(cells[0], cells[1], cells[2], cells[3], cells[4] if len(cells) > 4 else "", n))
    return Overrides(entries)


def unused_overrides(overrides: Overrides) -> list[Correction]:
    """Overrides that matched nothing: a maintainer should know their line had no effect."""
    return [Correction(e.id, "override", 0, e.before, e.after, "override", 0.0, f"{OVERRIDES}:{e.line}行 {e.action} は当てはまる箇所がない", "reported")
            for n, e in enumerate(overrides.entries) if n not in overrides.used]


def write_trail(path: Path, trail: list[Correction]) -> None:
    """``corrections.tsv``: one correction a line, sorted by requirement, then field and position."""
    def order(c: Correction):
        head = c.id.split(":")[-1].split("+")[0]
        try:
            key = id_key(head)
        except (ValueError, IndexError):
            key = (9,)
        return (key, c.id, c.field, c.position, c.step, c.after)

    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(Correction.COLUMNS)
        for c in sorted(trail, key=order):
            writer.writerow(c.row())
