"""Reading and writing ``extracted/<edition>/``: every write goes to a temporary folder that is
renamed into place, so a failed run never leaves half an output behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import NotBuiltError
from .model import Correlation, Requirement

REQUIREMENTS = "requirements.jsonl"
CORRELATIONS = "correlations.jsonl"
SECTIONS = "sections.jsonl"
REPORT = "report.json"
CORRECTIONS = "corrections.tsv"


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


@contextmanager
def replace_dir(target: Path):
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def write_edition(folder: Path, requirements: list[Requirement], correlations: list[Correlation], sections: list[dict], report: dict,
                  corrections: list | None = None) -> None:
    """Write one edition's outputs into ``folder``, replacing what was there."""
    from .correct import write_trail

    with replace_dir(folder) as tmp:
        write_trail(tmp / CORRECTIONS, corrections or [])
        (tmp / SECTIONS).write_text("".join(dumps(s) + "\n" for s in sections), encoding="utf-8")
        (tmp / REQUIREMENTS).write_text("".join(dumps(r.to_dict()) + "\n" for r in requirements), encoding="utf-8")
        (tmp / CORRELATIONS).write_text("".join(dumps(c.to_dict()) + "\n" for c in correlations), encoding="utf-8")
        (tmp / REPORT).write_text(json.dumps(report, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")


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
