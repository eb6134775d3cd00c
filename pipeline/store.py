"""Reading and writing ``extracted/<edition>/``. Writes go to a build's staging folder, which
``commit`` makes current together with the index and the site."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import NotBuiltError
from .model import Correlation, Requirement, Unplaced

REQUIREMENTS = "requirements.jsonl"
CORRELATIONS = "correlations.jsonl"
SECTIONS = "sections.jsonl"
REPORT = "report.json"
CORRECTIONS = "corrections.tsv"
UNPLACED = "unplaced.jsonl"


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def write_edition(folder: Path, requirements: list[Requirement], correlations: list[Correlation], sections: list[dict], report: dict,
                  corrections: list | None = None, unplaced: list[Unplaced] = ()) -> None:
    """Write one edition's outputs into ``folder`` (a new folder inside a build's staging folder)."""
    from .correct import write_trail

    folder.mkdir(parents=True)
    write_trail(folder / CORRECTIONS, corrections or [])
    (folder / SECTIONS).write_text("".join(dumps(s) + "\n" for s in sections), encoding="utf-8")
    (folder / REQUIREMENTS).write_text("".join(dumps(r.to_dict()) + "\n" for r in requirements), encoding="utf-8")
    (folder / CORRELATIONS).write_text("".join(dumps(c.to_dict()) + "\n" for c in correlations), encoding="utf-8")
    (folder / UNPLACED).write_text("".join(dumps(u.to_dict()) + "\n" for u in unplaced), encoding="utf-8")
    (folder / REPORT).write_text(json.dumps(report, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def edition_folders(out_dir: Path) -> list[Path]:
    """Given the extracted/ folder, return the edition folders in it, sorted."""
    folders = sorted(p.parent for p in out_dir.glob("*/" + REQUIREMENTS))
    if not folders:
        raise NotBuiltError(f"{out_dir}: 抽出結果がありません（先に guideline-kb extract を実行してください）")
    return folders


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_requirements(out_dir: Path) -> list[Requirement]:
    return [Requirement.from_dict(d) for folder in edition_folders(out_dir) for d in read_jsonl(folder / REQUIREMENTS)]


def load_correlations(out_dir: Path) -> list[Correlation]:
    return [Correlation.from_dict(d) for folder in edition_folders(out_dir) for d in read_jsonl(folder / CORRELATIONS)]


def load_edition(folder: Path) -> tuple[list[Requirement], list[Unplaced]]:
    """One edition folder's requirements and items read but not placed."""
    unplaced = [Unplaced.from_dict(d) for d in read_jsonl(folder / UNPLACED)] if (folder / UNPLACED).exists() else []
    return [Requirement.from_dict(d) for d in read_jsonl(folder / REQUIREMENTS)], unplaced


def load_edition_correlations(folder: Path) -> list[Correlation]:
    """One edition folder's correlations."""
    return [Correlation.from_dict(d) for d in read_jsonl(folder / CORRELATIONS)]


def load_unplaced(out_dir: Path) -> list[Unplaced]:
    """The items read but not placed, every edition (an edition extracted before they were kept has none)."""
    return [Unplaced.from_dict(d) for folder in edition_folders(out_dir) if (folder / UNPLACED).exists()
            for d in read_jsonl(folder / UNPLACED)]
