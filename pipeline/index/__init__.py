"""The ``index`` stage: requirements, and the items read but not placed, → a whoosh index; and search over it.

Search follows the query model of ``pipeline/query.py``, the same one the site runs in the browser
(``pipeline/assets/query.js``), so the command line and the site give the same answers. The index
holds each record's search document (``query.document``: the text shown and its folded fields)
and, to find the candidates of a query fast, the folded fields' characters and character pairs.
A candidate is then matched and ranked by ``query.rank``; a word's rarity is counted over the whole
edition, as in the browser.

Unplaced items (``unplaced.jsonl``) are indexed beside the requirements with ``kind`` = "unplaced":
they rank with the requirements by relevance, and every hit says whether it is placed (``Hit.placed``)
and, where not, why (``Hit.reason``), so that nothing read is unfindable and nothing unplaced passes
for a requirement.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NotBuiltError, QueryError
from ..limits import LIMITS, Limits
from ..model import VOLUMES, Requirement, Unplaced, id_key, section_key
from ..normalize import clean
from .. import query as qm
from ..query import merge_spans

INDEX_DIR = "index"
VOCABULARY = "vocabulary.json"  # beside the whoosh files: the knowledge base's words, for a compound's parts
SYNONYMS = Path(__file__).resolve().parent.parent / "data" / "synonyms.tsv"


@functools.lru_cache(maxsize=4)
def load_synonyms(path: Path = SYNONYMS) -> dict[str, tuple[str, ...]]:
    """Given ``synonyms.tsv`` (one group of equivalent words a line), return each word folded
    (``query.fold``) → its group as written."""
    groups: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            group = tuple(dict.fromkeys(unicodedata.normalize("NFKC", w).strip() for w in line.split("\t") if w.strip()))
            for word in group:
                groups[qm.fold(word)] = group
    return groups


def schema():
    from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, Schema

    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),  # "requirement" or "unplaced"
        edition=ID(stored=True),
        volume=ID(stored=True),
        section=ID(stored=True),
        item=NUMERIC(stored=True),
        grams=KEYWORD(),  # the folded fields' characters and character pairs: candidates of a query
        doc=STORED,  # the search document (query.document)
        sources=STORED,
        reason=STORED,  # why an unplaced item could not be placed
    )


def grams(folded: str) -> set[str]:
    """The characters and character pairs of a folded text: a document holding a word holds all of the word's.

    >>> sorted(grams("ログ"))
    ['グ', 'ロ', 'ログ']
    """
    return {*folded, *(folded[i:i + 2] for i in range(len(folded) - 1))}


def word_grams(part: str) -> set[str]:
    """The grams a document must hold to contain ``part``: its pairs, or the one character."""
    return {part} if len(part) == 1 else {part[i:i + 2] for i in range(len(part) - 1)}


def documents(records: list) -> list[dict]:
    """The search documents of requirements and unplaced records (a requirement's 備考 with it), each
    edition's in reading order."""

    def key(record):
        unplaced = isinstance(record, Unplaced)
        return (record.edition, unplaced, id_key(record.id) if not unplaced else _unplaced_key(record.id))

    docs, order, edition = [], 0, None
    for record in sorted(records, key=key):
        order = order + 1 if record.edition == edition else 0  # numbered within its edition
        edition = record.edition
        docs.append(qm.document(record, record.note_texts() if isinstance(record, Requirement) else [], order))
    return docs


def _newest_first(edition: str) -> tuple:
    return tuple(-n for n in section_key(edition))


def _unplaced_key(unplaced_id: str) -> tuple:
    """unplaced-7-1 → (7, 1); unplaced-p3-2 (a page) and unplaced-2-p3-1 (a page of the second file) alike.

    >>> sorted(["unplaced-p3-2", "unplaced-10-1", "unplaced-2-p3-1", "unplaced-7-1"], key=_unplaced_key)
    ['unplaced-7-1', 'unplaced-10-1', 'unplaced-p3-2', 'unplaced-2-p3-1']
    """
    parts = unplaced_id.split("-")[1:]
    return (len(parts), *((part.startswith("p"), int(part.lstrip("p") or 0)) for part in parts))


def build_index(requirements: list[Requirement], out_dir: Path, *, unplaced: list[Unplaced] | None = None) -> Path:
    """Given requirements and the items read but not placed (by default those of the editions in
    ``out_dir``), build the index in ``out_dir/index`` (in a build's staging folder);
    return its path."""
    from whoosh import index as whoosh_index

    if unplaced is None:
        unplaced = _unplaced_in(out_dir)
    target = out_dir / INDEX_DIR
    target.mkdir()
    records = [*requirements, *unplaced]
    ix = whoosh_index.create_in(target, schema())
    with ix.writer(limitmb=128) as writer:
        _add_documents(writer, records)
    by_edition: dict[str, list] = {}
    for record in records:
        by_edition.setdefault(record.edition, []).append(record)
    (target / EDITION_VOCABULARIES).mkdir()
    for edition, in_edition in by_edition.items():
        _write_edition_vocabulary(target, edition, in_edition)
    _write_vocabulary(target)
    _write_editions(target, {edition: len(in_edition) for edition, in_edition in by_edition.items()})
    return target


def update_index(out_dir: Path, previous: Path, changed: list[str]) -> Path:
    """The index of ``out_dir``'s editions made from ``previous`` (the index of the last build, made
    by the same code): the documents and words of the ``changed`` editions, and of those no longer
    in ``out_dir``, taken out; those of the changed editions read from ``out_dir`` and put in. The
    other editions are not indexed again. Returns ``out_dir/index``."""
    from whoosh import index as whoosh_index

    from ..store import edition_folders, load_edition

    target = out_dir / INDEX_DIR
    shutil.copytree(previous, target)
    present = {folder.name for folder in edition_folders(out_dir)}
    gone = {p.stem for p in (target / EDITION_VOCABULARIES).glob("*.json")} - present
    counts = json.loads((target / EDITIONS).read_text(encoding="utf-8"))
    ix = whoosh_index.open_dir(target)
    with ix.writer(limitmb=128) as writer:  # the deleted documents stay in their segment until whoosh merges it
        for edition in sorted({*changed, *gone}):
            writer.delete_by_term("edition", edition)
            (target / EDITION_VOCABULARIES / f"{edition}.json").unlink(missing_ok=True)
            counts.pop(edition, None)
        for edition in sorted(set(changed) & present):
            requirements, unplaced = load_edition(out_dir / edition)
            records = [*requirements, *unplaced]
            _add_documents(writer, records)
            _write_edition_vocabulary(target, edition, records)
            counts[edition] = len(records)
    _write_vocabulary(target)
    _write_editions(target, counts)
    return target


def can_update(previous: Path) -> bool:
    """Whether an index can be brought up to date edition by edition (it keeps each edition's words)."""
    return (previous / EDITION_VOCABULARIES).is_dir() and (previous / VOCABULARY).is_file() and (previous / EDITIONS).is_file()


EDITION_VOCABULARIES = "vocabulary"  # index/vocabulary/<edition>.json: an edition's words, to update the index by edition
EDITIONS = "editions.json"  # edition → its documents (whoosh's own counts include deleted documents until a merge)


def _write_editions(target: Path, counts: dict[str, int]) -> None:
    (target / EDITIONS).write_text(json.dumps(dict(sorted(counts.items())), ensure_ascii=False), encoding="utf-8")


def _add_documents(writer, records: list) -> None:
    by_id = {(r.edition, r.id): r for r in records}
    for doc in documents(records):
        record = by_id[(doc["edition"], doc["id"])]
        fields = {
            "id": doc["id"], "kind": doc["kind"], "edition": doc["edition"], "volume": doc["volume"],
            "section": doc["section"], "item": doc["item"],
            "grams": " ".join(sorted(set().union(*(grams(doc[f]) for f in qm.FIELDS)))),
            "doc": doc, "sources": [str(s) for s in record.sources],
            "reason": record.reason if isinstance(record, Unplaced) else None,
        }
        writer.add_document(**{k: v for k, v in fields.items() if v is not None})


def _write_edition_vocabulary(target: Path, edition: str, records: list) -> None:
    """One edition's words (Sudachi's, folded) and its (as written, normalized) spellings."""
    from .analysis import spellings, words as sudachi_words

    texts = [t for r in records for t in (r.text, r.section_title or "")]
    words = sorted(qm.vocabulary_words(texts, sudachi_words))
    pairs = sorted({pair for text in texts for pair in spellings(text)})
    (target / EDITION_VOCABULARIES / f"{edition}.json").write_text(
        json.dumps({"words": words, "spellings": pairs}, ensure_ascii=False), encoding="utf-8")


def _write_vocabulary(target: Path) -> None:
    """``vocabulary.json``: the words and other spellings of every edition (what search and the site read)."""
    words: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for path in sorted((target / EDITION_VOCABULARIES).glob("*.json")):
        edition = json.loads(path.read_text(encoding="utf-8"))
        words.update(edition["words"])
        pairs.update(map(tuple, edition["spellings"]))
    vocabulary = {"words": sorted(words), "spellings": qm.other_spellings(sorted(pairs))}
    (target / VOCABULARY).write_text(json.dumps(vocabulary, ensure_ascii=False, sort_keys=True), encoding="utf-8")


def _unplaced_in(out_dir: Path) -> list[Unplaced]:
    from ..store import load_unplaced

    try:
        return load_unplaced(out_dir)
    except NotBuiltError:  # no edition folder (an index of requirements alone)
        return []


@dataclass
class Hit:
    """One search result: a requirement, or an item read but not placed (``placed`` False; its volume,
    section and number as far as the table tells, and ``reason`` why it has no ID). ``complete``: it
    matched every word of the query; else ``matched`` and ``missing`` say which."""

    id: str
    edition: str
    volume: str | None
    section: str | None
    section_title: str
    item: int | None
    text: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)  # [start, end) spans in text
    matched_by: str = "words"  # "words", or "bigrams" when only a similar spelling matched
    placed: bool = True
    reason: str = ""  # why it could not be placed, where not placed
    matched: list[str] = field(default_factory=list)  # the query's words it matched
    missing: list[str] = field(default_factory=list)  # the query's words it did not
    notes: list[str] = field(default_factory=list)  # 備考 (5.2 references) of the table that annotate it

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict:
        return {
            "id": self.id, "edition": self.edition, "volume": self.volume, "section": self.section,
            "section_title": self.section_title, "item": self.item, "text": self.text,
            "score": round(self.score, 4), "highlights": [list(s) for s in self.highlights], "matched_by": self.matched_by,
            "placed": self.placed, **({"reason": self.reason} if not self.placed else {}),
            "complete": self.complete, "matched": self.matched, "missing": self.missing, "notes": self.notes,
        }


class Searcher:
    """An open index; ``search`` is cheap to call many times (the bench keeps one open)."""

    def __init__(self, out_dir: Path):
        from whoosh import index as whoosh_index

        path = out_dir / INDEX_DIR
        try:
            if not whoosh_index.exists_in(path):
                raise NotBuiltError(f"{path}: 検索インデックスがありません（先に guideline-kb build を実行してください）")
            self.ix = whoosh_index.open_dir(path)
            self.searcher = self.ix.searcher()
            vocabulary = json.loads((path / VOCABULARY).read_text(encoding="utf-8"))
            counts = json.loads((path / EDITIONS).read_text(encoding="utf-8"))
        except NotBuiltError:
            raise
        except Exception as exc:  # noqa: BLE001 - whoosh raises many kinds for a damaged index
            raise NotBuiltError(f"{path}: 検索インデックスが壊れています（{type(exc).__name__}。guideline-kb build で作り直してください）") from None
        self.vocabulary = qm.Vocabulary(load_synonyms(), frozenset(vocabulary["words"]),
                                        {k: tuple(v) for k, v in vocabulary["spellings"].items()})
        self._editions = {ed: counts[ed] for ed in sorted(counts, key=section_key, reverse=True)}  # edition → documents, newest first

    def close(self):
        self.searcher.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def editions(self) -> list[str]:
        """The editions in the index, newest first."""
        return list(self._editions)

    def search(self, text: str, *, volume: str | None = None, edition: str | None = None, section: str | None = None,
               limit: int = 10, limits: Limits = LIMITS) -> list[Hit]:
        """Given a query as a user types it (``query.parse``), return ranked hits; ``QueryError`` if it
        has nothing to search for. Hits matching every wanted word come first; then those matching
        some, each saying which (``Hit.matched``). When no text matches any word, a similar spelling
        is looked for (``query.similar``). ``section`` keeps a section and the sections under it
        (13 → 13, 13.1 …). Without ``edition``, each edition is ranked on its own and the hits merged.
        """
        if volume is not None and volume not in VOLUMES:
            raise QueryError(f"--volume は {', '.join(VOLUMES)} のどれかです（{volume!r} ではなく）")
        query_words(text, limits)
        parsed = qm.parse(text, self.vocabulary)
        if not parsed.wanted:
            raise QueryError(f"検索語がありません: {text.strip()[:40]!r} には除く語しかありません（探す語を入れてください）")
        editions = [edition] if edition else self.editions()
        by_words = self._rank(parsed, editions)
        unmatched = [ed for ed in editions if not by_words.get(ed)]
        by_bigrams = self._rank(qm.similar(parsed), unmatched) if unmatched else {}
        ranked = [(r, "words") for ed in editions for r in by_words.get(ed, [])]
        ranked += [(r, "bigrams") for ed in unmatched for r in by_bigrams.get(ed, [])]
        ranked.sort(key=lambda x: (len(x[0].missing) > 0, -x[0].cover, -x[0].score, _newest_first(x[0].doc["edition"]), x[0].doc["order"]))
        hits = []
        for r, matched_by in ranked:
            doc = r.doc
            if volume and doc["volume"] != volume:
                continue
            if section and not (doc["section"] == section or (doc["section"] or "").startswith(section + ".")):
                continue
            hits.append(self._hit(r, parsed if matched_by == "words" else qm.similar(parsed), matched_by))
            if len(hits) >= limit:
                break
        return hits

    def _rank(self, parsed: qm.Query, editions: list[str]) -> dict[str, list[qm.Ranked]]:
        """Each edition's documents matching ``parsed``, ranked within the edition (its own document count):
        one pass over the index for all of them, not one per edition (each pass reads every edition's
        postings of the query's words)."""
        from whoosh import query

        if not parsed.wanted or not editions:
            return {}
        wanted = []
        for clause in parsed.wanted:
            for alt in [a for c in (clause, *clause.pieces) for a in c.alternatives]:
                if alt.id:
                    wanted.append(query.Term("id", alt.id))
                elif alt.need:
                    wanted.append(query.Or([query.Term("grams", g) for p in alt.parts for g in word_grams(p)]))
                else:
                    wanted.append(query.And([query.Term("grams", g) for p in alt.parts for g in word_grams(p)]))
        match = query.Or(wanted)
        if len(editions) < len(self._editions):
            match = query.And([query.Or([query.Term("edition", ed) for ed in editions]), match])
        by_edition: dict[str, list[dict]] = {ed: [] for ed in editions}
        for n in self.searcher.docs_for_query(match):
            stored = self.searcher.stored_fields(n)
            if stored["doc"]["edition"] in by_edition:
                by_edition[stored["doc"]["edition"]].append(stored)
        out = {}
        for ed, docs in by_edition.items():
            by_doc = {id(d["doc"]): d for d in docs}
            ranked = qm.rank(parsed, [d["doc"] for d in docs], total=self._editions.get(ed, 0), words=self.vocabulary.words)
            for r in ranked:
                r.stored = by_doc[id(r.doc)]
            out[ed] = ranked
        return out

    def _hit(self, r: qm.Ranked, parsed: qm.Query, matched_by: str) -> Hit:
        doc, stored = r.doc, r.stored
        placed = doc["kind"] != "unplaced"
        return Hit(doc["id"], doc["edition"], doc["volume"], doc["section"], doc["section_title"], doc["item"], doc["shown"],
                   r.score, qm.spans(doc["shown"], parsed), matched_by, placed, "" if placed else stored.get("reason", ""),
                   r.matched, r.missing, doc.get("notes_shown", []))


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


def search(out_dir: Path, text: str, *, volume: str | None = None, edition: str | None = None, section: str | None = None,
           limit: int = 10) -> list[Hit]:
    """Open the index under ``out_dir``, search once, close it."""
    with Searcher(out_dir) as searcher:
        return searcher.search(text, volume=volume, edition=edition, section=section, limit=limit)


__all__ = ["Hit", "Searcher", "build_index", "expand", "merge_spans", "search"]
