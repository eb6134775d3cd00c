"""The query model, one for the command line and the site: fold → parse → match → rank.

The same steps, written again in JavaScript, run in the browser (``pipeline/assets/query.js``);
``tests/test_query_parity.py`` runs both on every query of the relevance sets and on every text
of the knowledge base and requires the same folded strings and the same ranking.

- ``fold`` is the form both a query and a text are compared in: width and case unified, small kana
  as large (ウィ = ウイ), ヴ as ブ, a long vowel mark ending a katakana word dropped (サーバ = サーバー),
  spaces and punctuation dropped. A query word typed in hiragana is also tried as katakana
  (ばっくあっぷ = バックアップ); text is never turned to katakana, so メール does not match 定める.
  Matching is by substring of folded text, so a part of a compound matches (二要素 in 二要素認証);
  a katakana word inside a longer one (ログ in プログラム) counts less.
- ``parse`` reads the operators: words separated by spaces are all wanted (a text with only some
  of them still comes, below, saying which matched); ``OR`` between words accepts either; ``-word``
  excludes; ``"…"`` wants the words together as typed. A word also matches by its synonyms
  (``data/synonyms.tsv``) and, where it is a compound the texts don't hold whole, by its parts
  (words of the knowledge base's own vocabulary, all in one text). An ID (``CTRL-13-06``) finds
  that requirement.
- A document that does not match every word still comes, below those that do, ranked by how much
  of the query it covers: a compound word counts by its parts (監視カメラ → 監視, カメラ).
- ``rank`` scores each document: per query word, the best field it matched (text above other
  readings, above section title and 5.2 notes), a synonym or parts match counting less, weighted
  by how rare the word is in the edition; the words standing together as typed lift a text.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field

SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖ", "アイウエオツヤユヨワカケあいうえおつやゆよわかけ")
LONG_VOWEL = "\u30fc"
FIELDS = {"text": 3.0, "variants": 2.0, "title": 1.0, "notes": 1.0}  # folded fields of a document and their weight
ID_WEIGHT = 10.0  # a query word that is the document's ID
SYNONYM_WEIGHT = 0.6
PARTS_WEIGHT = 0.5
EMBEDDED_WEIGHT = 0.4  # a katakana word found only inside a longer katakana word (ログ in プログラム)
REPEAT_BONUS = 0.1  # each further occurrence of a word in a field, up to MAX_REPEAT
MAX_REPEAT = 5
TOGETHER_BONUS = 1.5  # the query's words stand together, in order, in the text
SIMILAR_SHARE = 0.6  # when nothing matches: a text holding this share of a word's character pairs
SIMILAR_WEIGHT = 0.3
OR_WORDS = ("OR", "|")
_ID = re.compile(r"^(gov|mgmt|ctrl)-(\d+(?:\.\d+)*)-(\d+)$|^(unplaced)-(?:(\d+)-)?(p?)(\d+)-(\d+)$")
# What separates words in a query: Python's and the browser's whitespace together, spelt out so both agree.
SPACE = "\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_TOKENS = re.compile(f'"([^"]*)"?|([^{SPACE}]+)')
_RUNS = re.compile(r"[\u3041-\u309f]+|[\u30a1-\u30ff]+|[\u3400-\u9fff\uf900-\ufaff々〆]+|[a-z0-9]+|.")


def is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30fa" or ch == LONG_VOWEL


@functools.lru_cache(maxsize=1 << 16)  # a pure function of one character, called for every character of every text
def fold_char(ch: str, katakana: bool = False) -> str:
    """One character in the form texts are compared in (without the context rules of ``fold``);
    ``katakana``: hiragana as katakana.

    >>> [fold_char(c) for c in "ぁＡ①、ヴ"], fold_char("ぱ", katakana=True)
    (['あ', 'a', '1', '', 'ブ'], 'パ')
    """
    out = []
    for c in unicodedata.normalize("NFKC", ch).lower():
        if katakana and ("\u3041" <= c <= "\u3096" or c in "\u309d\u309e"):
            c = chr(ord(c) + 0x60)
        c = c.translate(SMALL_KANA)
        if c == "\u30f4":
            c = "\u30d6"
        if c in "\u3099\u309a" or unicodedata.category(c)[0] in "LN":
            out.append(c)
    return "".join(out)


def fold_map(text: str, katakana: bool = False) -> tuple[str, list[int]]:
    """``text`` folded, and for each folded character the index of the character of ``text`` it
    came from (to mark a match in the text as written).

    >>> fold_map("サーバー、メール")
    ('サーバメール', [0, 1, 2, 5, 6, 7])
    """
    out: list[str] = []
    where: list[int] = []
    pending = -1  # a long vowel mark after katakana: kept only if katakana follows
    index = 0
    while index < len(text):
        if not katakana:  # kanji and (large) hiragana fold to themselves and end a long vowel: a run at a time
            run = _PLAIN_RUN.match(text, index)
            if run:
                pending = -1
                out.extend(run.group())
                where.extend(range(index, run.end()))
                index = run.end()
                continue
        ch = text[index]
        folded = fold_char(ch, katakana)
        if not folded:  # a space or a mark ends a word
            pending = -1
        for c in folded:
            if c in "\u3099\u309a":  # a voicing mark on its own (ﾊﾞ, ハ゛) joins the kana before it, or goes
                joined = fold_char(unicodedata.normalize("NFC", out[-1] + c), katakana) if out else ""
                if len(joined) == 1:
                    out[-1] = joined
                continue
            if c == LONG_VOWEL and out and is_katakana(out[-1]):
                if pending < 0:
                    pending = index
                continue
            if pending >= 0 and is_katakana(c):
                out.append(LONG_VOWEL)
                where.append(pending)
            pending = -1
            out.append(c)
            where.append(index)
        index += 1
    return "".join(out), where


# Characters that ``fold_char`` (without ``katakana``) leaves as they are and that are no katakana:
# unified kanji, 々〆 and the hiragana that are not small (tests/test_query.py checks each one).
_PLAIN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\u3005\u3006\u3042\u3044\u3046\u3048\u304a-\u3062\u3064-\u3082"
                        "\u3084\u3086\u3088-\u308d\u308f-\u3094]+")


def fold(text: str, katakana: bool = False) -> str:
    """The form a query and a text are compared in.

    >>> fold("ＵＳＢメモリー・ウィルス") == fold("usbメモリウイルス")
    True
    >>> fold("ばっくあっぷ", katakana=True) == fold("バックアップ"), fold("める") == fold("メル")
    (True, False)
    """
    return fold_map(text, katakana)[0]


def normalize_id(word: str) -> str | None:
    """A word typed as an ID, in the form IDs are written; None if it is not one.

    >>> normalize_id("ＣＴＲＬ－１３－０６"), normalize_id("gov-01.1-1"), normalize_id("unplaced-2-p03-1"), normalize_id("ログ")
    ('ctrl-13-6', 'gov-1.1-1', 'unplaced-2-p3-1', None)
    """
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", word)).lower().replace("\u2212", "-").replace("\u30fc", "-")
    match = _ID.match(text)
    if not match:
        return None
    if match.group(1):
        section = ".".join(str(int(n)) for n in match.group(2).split("."))
        return f"{match.group(1)}-{section}-{int(match.group(3))}"
    source = f"{int(match.group(5))}-" if match.group(5) else ""
    return f"unplaced-{source}{match.group(6)}{int(match.group(7))}-{int(match.group(8))}"


@dataclass(frozen=True)
class Alternative:
    """One way a query word matches: all ``parts`` (folded) in one field, or the document's ID."""

    parts: tuple[str, ...]
    weight: float
    label: str  # what it is to the user: the word, its synonym, its parts joined with +
    id: str = ""  # an ID to match instead of text
    need: int = 0  # match when this many of the parts are in the field (0: all of them)


@dataclass(frozen=True)
class Clause:
    """What one query word (or words joined by OR, or a quoted phrase) asks for: any alternative."""

    word: str  # as typed
    alternatives: tuple[Alternative, ...]
    pieces: tuple[Clause, ...] = ()  # what a document not holding the word may match in part (``pieces``)


@dataclass(frozen=True)
class Query:
    wanted: tuple[Clause, ...]
    excluded: tuple[Clause, ...] = ()
    together: str = ""  # the wanted words' folded forms joined, when there are several plain words


@dataclass(frozen=True)
class Vocabulary:
    """What a query word expands to: synonym groups (folded word → the group's words as written),
    other spellings of the knowledge base's words (folded → folded: 順守 → 遵守, 持ち出し → 持出し)
    and its words (folded), for a compound's parts."""

    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    words: frozenset[str] = frozenset()
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)


def split_query(text: str) -> list[tuple[str, str]]:
    """A query as typed → (kind, word) tokens: kind "word", "phrase", "or" or "not".

    >>> split_query('ログ "保存 期間" -世代 認証 OR 暗号')
    [('word', 'ログ'), ('phrase', '保存 期間'), ('not', '世代'), ('word', '認証'), ('or', 'OR'), ('word', '暗号')]
    """
    text = unicodedata.normalize("NFKC", text)
    tokens: list[tuple[str, str]] = []
    for match in _TOKENS.finditer(text):
        if match.group(2) is None:
            if match.group(1).strip():
                tokens.append(("phrase", match.group(1).strip()))
            continue
        word = match.group(2)
        if word in OR_WORDS:
            tokens.append(("or", word))
        elif word.startswith("-") and len(word) > 1 and not normalize_id(word):
            tokens.append(("not", word[1:]))
        else:
            tokens.append(("word", word))
    return tokens


def cut(word: str, words: frozenset[str], *, loose: bool = False) -> tuple[str, ...]:
    """A folded word cut into the fewest known words of two or more characters (the longest first
    where there is a choice); () if it can't be cut so. ``loose``: pieces that are not known words
    may stand between known ones (as few characters of them as possible).

    >>> cut("外部保存委託", frozenset({"外部", "保存", "委託", "外部保存"}))
    ('外部保存', '委託')
    >>> cut("入退室管理", frozenset({"管理", "入室"})), cut("入退室管理", frozenset({"管理", "入室"}), loose=True)
    ((), ('入退室', '管理'))
    """
    best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (len(word) + 1)
    best[0] = (0, 0, ())
    for start in range(len(word)):
        if best[start] is None:
            continue
        unknown, count, parts = best[start]
        for end in range(len(word), start, -1):  # longest piece first: the first found of a cost wins
            piece = word[start:end]
            known = len(piece) >= 2 and piece in words
            if not known and not loose:
                continue
            cost = (unknown + (0 if known else len(piece)), count + 1)
            if best[end] is None or cost < best[end][:2]:
                best[end] = (*cost, (*parts, piece))
    found = best[len(word)]
    return found[2] if found else ()


def segment(word: str, words: frozenset[str]) -> tuple[str, ...]:
    """A folded compound cut into its known words; () if it is a known word itself, short, or can't be cut.

    >>> segment("コンピュータウイルス", frozenset({"コンピュータ", "ウイルス"}))
    ('コンピュータ', 'ウイルス')
    """
    if word in words or len(word) < 4:
        return ()
    parts = cut(word, words)
    return parts if len(parts) > 1 else ()


def alternatives(word: str, vocabulary: Vocabulary, *, phrase: bool = False) -> list[Alternative]:
    """The ways one word matches: itself (and, typed in hiragana, as katakana), its ID, its synonyms
    (a word's group; else the groups of longer words it is part of, and the word with a shorter
    synonym inside it replaced), its parts (not for a phrase).

    >>> [a.label for a in alternatives("ばっくあっぷ", Vocabulary())]
    ['ばっくあっぷ', 'バツクアツプ']
    """
    folded = fold(word)
    found: list[Alternative] = []
    if folded:
        found.append(Alternative((folded,), 1.0, word))
        as_katakana = fold(word, katakana=True)
        if as_katakana != folded:
            found.append(Alternative((as_katakana,), 1.0, as_katakana))
        for spelling in vocabulary.spellings.get(folded, ()):
            if spelling not in (folded, as_katakana):
                found.append(Alternative((spelling,), 1.0, spelling))
    if phrase:
        return found
    if req_id := normalize_id(word):
        found.append(Alternative((), 1.0, req_id, id=req_id))
    synonyms = [(fold(w), w) for w in vocabulary.synonyms.get(folded, ())]
    if len(folded) >= 2 and not synonyms:
        for key, group in sorted(vocabulary.synonyms.items()):
            if folded in key:  # 二要素 → the group of 二要素認証
                synonyms += [(fold(w), w) for w in group]
            elif len(key) >= 2 and key in folded:  # 入退室管理 → 入室管理
                synonyms += [(folded.replace(key, fold(w)), folded.replace(key, fold(w))) for w in group]
    seen = {a.parts for a in found}
    for other, label in synonyms:
        if other and (other,) not in seen:
            seen.add((other,))
            found.append(Alternative((other,), SYNONYM_WEIGHT, label))
    if folded and (parts := segment(folded, vocabulary.words)):
        found.append(Alternative(parts, PARTS_WEIGHT, "+".join(parts)))
    return found


def pieces(word: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The pieces a document may match when it does not hold a whole word: its runs of kanji,
    katakana and Latin letters (a kanji run cut into known words), without the kana that bind them;
    () when the word is one piece.

    >>> pieces("監視カメラ", Vocabulary()), pieces("IDの棚卸し", Vocabulary()), pieces("ばっくあっぷ", Vocabulary())
    (('監視', 'カメラ'), ('id', '棚卸'), ())
    """
    folded = fold(word)
    runs = _RUNS.findall(folded)
    found: list[str] = []
    for run in runs:
        if "\u3041" <= run[0] <= "\u309f":
            continue
        found += (cut(run, vocabulary.words, loose=True) if len(run) >= 4 else ()) or [run]
    found = list(dict.fromkeys(found))
    return tuple(found) if len(found) > 1 else ()


def parse(text: str, vocabulary: Vocabulary = Vocabulary()) -> Query:
    """A query as typed → what it wants and excludes.

    >>> q = parse("認証 OR 暗号 -世代")
    >>> [c.word for c in q.wanted], [c.word for c in q.excluded]
    (['認証 OR 暗号'], ['世代'])
    """
    wanted: list[Clause] = []
    excluded: list[Clause] = []
    plain: list[str] = []
    join_next = False
    for kind, word in split_query(text):
        if kind == "or":
            join_next = bool(wanted)
            continue
        alts = tuple(alternatives(word, vocabulary, phrase=kind == "phrase"))
        if not alts:
            join_next = False
            continue
        if kind == "not":
            excluded.append(Clause(word, alts))
        elif join_next:
            last = wanted.pop()
            wanted.append(Clause(f"{last.word} OR {word}", last.alternatives + alts))
            plain = []
        else:
            parts = () if kind == "phrase" else pieces(word, vocabulary)
            piece_clauses = tuple(Clause(p, tuple(alternatives(p, vocabulary))) for p in parts)
            wanted.append(Clause(f'"{word}"' if kind == "phrase" else word, alts, piece_clauses))
            plain.append(alts[0].parts[0] if alts[0].parts else "")
        join_next = False
    together = "".join(plain) if len(plain) > 1 and len(plain) == len(wanted) and all(plain) else ""
    return Query(tuple(wanted), tuple(excluded), together)


def similar(query: Query) -> Query:
    """The query loosened for when nothing matches it (a misspelt or OCR-garbled word): each wanted
    word of three or more characters matches a text holding most of its character pairs.

    >>> similar(parse("電子カルタ")).wanted[0].alternatives[0].parts
    ('電子', '子カ', 'カル', 'ルタ')
    """
    wanted = []
    for clause in query.wanted:
        folded = clause.alternatives[0].parts[0] if clause.alternatives[0].parts else ""
        if len(folded) >= 3:
            pairs = tuple(dict.fromkeys(folded[i:i + 2] for i in range(len(folded) - 1)))
            need = math.ceil(len(pairs) * SIMILAR_SHARE)
            wanted.append(Clause(clause.word, (Alternative(pairs, SIMILAR_WEIGHT, clause.word, need=need),)))
    return Query(tuple(wanted), query.excluded)


def occurs_whole(part: str, value: str, words: frozenset[str] = frozenset()) -> bool:
    """``part`` occurs in ``value`` as a word: for a katakana part, not inside a longer katakana word
    unless what stands before and after it there are the knowledge base's words (コンピュータ|ウイルス).

    >>> occurs_whole("ログ", "プログラム"), occurs_whole("ログ", "ログを保存")
    (False, True)
    >>> occurs_whole("ウイルス", "コンピュータウイルス", frozenset({"コンピュータ", "ウイルス"}))
    True
    """
    if not all(is_katakana(c) for c in part):
        return part in value
    start = value.find(part)
    while start >= 0:
        end = start + len(part)
        first, last = start, end
        while first > 0 and is_katakana(value[first - 1]):
            first -= 1
        while last < len(value) and is_katakana(value[last]):
            last += 1
        if (first == start or cut(value[first:start], words)) and (last == end or cut(value[end:last], words)):
            return True
        start = value.find(part, start + 1)
    return False


def clause_score(clause: Clause, doc: dict, words: frozenset[str] = frozenset()) -> float:
    """How well one document matches one clause (0: not at all): the best alternative in the best field.

    ``doc`` has ``id`` and the folded fields of ``FIELDS``."""
    best = 0.0
    for alt in clause.alternatives:
        if alt.id:
            if doc["id"] == alt.id:
                best = max(best, alt.weight * ID_WEIGHT)
            continue
        for name, weight in FIELDS.items():
            value = doc.get(name) or ""
            if alt.need:
                share = sum(1 for part in alt.parts if part in value)
                if share >= alt.need:
                    best = max(best, alt.weight * weight * share / len(alt.parts))
            elif all(part in value for part in alt.parts):
                repeat = min(value.count(alt.parts[0]) - 1, MAX_REPEAT)
                whole = 1.0 if all(occurs_whole(part, value, words) for part in alt.parts) else EMBEDDED_WEIGHT
                best = max(best, alt.weight * weight * whole * (1 + REPEAT_BONUS * repeat))
    return best


@dataclass
class Ranked:
    """A document's place in the results: its score, and which wanted words (or pieces of them) it matched."""

    doc: dict
    score: float
    matched: list[str]
    missing: list[str]
    cover: float = 1.0  # the share of the wanted words it matched, each weighted by its rarity (a word's pieces count in part)
    stored: dict = field(default_factory=dict)  # what else the caller keeps with the document

    @property
    def complete(self) -> bool:
        return not self.missing


def _round(value: float) -> float:
    """Six decimals, rounded half up, as ``Math.round(value * 1e6) / 1e6`` in the browser."""
    return math.floor(value * 1_000_000 + 0.5) / 1_000_000


def _rarity(total: int, matching: int) -> float:
    return math.log(1 + total / (1 + matching))


def rank(query: Query, docs: list[dict], total: int | None = None, words: frozenset[str] = frozenset()) -> list[Ranked]:
    """Every document of ``docs`` that matches a wanted word (or a piece of one) and no excluded
    word, best first: those matching every wanted word, then by how much of the query they cover
    (a rare word counting more than a common one);
    by score; by ``order`` (the documents' reading order). A word's rarity is counted among
    ``total`` documents (one edition; by default ``docs``, which must then hold every document
    that matches any word or piece)."""
    total = len(docs) if total is None else total
    clauses = list(query.wanted)
    scores = [[clause_score(c, doc, words) for c in clauses] for doc in docs]
    rarity = [_rarity(total, sum(1 for row in scores if row[i] > 0)) for i in range(len(clauses))]
    piece_scores = [[[clause_score(p, doc, words) if not row[i] else 0.0 for p in c.pieces] for i, c in enumerate(clauses)]
                    for doc, row in zip(docs, scores)]
    piece_rarity = [[_rarity(total, sum(1 for rows in piece_scores if rows[i][j] > 0)) for j in range(len(c.pieces))]
                    for i, c in enumerate(clauses)]
    ranked = []
    for doc, row, rows in zip(docs, scores, piece_scores):
        if not any(row) and not any(any(r) for r in rows):
            continue
        if any(clause_score(c, doc, words) for c in query.excluded):
            continue
        score, cover, matched, missing = 0.0, 0.0, [], []
        for i, clause in enumerate(clauses):
            if row[i]:
                score += row[i] * rarity[i]
                cover += rarity[i]
                matched.append(clause.word)
                continue
            missing.append(clause.word)
            found = [j for j, s in enumerate(rows[i]) if s]
            if found:
                cover += rarity[i] * len(found) / len(clause.pieces)
                score += sum(rows[i][j] * piece_rarity[i][j] for j in found) / len(clause.pieces)
                matched += [clause.pieces[j].word for j in found]
        if not missing and query.together and query.together in (doc.get("text") or ""):
            score *= TOGETHER_BONUS
        ranked.append(Ranked(doc, _round(score), matched, missing, _round(cover / sum(rarity))))
    ranked.sort(key=lambda r: (len(r.missing) > 0, -r.cover, -r.score, r.doc["order"]))
    return ranked


def spans(text: str, query: Query) -> list[tuple[int, int]]:
    """Where the wanted words (their synonyms, parts and pieces) stand in ``text`` as written.

    >>> spans("重要なファイルは数世代バックアップ", parse("ばっくあっぷ"))
    [(11, 17)]
    """
    folded, where = fold_map(text)
    found = []
    for clause in query.wanted:
        for alt in [a for c in (clause, *clause.pieces) for a in c.alternatives]:
            for part in alt.parts:
                start = folded.find(part)
                while start >= 0 and part:
                    found.append((where[start], where[start + len(part) - 1] + 1))
                    start = folded.find(part, start + len(part))
    return merge_spans(found)


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Given character spans, return them sorted with overlapping or touching ones merged.

    >>> merge_spans([(5, 7), (0, 2), (1, 3), (7, 9)])
    [(0, 3), (5, 9)]
    """
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def document(record, notes: list[str], order: int) -> dict:
    """A requirement or unplaced record → its search document: what is shown, and the folded fields."""
    variants = "\n".join([*(v.text for v in record.variants), record.raw_text])
    return {
        "id": record.id, "kind": "unplaced" if record.id.startswith("unplaced-") else "requirement",
        "edition": record.edition, "volume": record.volume, "section": record.section, "item": record.item,
        "section_title": record.section_title or "", "shown": record.text, "order": order,
        "text": fold(record.text), "variants": fold(variants), "title": fold(record.section_title or ""),
        "notes": fold("\n".join(notes)), "notes_shown": notes,
    }


def other_spellings(pairs) -> dict[str, tuple[str, ...]]:
    """(as written, normalized form) pairs of the knowledge base's words → folded normalized form →
    the folded spellings written in the knowledge base, each way round, sorted.

    >>> other_spellings([("遵守", "順守"), ("持出し", "持ち出し")])["順守"]
    ('遵守',)
    """
    found: dict[str, set[str]] = {}
    for written, normal in pairs:
        a, b = fold(written), fold(normal)
        if a != b and len(a) >= 2 and len(b) >= 2:
            found.setdefault(b, set()).add(a)
            found.setdefault(a, set()).add(b)
    return {k: tuple(sorted(v)) for k, v in sorted(found.items())}


def vocabulary_words(texts: list[str], tokenize) -> frozenset[str]:
    """The folded words (two characters or more) that ``tokenize`` finds in ``texts``: the parts a
    compound query may be cut into."""
    return frozenset(w for text in texts for token in tokenize(text) if len(w := fold(token)) >= 2)
