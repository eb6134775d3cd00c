"""What a build's outputs were made from, as hashes: a build with nothing changed does no work.

- an edition's data (``extracted/<edition>/``) depends on its ``raw/<edition>/`` folder (sources,
  manifest, toc, corrections, placements) and on the code (the pipeline's files, its data files such
  as the lexicon, and the versions of the libraries that read and analyse);
- the index on every edition's data and the code;
- the site on the data, the code and ``mkdocs.yml``.

``extracted/inputs.json`` records the first two, ``site/inputs.json`` the third. ``build`` reads an
edition again only when its hash changed, copies the others as they are, and rebuilds the index and
the site only when what they depend on changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

INPUTS = "inputs.json"
PACKAGE = Path(__file__).resolve().parent
CODE_SUFFIXES = {".py", ".js", ".css", ".html", ".tsv", ".json", ".toml"}
LIBRARIES = ("pdfplumber", "pymupdf", "sudachipy", "sudachidict_core", "whoosh-reloaded", "mkdocs", "mkdocs-material", "rapidfuzz")


def digest_files(files, base: Path) -> str:
    """A hash of files (their paths under ``base`` and their bytes)."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(base).as_posix()):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The pipeline's own files and the versions of the libraries its output depends on."""
    from importlib import metadata

    files = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts]
    digest = hashlib.sha256(digest_files(files, PACKAGE).encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=-".encode())
    return digest.hexdigest()[:16]


def edition_hash(folder: Path) -> str:
    """An edition's folder (raw, or extracted for the site), every file in it."""
    return digest_files([p for p in folder.rglob("*") if p.is_file()], folder)


def data_inputs(editions) -> dict:
    """What extracted/ is made from: the code and each edition's raw folder (``Edition`` objects)."""
    return {"code": code_version(), "editions": {e.name: edition_hash(e.folder) for e in editions}}


def site_inputs(config: Path, data_stamp: str) -> dict:
    """What site/ is made from: the code, mkdocs.yml and the data (by its stamp)."""
    return {"code": code_version(), "config": digest_files([config], config.parent), "data": data_stamp}


def read_inputs(folder: Path) -> dict | None:
    try:
        return json.loads((folder / INPUTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_inputs(folder: Path, inputs: dict) -> None:
    (folder / INPUTS).write_text(json.dumps(inputs, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def stale_editions(previous: dict | None, current: dict, out_dir: Path) -> list[str]:
    """The editions whose data must be made again: all of them when the code changed or nothing was
    recorded; else those whose raw folder changed, or whose extracted folder is missing.

    >>> stale_editions({"code": "a", "editions": {"6.0": "x", "6.1": "y"}}, {"code": "a", "editions": {"6.0": "x", "6.1": "z"}}, Path("/nonexistent"))
    ['6.0', '6.1']
    """
    names = sorted(current["editions"])
    if not previous or previous.get("code") != current["code"]:
        return names
    return [name for name in names if previous.get("editions", {}).get(name) != current["editions"][name]
            or not (out_dir / name / "requirements.jsonl").is_file()]
