"""Headless LibreOffice turning an office document (.docx, .xlsx) into a PDF, with its own user profile
per call (no lock conflicts between runs)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

SOFFICE = "soffice"
TIMEOUT = 120

# A Japanese user's setting: Asian text defaults to Japanese where the file names no language (.xlsx).
# Writer breaks lines by the Japanese rules (no 、。）」 at a line start); Calc 7.4 breaks cells without
# them, this setting or not (lines may start with 、。・ー).
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Linguistic/General"><prop oor:name="DefaultLocale_CJK" oor:op="fuse"><value>ja-JP</value></prop></item>
</oor:items>
"""


def convert(source: Path, path: Path) -> Path:
    """Convert an office file to PDF with headless LibreOffice (its own user profile), write it at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-") as tmp:
        profile, outdir = Path(tmp) / "profile", Path(tmp) / "out"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(PROFILE_SETTINGS, encoding="utf-8")
        command = [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                   "--convert-to", "pdf", "--outdir", str(outdir), str(source)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
        made = outdir / f"{source.stem}.pdf"
        if done.returncode != 0 or not made.is_file():
            raise RuntimeError(f"LibreOffice did not convert {source.name}: {done.stdout}{done.stderr}")
        shutil.move(str(made), str(path))
    return path


def office_pdf(document, suffix: str, path: Path) -> Path:
    """Save a python-docx ``Document`` or an openpyxl ``Workbook`` as ``suffix`` and convert it to ``path``."""
    with tempfile.TemporaryDirectory(prefix="office-") as tmp:
        source = Path(tmp) / f"{path.stem}{suffix}"
        document.save(str(source))
        return convert(source, path)
