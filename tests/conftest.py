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
