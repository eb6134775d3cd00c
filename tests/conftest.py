"""Shared fixtures: the real sample, and a knowledge base built from it by the CLI in a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main

REPO = Path(__file__).resolve().parent.parent
RAW = REPO / "raw"
SAMPLE = RAW / "6.0" / "correlation-table-v6.0.ocr.txt"
CONFIG = REPO / "mkdocs.yml"


def run_cli(tmp: Path, *args: str, raw: Path | None = None):
    """Run ``guideline-kb`` in-process with folders under ``tmp``; return click's Result."""
    base = ["--raw", str(raw or tmp / "raw"), "--out", str(tmp / "extracted"), "--site-dir", str(tmp / "site"), "--config", str(CONFIG)]
    return CliRunner().invoke(main, [*base, *args], catch_exceptions=False)


def copy_raw(tmp: Path) -> Path:
    target = tmp / "raw"
    shutil.copytree(RAW, target)
    return target


@pytest.fixture(scope="session")
def kb(tmp_path_factory) -> Path:
    """A whole knowledge base (extracted, index, site) built from raw/ by ``guideline-kb build``."""
    tmp = tmp_path_factory.mktemp("kb")
    copy_raw(tmp)
    result = run_cli(tmp, "build")
    assert result.exit_code == 0, result.output
    return tmp


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under the folders, path → bytes: compare before and after a refused run."""
    files = {}
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    files[str(path)] = path.read_bytes()
    return files


def assert_refused(result, *expected: str) -> str:
    """A refused run: exit 2, one line 「エラー: …」 holding every ``expected`` string, no traceback."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("エラー: ") and "Traceback" not in result.output, result.output
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert "ください" in lines[0], f"the message does not say what to do: {lines[0]}"
    return lines[0]
