"""The ``index`` stage: requirements, and the items read but not placed, → a whoosh index; and search over it.

Unplaced items (``unplaced.jsonl``) are indexed beside the requirements with ``kind`` = "unplaced":
they rank with the requirements by relevance, and every hit says whether it is placed (``Hit.placed``)
and, where not, why (``Hit.reason``), so that nothing read is unfindable and nothing unplaced passes
for a requirement.

Fields: the requirement text and its section title analyzed with Sudachi (BM25F, text weighted
above title), other readings of the text (``variants``), and a character-bigram field used when
the words of a query are not found as words (compounds, misspelt or OCR-garbled text). Query words
expand to their synonyms (``data/synonyms.tsv``: BCP = 事業継続計画); the query as typed, or its
words close together, lift a text above BM25F's order.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query, scoring
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema

from ..errors import NotBuiltError, QueryError
from ..limits import LIMITS, Limits
from ..model import VOLUMES, Requirement, Unplaced, id_key
from ..normalize import clean
from .analysis import bigram_analyzer, japanese_analyzer

INDEX_DIR = "index"
FIELD_WEIGHTS = {"text": 3.0, "section_title": 1.0, "variants": 1.0}
BIGRAM_MIN_SHARE = 0.6  # a bigram-only hit must contain this share of the query's bigrams
SYNONYMS = Path(__file__).resolve().parent.parent / "data" / "synonyms.tsv"
PHRASE_BOOST = 2.0  # the query's words stand together in the text as typed (重要なファイル)
NEAR_BOOST = 1.5  # all the query's words within NEAR_CHARS of each other
NEAR_CHARS = 24
SYNONYM_WEIGHT = 0.5  # a synonym's match counts half the word's own
RERANK = 5  # rerank this many times ``limit`` BM25F results


@functools.lru_cache(maxsize=4)
def load_synonyms(path: Path = SYNONYMS) -> dict[str, tuple[str, ...]]:
    """Given ``synonyms.tsv`` (one group of equivalent words a line), return word → its group."""
    groups: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            group = tuple(dict.fromkeys(clean(w) for w in line.split("\t") if w.strip()))
            for word in group:
                groups[word.lower()] = group
    return groups


def schema() -> Schema:
    ja = japanese_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),  # "requirement" or "unplaced"
        edition=ID(stored=True),
        volume=ID(stored=True),
        section=ID(stored=True),
        item=NUMERIC(stored=True),
        section_title=TEXT(analyzer=ja, stored=True),
        text=TEXT(analyzer=ja, stored=True),
        variants=TEXT(analyzer=ja),
        bigrams=TEXT(analyzer=bigram_analyzer(), phrase=False),
        sources=STORED,
        reason=STORED,  # why an unplaced item could not be placed
    )


def build_index(requirements: list[Requirement], out_dir: Path, *, unplaced: list[Unplaced] | None = None) -> Path:
    """Given requirements and the items read but not placed (by default those of the editions in
    ``out_dir``), build the index in ``out_dir/index`` (in a build's staging folder); return its path."""
    if unplaced is None:
        unplaced = _unplaced_in(out_dir)
    target = out_dir / INDEX_DIR
    target.mkdir()
    ix = whoosh_index.create_in(target, schema())
    with ix.writer(limitmb=128) as writer:
        for record in [*requirements, *unplaced]:
            writer.add_document(**index_fields(record))
    return target


def index_fields(record: Requirement | Unplaced) -> dict:
    """The fields of one requirement or unplaced item in the index (a missing volume, section or
    number is left out, not stored as a value)."""
    variants = "\n".join(v.text for v in record.variants)
    fields = {
        "id": record.id,
        "kind": "unplaced" if isinstance(record, Unplaced) else "requirement",
        "edition": record.edition,
        "volume": record.volume,
        "section": record.section,
        "item": record.item,
        "section_title": record.section_title or "",
        "text": record.text,
        "variants": variants,
        "bigrams": "\n".join([record.text, variants, record.section_title or ""]),
        "sources": [str(s) for s in record.sources],
        "reason": record.reason if isinstance(record, Unplaced) else None,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _unplaced_in(out_dir: Path) -> list[Unplaced]:
    from ..store import load_unplaced

    try:
        return load_unplaced(out_dir)
    except NotBuiltError:  # no edition folder (an index of requirements alone)
        return []


@dataclass
class Hit:
    """One search result: a requirement, or an item read but not placed (``placed`` False; its volume,
    section and number as far as the table tells, and ``reason`` why it has no ID)."""

    id: str
    edition: str
    volume: str | None
    section: str | None
    section_title: str
    item: int | None
    text: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)  # [start, end) spans in text
    matched_by: str = "words"  # "words" or "bigrams"
    placed: bool = True
    reason: str = ""  # why it could not be placed, where not placed

    def to_dict(self) -> dict:
        return {
            "id": self.id, "edition": self.edition, "volume": self.volume, "section": self.section,
            "section_title": self.section_title, "item": self.item, "text": self.text,
            "score": round(self.score, 4), "highlights": [list(s) for s in self.highlights], "matched_by": self.matched_by,
            "placed": self.placed, **({"reason": self.reason} if not self.placed else {}),
        }


class Searcher:
    """An open index; ``search`` is cheap to call many times (the bench keeps one open)."""

    def __init__(self, out_dir: Path):
        path = out_dir / INDEX_DIR
        try:
            if not whoosh_index.exists_in(path):
                raise NotBuiltError(f"{path}: 検索インデックスがありません（先に guideline-kb build を実行してください）")
            self.ix = whoosh_index.open_dir(path)
            self.searcher = self.ix.searcher(weighting=scoring.BM25F())
        except NotBuiltError:
            raise
        except Exception as exc:  # noqa: BLE001 - whoosh raises many kinds for a damaged index
            raise NotBuiltError(f"{path}: 検索インデックスが壊れています（{type(exc).__name__}。guideline-kb build で作り直してください）") from None
        self.ja = japanese_analyzer()
        self.bigram = bigram_analyzer()

    def close(self):
        self.searcher.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def search(self, text: str, *, volume: str | None = None, edition: str | None = None, section: str | None = None,
               limit: int = 10, limits: Limits = LIMITS) -> list[Hit]:
        """Given a query as a user types it, return ranked hits; ``QueryError`` if it has nothing to search for.

        Every word must match (in the text, the section title or another reading), or one of its
        synonyms; a word Sudachi splits must match all its parts. BM25F ranks; a text that holds
        the query as typed, or all its words close together, ranks higher. When no requirement has
        all the words, the query's character bigrams are tried instead. ``section`` keeps a
        section and the sections under it (13 → 13, 13.1 …).
        """
        if volume is not None and volume not in VOLUMES:
            raise QueryError(f"--volume は {', '.join(VOLUMES)} のどれかです（{volume!r} ではなく）")
        words = query_words(text, limits)
        synonyms = load_synonyms()
        clauses, query_terms = [], set()
        for word in words:
            alternatives = []
            for alt in dict.fromkeys((word, *synonyms.get(word.lower(), ()))):
                terms = [t.text for t in self.ja(alt)]
                if terms:
                    alternatives.append((terms, 1.0 if alt == word else SYNONYM_WEIGHT))
                    query_terms.update(terms)
            if alternatives:
                clauses.append(query.Or([query.And([query.Term(f, t) for t in terms], boost=w * weight)
                                         for terms, weight in alternatives for f, w in FIELD_WEIGHTS.items()]))
        filter_q = self._filter(volume, edition, section)
        if not clauses:  # only particles (をを) or letters Sudachi drops (ħ): look for the characters
            return self._bigram_search(" ".join(words), filter_q, limit)
        results = self.searcher.search(query.And(clauses), limit=max(limit * RERANK, 50), filter=filter_q)
        ranked = sorted(((r.score * closeness(r["text"], words), r["id"], r) for r in results), key=lambda x: (-x[0], x[1]))
        if ranked:  # highlights only for what is shown: Sudachi over a text costs more than the search
            shown = {t for t in query_terms if len(t) > 1} or query_terms  # a lone 者 of a synonym lights up everything
            return [self._hit(r, self._word_spans(r["text"], shown), "words", score=score) for score, _, r in ranked[:limit]]
        return self._bigram_search(" ".join(words), filter_q, limit)

    def _filter(self, volume: str | None, edition: str | None, section: str | None):
        filters = [query.Term("volume", volume)] if volume else []
        if edition:
            filters.append(query.Term("edition", edition))
        if section:
            filters.append(query.Or([query.Term("section", section), query.Prefix("section", section + ".")]))
        return query.And(filters) if filters else None

    def _bigram_search(self, text: str, filter_q, limit: int) -> list[Hit]:
        grams = sorted({t.text for t in self.bigram(re.sub(r"[\s\u3000]", "", text))})
        if not grams:
            return []
        need = max(1, math.ceil(len(grams) * BIGRAM_MIN_SHARE))
        q = query.Or([query.Term("bigrams", g) for g in grams], minmatch=need)
        results = self.searcher.search(q, limit=max(limit * RERANK, 50), filter=filter_q)
        hits = []
        for r in results:
            doc_grams = {t.text for t in self.bigram(r["text"])}
            share = len(doc_grams & set(grams))
            if share >= need:
                hits.append(self._hit(r, self._bigram_spans(r["text"], set(grams)), "bigrams", score=r.score * share / len(grams)))
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]

    def _hit(self, r, spans, matched_by, score=None) -> Hit:
        placed = r.get("kind", "requirement") != "unplaced"
        return Hit(r["id"], r["edition"], r.get("volume"), r.get("section"), r.get("section_title", ""), r.get("item"), r["text"],
                   r.score if score is None else score, spans, matched_by, placed, "" if placed else r.get("reason", ""))

    def _word_spans(self, text: str, terms: set[str]) -> list[tuple[int, int]]:
        return merge_spans([(start, end) for term, start, end in self._tokens(text) if term in terms])

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Searcher per process; texts repeat across queries
    def _tokens(self, text: str) -> tuple[tuple[str, int, int], ...]:
        return tuple((t.text, t.startchar, t.endchar) for t in self.ja(text, chars=True))

    def _bigram_spans(self, text: str, grams: set[str]) -> list[tuple[int, int]]:
        spans = [(t.startchar, t.endchar) for t in self.bigram(text, chars=True) if t.text in grams]
        return merge_spans(spans)


def query_words(text: str, limits: Limits = LIMITS) -> list[str]:
    r"""The words of a query as a user typed it, or ``QueryError`` when there is nothing to look for or
    it is over the limits. Lone surrogates and control characters become spaces.

    >>> query_words("バックアップ\u3000世代\x00")
    ['バックアップ', '世代']
    """
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\ufffd", " ")
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") else ch for ch in text)
    if len(text) > limits.max_query_chars:
        raise QueryError(f"検索語が長すぎます（{len(text):,} 字。{limits.max_query_chars:,} 字までにしてください）")
    words = [w for w in re.split(r"[\s\u3000]+", text) if w]
    if len(words) > limits.max_query_words:
        raise QueryError(f"検索語が多すぎます（{len(words)} 語。{limits.max_query_words} 語までにしてください）")
    words = [c for w in words for c in re.split(r"[\s\u3000]+", clean(w)) if c]
    if not any(unicodedata.category(ch)[0] in "LN" for w in words for ch in w):
        raise QueryError(f"検索語がありません: {text.strip()[:40]!r} には記号しか含まれていません（語を入れてください）")
    return words


def closeness(text: str, words: list[str]) -> float:
    """How much a text's wording earns over BM25F: the query as typed (words joined) stands in it,
    or all its words stand within a few characters of each other.

    >>> closeness("重要なファイルは数世代バックアップを", ["重要なファイル"])
    2.0
    >>> closeness("重要なファイルは数世代バックアップを", ["バックアップ", "世代"])
    1.5
    """
    folded = text.lower()
    words = [w.lower() for w in words]
    if len(words) == 1 and len(words[0]) >= 2 and words[0] in folded:
        return PHRASE_BOOST if len(words[0]) >= 3 else 1.0
    if len(words) > 1:
        if "".join(words) in folded:
            return PHRASE_BOOST
        places = [[m.start() for m in re.finditer(re.escape(w), folded)] for w in words]
        if all(places):
            ends = [(p, i) for i, ps in enumerate(places) for p in ps]
            ends.sort()
            best = min((b[0] - a[0] for a in ends for b in ends if b[0] >= a[0]
                        and {i for p, i in ends if a[0] <= p <= b[0]} == set(range(len(words)))), default=None)
            if best is not None and best <= NEAR_CHARS:
                return NEAR_BOOST
    return 1.0


def expand(hits: list[Hit], correlations, requirements, words: list[str], *, limit: int = 5) -> dict[str, list[dict]]:
    """For each hit, its correlated requirements in the other volumes, ranked: those whose text has
    the query's words first, then those linked by more rows of the table.

    A hit in 企画管理編 so leads straight to the matching システム運用編 items.
    """
    texts = {(r.edition, r.id): r.text for r in requirements}
    folded = [w.lower() for w in words]
    out: dict[str, list[dict]] = {}
    for hit in hits:
        own = hit.id.split("-")[0]
        counts: dict[str, int] = {}
        for c in correlations:
            if c.edition == hit.edition and hit.id in c.ids():
                for other in c.ids():
                    if other.split("-")[0] != own:
                        counts[other] = counts.get(other, 0) + 1
        ranked = []
        for other, links in counts.items():
            text = texts.get((hit.edition, other), "")
            shared = sum(1 for w in folded if w in text.lower())
            ranked.append({"id": other, "volume": other.split("-")[0], "score": round(shared * 2 + links * 0.5, 2),
                           "links": links, "text": text})
        ranked.sort(key=lambda r: (-r["score"], id_key(r["id"])))
        out[hit.id] = ranked[:limit]
    return out


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


def search(out_dir: Path, text: str, *, volume: str | None = None, edition: str | None = None, section: str | None = None,
           limit: int = 10) -> list[Hit]:
    """Open the index under ``out_dir``, search once, close it."""
    with Searcher(out_dir) as searcher:
        return searcher.search(text, volume=volume, edition=edition, section=section, limit=limit)


__all__ = ["Hit", "Searcher", "build_index", "expand", "merge_spans", "search"]
