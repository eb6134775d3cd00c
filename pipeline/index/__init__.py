"""The ``index`` stage: requirements → a whoosh index; and search over it.

Fields: the requirement text and its section title analyzed with Sudachi (BM25F, text weighted
above title), other readings of the text (``variants``), and a character-bigram field used when
the words of a query are not found as words (compounds, OCR-garbled text: 電子カルテ finds 電子カルタ).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query, scoring
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema

from ..errors import NotBuiltError, QueryError
from ..model import VOLUMES, Requirement
from ..normalize import clean
from ..store import replace_dir
from .analysis import bigram_analyzer, japanese_analyzer

INDEX_DIR = "index"
FIELD_WEIGHTS = {"text": 3.0, "section_title": 1.0, "variants": 1.0}
BIGRAM_MIN_SHARE = 0.6  # a bigram-only hit must contain this share of the query's bigrams


def schema() -> Schema:
    ja = japanese_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        edition=ID(stored=True),
        volume=ID(stored=True),
        section=ID(stored=True),
        item=NUMERIC(stored=True),
        section_title=TEXT(analyzer=ja, stored=True),
        text=TEXT(analyzer=ja, stored=True),
        variants=TEXT(analyzer=ja),
        bigrams=TEXT(analyzer=bigram_analyzer(), phrase=False),
        sources=STORED,
    )


def build_index(requirements: list[Requirement], out_dir: Path) -> Path:
    """Given requirements, build a new index and swap it in at ``out_dir/index``; return its path."""
    target = out_dir / INDEX_DIR
    with replace_dir(target) as tmp:
        ix = whoosh_index.create_in(tmp, schema())
        with ix.writer(limitmb=128) as writer:
            for req in requirements:
                variants = "\n".join(v.text for v in req.variants)
                writer.add_document(
                    id=req.id,
                    edition=req.edition,
                    volume=req.volume,
                    section=req.section,
                    item=req.item,
                    section_title=req.section_title,
                    text=req.text,
                    variants=variants,
                    bigrams="\n".join([req.text, variants, req.section_title]),
                    sources=[str(s) for s in req.sources],
                )
    return target


@dataclass
class Hit:
    id: str
    edition: str
    volume: str
    section: str
    section_title: str
    item: int
    text: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)  # [start, end) spans in text
    matched_by: str = "words"  # "words" or "bigrams"

    def to_dict(self) -> dict:
        return {
            "id": self.id, "edition": self.edition, "volume": self.volume, "section": self.section,
            "section_title": self.section_title, "item": self.item, "text": self.text,
            "score": round(self.score, 4), "highlights": [list(s) for s in self.highlights], "matched_by": self.matched_by,
        }


class Searcher:
    """An open index; ``search`` is cheap to call many times (the bench keeps one open)."""

    def __init__(self, out_dir: Path):
        path = out_dir / INDEX_DIR
        if not whoosh_index.exists_in(path):
            raise NotBuiltError(f"{path}: 検索インデックスがありません（先に guideline-kb index を実行してください）")
        self.ix = whoosh_index.open_dir(path)
        self.searcher = self.ix.searcher(weighting=scoring.BM25F())
        self.ja = japanese_analyzer()
        self.bigram = bigram_analyzer()

    def close(self):
        self.searcher.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def search(self, text: str, *, volume: str | None = None, edition: str | None = None, limit: int = 10) -> list[Hit]:
        """Given a query as a user types it, return ranked hits; ``QueryError`` if it has nothing to search for.

        Every word must match (in the text, the section title or another reading); a word
        Sudachi splits must match all its parts. When no requirement has all the words, the
        query's character bigrams are tried instead.
        """
        if volume is not None and volume not in VOLUMES:
            raise QueryError(f"--volume は {', '.join(VOLUMES)} のどれかです（{volume!r} ではなく）")
        words = [w for w in re.split(r"[\s\u3000]+", clean(text)) if w]
        word_terms = [[t.text for t in self.ja(w)] for w in words]
        word_terms = [terms for terms in word_terms if terms]
        if not word_terms:
            raise QueryError(f"検索語がありません: {text.strip()[:40]!r} には記号しか含まれていません")
        filters = [query.Term("volume", volume)] if volume else []
        if edition:
            filters.append(query.Term("edition", edition))
        filter_q = query.And(filters) if filters else None
        q = query.And([
            query.Or([query.And([query.Term(f, t) for t in terms], boost=w) for f, w in FIELD_WEIGHTS.items()])
            for terms in word_terms
        ])
        results = self.searcher.search(q, limit=limit, filter=filter_q)
        query_terms = {t for terms in word_terms for t in terms}
        hits = [self._hit(r, self._word_spans(r["text"], query_terms), "words") for r in results]
        if hits:
            return hits
        return self._bigram_search(" ".join(words), filter_q, limit)

    def _bigram_search(self, text: str, filter_q, limit: int) -> list[Hit]:
        grams = sorted({t.text for t in self.bigram(re.sub(r"[\s\u3000]", "", text))})
        if not grams:
            return []
        need = max(1, math.ceil(len(grams) * BIGRAM_MIN_SHARE))
        q = query.Or([query.Term("bigrams", g) for g in grams])
        results = self.searcher.search(q, limit=None, filter=filter_q)
        hits = []
        for r in results:
            doc_grams = {t.text for t in self.bigram(r["text"])}
            share = len(doc_grams & set(grams))
            if share >= need:
                hits.append(self._hit(r, self._bigram_spans(r["text"], set(grams)), "bigrams", score=r.score * share / len(grams)))
        hits.sort(key=lambda h: -h.score)
        return hits[:limit]

    def _hit(self, r, spans, matched_by, score=None) -> Hit:
        return Hit(r["id"], r["edition"], r["volume"], r["section"], r["section_title"], r["item"], r["text"],
                   r.score if score is None else score, spans, matched_by)

    def _word_spans(self, text: str, terms: set[str]) -> list[tuple[int, int]]:
        spans = [(t.startchar, t.endchar) for t in self.ja(text, chars=True) if t.text in terms]
        return merge_spans(spans)

    def _bigram_spans(self, text: str, grams: set[str]) -> list[tuple[int, int]]:
        spans = [(t.startchar, t.endchar) for t in self.bigram(text, chars=True) if t.text in grams]
        return merge_spans(spans)


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


def search(out_dir: Path, text: str, *, volume: str | None = None, edition: str | None = None, limit: int = 10) -> list[Hit]:
    """Open the index under ``out_dir``, search once, close it."""
    with Searcher(out_dir) as searcher:
        return searcher.search(text, volume=volume, edition=edition, limit=limit)


__all__ = ["Hit", "Searcher", "build_index", "merge_spans", "search"]
