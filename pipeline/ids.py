"""Requirement IDs as people type them: normalized to the permalink form, and the nearest known IDs
for one that does not exist."""

from __future__ import annotations

import re
import unicodedata

from .model import VOLUME_NAMES

# Dashes and long-vowel marks that an IME or a PDF gives for "-" (NFKC leaves these as they are).
_DASHES = str.maketrans({ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\u2500\u2501_"})
_VOLUME_ALIASES = {name: volume for volume, name in VOLUME_NAMES.items()} | {
    name.removesuffix("編"): volume for volume, name in VOLUME_NAMES.items()}


def normalize_id(text: str) -> str:
    """Given an ID as typed, return it in the permalink form: lower case, ASCII (full width folded),
    no spaces, no leading zeros in numbers.

    >>> [normalize_id(s) for s in ("GOV-1.1-1", "mgmt-13-4 ", "mgmt - 13 - 4", "ｃｔｒｌ－１３－６", "ctrl-13-04")]
    ['gov-1.1-1', 'mgmt-13-4', 'mgmt-13-4', 'ctrl-13-6', 'ctrl-13-4']
    >>> [normalize_id(s) for s in ("gov-01.1-1", "ctrl 13 6", " UNPLACED-07-01", "unplaced-P3-2", "システム運用編-13-⑥")]
    ['gov-1.1-1', 'ctrl-13-6', 'unplaced-7-1', 'unplaced-p3-2', 'ctrl-13-6']
    """
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).strip()
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s*\.\s*", ".", text)
    text = re.sub(r"\s+", "-", text)  # "ctrl 13 6"
    parts = text.split("-")
    if parts and parts[0] in _VOLUME_ALIASES:
        parts[0] = _VOLUME_ALIASES[parts[0]]
    parts = [re.sub(r"\d+", lambda m: str(int(m.group())), part.lower()) for part in parts]
    return "-".join(parts)


def normalize_section(text: str) -> str:
    """A section number as typed, in the form of the data: ``"１３．"`` → ``"13"``, ``"02.01"`` → ``"2.1"``;
    ``ValueError`` when it is not a section number.

    >>> normalize_section(" １３． "), normalize_section("02.01")
    ('13', '2.1')
    """
    text = unicodedata.normalize("NFKC", text).strip().rstrip(".")
    if not re.fullmatch(r"\d+(\.\d+)*", text):
        raise ValueError(text)
    return ".".join(str(int(part)) for part in text.split("."))


def nearest(wanted: str, known: list[str], *, limit: int = 5, cutoff: float = 60.0) -> list[str]:
    """Given an ID that does not exist and the IDs that do, return the nearest few: those of the same
    volume and section first (closest number first), then the most similar others.

    >>> nearest("mgmt-13-5", ["mgmt-13-4", "mgmt-13-8", "mgmt-13-6", "ctrl-13-5", "gov-1.1-1"])
    ['mgmt-13-4', 'mgmt-13-6', 'mgmt-13-8', 'ctrl-13-5']
    """
    from rapidfuzz import fuzz, process

    head = wanted.rsplit("-", 1)[0] + "-"
    volume = wanted.split("-", 1)[0] + "-"
    same_section = sorted((k for k in known if k.startswith(head)), key=lambda k: (_distance(wanted, k), k))
    rest = [k for k in known if not k.startswith(head)]
    scored = process.extract(wanted, rest, scorer=fuzz.ratio, limit=None, score_cutoff=cutoff)
    others = [k for k, _, _ in sorted(scored, key=lambda s: (not s[0].startswith(volume), -s[1], s[0]))]
    return (same_section + others)[:limit]


def _distance(wanted: str, other: str) -> tuple[int, str]:
    """How far two IDs of one section are apart by their numbers (where both end in a number)."""
    a, b = wanted.rsplit("-", 1)[1], other.rsplit("-", 1)[1]
    return (abs(int(a) - int(b)), "") if a.isdigit() and b.isdigit() else (10**6, b)
