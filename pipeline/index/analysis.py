"""whoosh analyzers for Japanese: a Sudachi tokenizer and a character-bigram analyzer.

Contract (as in whoosh): a tokenizer turns text into tokens, a filter turns tokens into
tokens, an analyzer is their chain built with ``|``.

>>> [t.text for t in japanese_analyzer()("ユーザアカウントを遵守")]
['ユーザーアカウント', 'ユーザー', 'アカウント', '順守']
"""

from __future__ import annotations

import threading

from whoosh.analysis import Composable, LowercaseFilter, NgramTokenizer, Token, Tokenizer

from ..normalize import unify_width

# Sudachi raises on input over ~49 KB: tokenize one line (and at most this many characters) at a time.
_CHUNK = 8000
_SKIPPED_POS = {"補助記号", "空白", "助詞", "助動詞"}


class SudachiTokenizer(Tokenizer):
    """Text → Sudachi mode C tokens, each followed by its mode A parts, as normalized forms.

    Mode C keeps compounds whole (ユーザアカウント); its mode A parts let a query for a part
    (アカウント) find it. Normalized forms unify spelling (ユーザ = ユーザー, 遵守 = 順守).
    Particles, auxiliary verbs and symbols are dropped.

    Warning: whoosh pickles the analyzer into the index; the Sudachi dictionary is not pickled
    but loaded lazily on first use in each process.
    """

    _local = threading.local()

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        pass

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    @classmethod
    def sudachi(cls):
        tokenizer = getattr(cls._local, "tokenizer", None)
        if tokenizer is None:
            from sudachipy import Dictionary, SplitMode

            tokenizer = cls._local.tokenizer = (Dictionary().tokenizer(mode=SplitMode.C), SplitMode.A)
        return tokenizer

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        tokenizer, mode_a = self.sudachi()
        pos = start_pos
        for offset, chunk in _chunks(value):
            for morpheme in tokenizer.tokenize(chunk):
                if morpheme.part_of_speech()[0] in _SKIPPED_POS:
                    continue
                forms = [(morpheme.normalized_form(), morpheme.begin(), morpheme.end())]
                parts = morpheme.split(mode_a)
                if len(parts) > 1:
                    forms += [(p.normalized_form(), p.begin(), p.end()) for p in parts]
                seen = set()
                for text, begin, end in forms:
                    if text in seen or not text.strip():
                        continue
                    seen.add(text)
                    token.text = text
                    token.boost = 1.0
                    token.stopped = False
                    if keeporiginal:
                        token.original = value[offset + begin : offset + end]
                    if positions:
                        token.pos = pos
                    if chars:
                        token.startchar = start_char + offset + begin
                        token.endchar = start_char + offset + end
                    yield token
                pos += 1


def _chunks(value: str):
    """Yield (offset, piece) of at most ``_CHUNK`` characters, cut at line ends where possible."""
    offset = 0
    for line in value.splitlines(keepends=True):
        for start in range(0, len(line), _CHUNK):
            piece = line[start : start + _CHUNK]
            if piece.strip():
                yield offset + start, piece
        offset += len(line)


class WidthFilter(Composable):
    """Unify full/half width in token texts (ＴＬＳ → TLS, ｶﾙﾃ → カルテ)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = unify_width(token.text)
            yield token


def japanese_analyzer():
    """Sudachi tokens (mode C + mode A parts, normalized forms), width-unified and lowercased."""
    return SudachiTokenizer() | WidthFilter() | LowercaseFilter()


def bigram_analyzer():
    """Character bigrams, width-unified and lowercased: recall for compounds and OCR-garbled words.

    >>> [t.text for t in bigram_analyzer()("電子カルテ")]
    ['電子', '子カ', 'カル', 'ルテ']
    """
    return NgramTokenizer(2, 2) | WidthFilter() | LowercaseFilter()
