"""The ``correct`` stage: OCR corrections, each one explained, some only proposed.

    structural  numbers (「2. 2. 1」→「2.2.1」, 「52版」→「5.2版」), list markers at a line start
                (「ー」「一」→「－」), spaces inside brackets, Kangxi radicals (⽬→目), a dropped 「こ」
                at a sentence end (「求めると。」→「求めること。」)
    lexical     near-misses of the guideline's vocabulary (``data/lexicon.tsv``: 経理層→経営層,
                バターンファイル→パターンファイル, eberos→Kerberos), scored by how OCR confuses
                characters and whether Sudachi knows the text as it stands
    [link]
    consensus   the readings of one requirement in several rows, character by character
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from . import textfile
from .errors import ManifestError
from .limits import LIMITS, Limits
from .model import CIRCLED, Requirement, TableRow, id_key
from .normalize import RADICALS, clean, repair_char, strip_item_number

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

    def decision(self, key: str, before: str, after: str) -> Override | None:
        for n, entry in enumerate(self.entries):
            if entry.action in ("accept", "reject") and entry.id == key and entry.before == before and entry.after == after:
                self.used.add(n)
                return entry
        return None

    def additions(self, key: str) -> list[tuple[int, Override]]:
        return [(n, e) for n, e in enumerate(self.entries) if e.action == "add" and e.id == key]


# --- the lexicon -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lexicon:
    terms: tuple[str, ...]
    documents: tuple[str, ...] = ()

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.terms)


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

_SPACED_NUMBER = re.compile(r"(?<=\d)\s*\.\s+(?=\d)|(?<=\d)\s+\.\s*(?=\d)")
_EDITION = re.compile(r"(?<![\d.])([1-9])([0-9])(?=版)")
_LINE_START_DASH = re.compile(r"(?m)^[ー一—―‐](?=[^\s\dー一])")
_BRACKET_SPACE = re.compile(r"(?<=[(（「『【])[ ]+|(?<! )[ ]+(?=[)）」』】])")  # (?<! ): linear on long runs of spaces


def section_numbers(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「2. 2. 1」→「2.2.1」: no space inside a section number.

    >>> [c.after for c in section_numbers("5.2版 6. 2. 1 の趣旨")]
    ['.', '.']
    """
    return [Candidate(m.start(), m.end(), ".", "structural.section-number", 0.95, "節番号の中の空白") for m in _SPACED_NUMBER.finditer(text)]


def edition_numbers(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「52版」→「5.2版」: editions of the guideline are numbered with a point.

    >>> [c.after for c in edition_numbers("52版4.1B(2)の趣旨")]
    ['5.2']
    """
    return [Candidate(m.start(), m.end(), f"{m.group(1)}.{m.group(2)}", "structural.edition", 0.95, "版の番号は「5.2版」の形")
            for m in _EDITION.finditer(text)]


def list_markers(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """A line starting with 「ー」 (which no line may start with) or, in a list, 「一」「—」: the marker 「－」.

    >>> [c.after for c in list_markers("次の対策を実施すること。\\nー入力者の識別\\n一記録の確定")]
    ['－', '－']
    """
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
    return [Candidate(m.start(), m.end(), "", "structural.bracket", 0.9, "括弧の内側の空白") for m in _BRACKET_SPACE.finditer(text)]


_DROPPED_KO = re.compile(r"(?<=[るすう])と(?=。)")


def sentence_end(text: str, lexicon: Lexicon | None = None) -> list[Candidate]:
    """「…を求めると。」→「…を求めること。」: a requirement ends in 「こと。」, and 「…ると。」 ends no sentence.

    >>> [c.after for c in sentence_end("その結果の報告を求めると。")]
    ['こと']
    """
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
    "バパ", "ビピ", "ブプ", "ベペ", "ボポ", "ハバ", "ヒビ", "フブ", "ヘベ", "ホボ", "カガ", "タダ", "テデ", "トド", "シジ", "ソゾ",
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
    for term in lexicon.terms:
        if len(term) < 3:
            continue
        latin = term.isascii()
        budget = 1 if len(term) <= 6 else 2 if len(term) <= 11 else 3
        exact_ends = [m.end() for m in re.finditer(re.escape(term), text)]  # ascending, and so are the starts
        for start, end in _windows(text, term, budget, latin):
            span = text[start:end]
            if span in lexicon.vocabulary:
                continue
            distance = Levenshtein.distance(span, term, score_cutoff=budget)
            if distance > budget:
                continue
            ops = Levenshtein.editops(span, term)
            if _overlaps_exact(exact_ends, len(term), start, end) and not all(_known_edit(op, span, term) for op in ops):
                continue  # the term itself stands here, read right
            if not latin and any(_at_edge(op, span) and not _known_edit(op, span, term) for op in ops):
                continue  # an edit at either end that OCR does not make: the term beside other words, not misread
            confidence, why = _lexical_confidence(span, term, ops)
            found.append(Candidate(start, end, term, "lexical", confidence, f"語彙「{term}」に近い（{why}）"))
    return _best_per_span(found)


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


def _at_edge(op, span: str) -> bool:
    return op.src_pos == 0 or op.src_pos >= len(span) - (1 if op.tag == "replace" else 0)


def _windows(text: str, term: str, budget: int, latin: bool) -> Iterable[tuple[int, int]]:
    """Spans of ``text`` that may be ``term`` misread: whole Latin words for a Latin term; else spans
    around the places where two characters of the term stand together."""
    if latin:
        for m in re.finditer(r"[A-Za-z0-9][A-Za-z0-9.\-]*", text):
            if abs(len(m.group()) - len(term)) <= budget:
                yield m.start(), m.end()
        return
    starts = set()
    for i in range(len(term) - 1):
        pair = term[i:i + 2]
        for m in re.finditer(re.escape(pair), text):
            for shift in range(-budget, budget + 1):
                starts.add(m.start() - i + shift)
    for start in sorted(s for s in starts if s >= 0):
        for length in range(len(term) - budget, len(term) + budget + 1):
            if 0 < length and start + length <= len(text):
                yield start, start + length


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
    from .index.analysis import SudachiTokenizer

    tokenizer, _ = SudachiTokenizer.sudachi()
    tokens = list(tokenizer.tokenize(span))
    return len(tokens) == 1 and not tokens[0].is_oov()


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


_QUOTED = re.compile(r"「([^「」\n]{4,60})」")


def quoted_names(text: str, lexicon: Lexicon) -> list[Candidate]:
    """A name in 「」 (the guideline quotes the documents it cites) that is no lexicon entry but clearly
    closest to a document of the lexicon, and not a longer name containing it:
    「サービ仕接連合開示」→「サービス仕様適合開示書」.

    >>> [c.after for c in quoted_names("における「サービ仕接連合開示」を利用", load_lexicon())]
    ['サービス仕様適合開示書']
    """
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
STEPS: list[Step] = [radicals, section_numbers, edition_numbers, list_markers, bracket_spaces, sentence_end, quoted_names, lexical]


# --- applying steps ----------------------------------------------------------------------------------

def correct_text(text: str, *, key: str = "", field_name: str = "text", lexicon: Lexicon | None = None,
                 overrides: Overrides | None = None, steps: Iterable[Step] = STEPS) -> tuple[str, list[Correction]]:
    """Run the steps over one text; return the corrected text and every correction made or proposed.

    >>> correct_text("経理層に報告し、52版の趣旨")[0]
    '経営層に報告し、5.2版の趣旨'
    """
    lexicon = lexicon or load_lexicon()
    overrides = overrides or Overrides()
    trail: list[Correction] = []
    for step in steps:
        candidates = _best_per_span(step(text, lexicon))
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


def correct_rows(rows: list[TableRow], *, lexicon: Lexicon | None = None, overrides: Overrides | None = None) -> list[Correction]:
    """Correct every item and note of the rows in place (``text`` only); return the trail."""
    trail: list[Correction] = []
    seen: dict[tuple[str, str], tuple[str, list[Correction]]] = {}
    for row in rows:
        for item in row.items:
            cache_key = (item.id, item.text)
            if cache_key not in seen:  # one requirement read alike in many rows: one trail entry
                misread = heading_misreadings(item.heading_read, item.section_title)
                steps = [*STEPS, lambda text, lexicon, misread=misread: heading_consensus(text, misread)] if misread else STEPS
                seen[cache_key] = correct_text(item.text, key=item.id, lexicon=lexicon, overrides=overrides, steps=steps)
                trail.extend(seen[cache_key][1])
            item.text = seen[cache_key][0]
        for note in row.notes:
            key = "note:" + "+".join(note.annotates)
            cache_key = (key, note.text)
            if cache_key not in seen:
                seen[cache_key] = correct_text(note.text, key=key, field_name="note", lexicon=lexicon, overrides=overrides)
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

def consensus(requirement: Requirement) -> list[Correction]:
    """Where readings of one requirement disagree, let each differing span take the reading of the
    majority of rows (at least two rows more than the chosen text), character by character."""
    readings = [(requirement.text, len(requirement.sources))] + [(v.text, len(v.sources)) for v in requirement.variants]
    if len(readings) < 2:
        return []
    base = requirement.text
    votes: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for text, weight in readings[1:]:
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, base, text, autojunk=False).get_opcodes():
            if tag != "equal" and i2 - i1 <= 4 and j2 - j1 <= 4:
                votes[(i1, i2)][text[j1:j2]] += weight
    trail, out, last = [], [], 0
    for (i1, i2), counter in sorted(votes.items()):
        after, count = counter.most_common(1)[0]
        own = readings[0][1]
        if count >= own + 2 and i1 >= last:
            trail.append(Correction(requirement.id, "text", i1, base[i1:i2], after, "consensus", round(count / (count + own), 2),
                                    f"{count + own} 行のうち {count} 行がこの読み", "applied"))
            out.append(base[last:i1] + after)
            last = i2
    if trail:
        requirement.text = "".join(out) + base[last:]
    return trail


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
