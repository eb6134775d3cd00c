"""Scoring cells read from a PDF against the truth (the measuring side: it may use the pipeline's basic
cleaning, applied to both sides alike; the generators in ``corpus.py`` and ``producers/`` may not)."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from pipeline.normalize import clean


@dataclass
class Score:
    cells: int
    exact: int
    errors: int  # character edits (Levenshtein) over all cells
    chars: int  # characters of the truth
    mismatches: list[tuple[int, int, str, str]]  # (row, column, truth, read)

    @property
    def cell_accuracy(self) -> float:
        return self.exact / self.cells if self.cells else 0.0

    @property
    def cer(self) -> float:
        return self.errors / self.chars if self.chars else 0.0


def score(read: list[list[str]], truth: list[list[str]]) -> Score:
    """Compare cells read from a PDF with the truth, both after basic cleaning."""
    result = Score(0, 0, 0, 0, [])
    for r in range(max(len(read), len(truth))):
        got_row = read[r] if r < len(read) else [""] * 8
        want_row = truth[r] if r < len(truth) else [""] * 8
        for c in range(8):
            got = _folded(got_row[c] if c < len(got_row) else "")
            want = _folded(want_row[c])
            result.cells += 1
            result.chars += len(want)
            if got == want:
                result.exact += 1
            else:
                result.errors += Levenshtein.distance(got, want)
                result.mismatches.append((r, c, want, got))
    return result


def _folded(text: str) -> str:
    """A cell after basic cleaning, a line break and a space being the same (whether 「1.」 after 「こと。」
    starts a new line is the producer's wrapping; the words and their order are what count)."""
    return " ".join(clean(text).split())


def text_errors(found: dict[str, str], truth: dict[str, list[str]]) -> tuple[int, int]:
    """Character edits between the requirement texts extracted and the truth's (the nearest, where
    the truth gives one ID two texts), over the IDs both have, and the characters of those truth
    texts (spaces left out: OCR puts them between any two characters, and the site shows the text
    without them)."""
    errors = chars = 0
    for key in sorted(found.keys() & truth.keys()):
        got = "".join(_folded(found[key]).split())
        edits, want = min((Levenshtein.distance(got, w), w) for w in ("".join(_folded(t).split()) for t in truth[key]))
        errors += edits
        chars += len(want)
    return errors, chars
