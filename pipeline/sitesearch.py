"""The site's search: the data and scripts that make it answer as the command line does.

- ``search/kb.json`` (editions newest first, synonyms, the knowledge base's words and spellings) and
  ``search/kb-<edition>.json`` (the edition's search documents, ``query.document`` with the URL of
  each record on its page) are what ``assets/query.js`` ranks in the browser, with the same model as
  ``guideline-kb search`` (``pipeline/query.py``);
- ``assets/kb-search.js`` puts those results in mkdocs-material's search box, and marks the hits
  on the page a result opens; ``assets/overrides/main.html`` loads both before the theme's bundle;
- mkdocs-material's own index (lunr) still finds the pages that are not requirements: every entry
  gets a ``terms`` field of character bigrams (``search_terms``), and kb-search.js turns a query
  into the same bigrams.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import unicodedata
from pathlib import Path

from .model import section_key

ASSETS = Path(__file__).resolve().parent / "assets"
SCRIPTS = ("query.js", "kb-search.js")  # copied to docs/javascripts/, loaded by overrides/main.html
STYLES = ("kb-search.css",)  # copied to docs/stylesheets/
OVERRIDES = ASSETS / "overrides"

_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ー]+")
_LATIN_WORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")
_TAG = re.compile(r"<[^>]+>")
# ユーザー = ユーザ, サーバー = サーバ: a long vowel mark ending a katakana word is dropped (both sides).
_LONG_VOWEL_END = re.compile(r"(?<=[ァ-ヴ])ー(?![ァ-ヴー])")


def search_terms(text: str) -> str:
    """The words lunr matches: character bigrams of every Japanese run (a lone character stays as
    it is; each written as ``encode_gram``) and Latin words, lower-cased, after width unification
    and dropping a long vowel mark that ends a katakana word (ユーザー = ユーザ).

    >>> search_terms("電子にHTTPS")
    'j96fb5b500 j5b50306b0 https0'

    The index holds HTML: its own tags go, then text that looks like a tag (``&lt;img&gt;``) is words.

    >>> search_terms("<p>&lt;img src=x&gt;</p>")
    'img0 src0 x0'
    """
    text = _LONG_VOWEL_END.sub("", unicodedata.normalize("NFKC", html.unescape(_TAG.sub(" ", text))))
    out = []
    for run in _CJK_RUN.findall(text):
        out += [encode_gram(run)] if len(run) == 1 else [encode_gram(run[i:i + 2]) for i in range(len(run) - 1)]
    out += [w.lower() + "0" for w in _LATIN_WORD.findall(text)]  # the stemmer leaves https0 alone (not http)
    return " ".join(out)


def encode_gram(gram: str) -> str:
    """A bigram as an ASCII token: mkdocs-material re-segments kanji in a query by its own rules, and
    lunr's stemmer leaves a word ending in a digit alone (Latin words get a closing 0 too).

    >>> encode_gram("電子")
    'j96fb5b500'
    """
    return "j" + "".join(f"{ord(ch):04x}" for ch in gram) + "0"


def add_search_terms(path: Path) -> None:
    """Give every entry of mkdocs-material's search index a ``terms`` field of ``search_terms``. (Which
    pages it holds is decided before the build: ``site.lunr_searched``.)"""
    index = json.loads(path.read_text(encoding="utf-8"))
    for doc in index["docs"]:
        doc["terms"] = search_terms(doc.get("title", "") + " " + doc.get("text", ""))
    index["config"]["fields"]["terms"] = {"boost": 10.0}
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def copy_scripts(docs_dir: Path) -> None:
    """Put the browser's query model and search glue into the pages' ``javascripts/`` (and its style
    into ``stylesheets/``)."""
    for folder, names in (("javascripts", SCRIPTS), ("stylesheets", STYLES)):
        (docs_dir / folder).mkdir(exist_ok=True)
        for name in names:
            shutil.copyfile(ASSETS / name, docs_dir / folder / name)


def record_url(doc: dict) -> str:
    """Where a search document's record is on the site, from the site's root.

    >>> record_url({"id": "gov-1.3.2-1", "edition": "6.0", "kind": "requirement", "volume": "gov", "section": "1.3.2"})
    '6.0/gov/1.html#gov-1.3.2-1'
    """
    if doc["kind"] == "unplaced":
        return f"{doc['edition']}/unplaced.html#{doc['id']}"
    return f"{doc['edition']}/{doc['volume']}/{doc['section'].split('.')[0]}.html#{doc['id']}"


def write_search_data(out_dir: Path, site_dir: Path) -> dict[str, int]:
    """Write ``search/kb.json`` and each edition's ``search/kb-<edition>.json`` from the knowledge
    base in ``out_dir`` (its index holds the words); return edition → documents written."""
    from .index import INDEX_DIR, VOCABULARY, documents, load_synonyms
    from .store import load_requirements, load_unplaced

    records = [*load_requirements(out_dir), *load_unplaced(out_dir)]
    docs = documents(records)
    editions = sorted({d["edition"] for d in docs}, key=section_key, reverse=True)
    vocabulary = json.loads((out_dir / INDEX_DIR / VOCABULARY).read_text(encoding="utf-8"))
    target = site_dir / "search"
    target.mkdir(parents=True, exist_ok=True)
    meta = {"editions": editions, "synonyms": {k: list(v) for k, v in sorted(load_synonyms().items())},
            "words": vocabulary["words"], "spellings": vocabulary["spellings"]}
    _write_json(target / "kb.json", meta)
    counts = {}
    for edition in editions:
        in_edition = [{**d, "url": record_url(d)} for d in docs if d["edition"] == edition]
        _write_json(target / f"kb-{edition}.json", in_edition)
        counts[edition] = len(in_edition)
    return counts


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
