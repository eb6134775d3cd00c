"""Sudachi's words of the knowledge base's texts: the vocabulary a compound query is cut into
(``query.cut``: 監視カメラ → 監視 + カメラ) and that tells a word inside a katakana compound
(コンピュータ|ウイルス) from letters inside another word (プ|ログ|ラム).

>>> words("コンピュータウイルスを検知")
['コンピュータウイルス', 'コンピュータ', 'ウイルス', 'を', '検知']
"""

from __future__ import annotations

import threading

# Sudachi raises on input over ~49 KB: tokenize one line (and at most this many characters) at a time.
_CHUNK = 8000
_local = threading.local()


def _dictionary():
    dictionary = getattr(_local, "dictionary", None)
    if dictionary is None:
        from sudachipy import Dictionary

        dictionary = _local.dictionary = Dictionary()
    return dictionary


def sudachi():
    """(mode C tokenizer, mode A), loaded once per thread on first use."""
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import SplitMode

        tokenizer = _local.tokenizer = (_dictionary().tokenizer(mode=SplitMode.C), SplitMode.A)
    return tokenizer


def as_read(text: str) -> str:
    """Given a text, return it as Sudachi matches it against its dictionary (its input normalization:
    half-width kana made full width, Latin letters lower case, and the like).

    >>> as_read("ﾃﾞｰﾀ－ＡＢＣ～")
    'データ-abc~'
    """
    normalizer = getattr(_local, "normalizer", None)
    if normalizer is None:
        normalizer = _local.normalizer = _dictionary().text_normalizer()
    return normalizer.normalize(text)


def is_word(text: str) -> bool:
    """Whether the text as it stands, as Sudachi reads it (``as_read``), is an entry of its dictionary
    that a reading can hold (its lookup: the index a reading starts from).

    >>> is_word("ウイルス"), is_word("ｳｲﾙｽ"), is_word("ウイルス対策")
    (True, True, False)
    """
    return len(_dictionary().lookup(as_read(text))) > 0


def words(text: str) -> list[str]:
    """The words of a text as written: each mode C word, then its mode A parts where it has several."""
    tokenizer, mode_a = sudachi()
    found = []
    for _, chunk in _chunks(text):
        for morpheme in tokenizer.tokenize(chunk):
            found.append(morpheme.surface())
            parts = morpheme.split(mode_a)
            if len(parts) > 1:
                found += [p.surface() for p in parts]
    return found


def spellings(text: str) -> list[tuple[str, str]]:
    """(as written, Sudachi's normalized form) of the words of a text whose two differ, for words
    written in their dictionary form (an inflected word's normalized form is another form of it).

    >>> spellings("遵守し、引渡しを")
    [('遵守', '順守'), ('引渡し', '引き渡し')]
    """
    tokenizer, _ = sudachi()
    found = []
    for _, chunk in _chunks(text):
        for morpheme in tokenizer.tokenize(chunk):
            surface = morpheme.surface()
            if surface != morpheme.normalized_form() and surface == morpheme.dictionary_form():
                found.append((surface, morpheme.normalized_form()))
    return found


def _chunks(value: str):
    """Yield (offset, piece) of at most ``_CHUNK`` characters, cut at line ends where possible."""
    offset = 0
    for line in value.splitlines(keepends=True):
        for start in range(0, len(line), _CHUNK):
            piece = line[start : start + _CHUNK]
            if piece.strip():
                yield offset + start, piece
        offset += len(line)
