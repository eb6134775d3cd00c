"""An edition folder under raw/: ``manifest.toml`` (edition, sources and their kinds) and ``toc.tsv``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from ..errors import ManifestError
from ..model import VOLUMES

SOURCE_KINDS = ("ocr-text", "pdf")


@dataclass(frozen=True)
class SourceSpec:
    """One source file of an edition and how to read it."""

    path: Path
    kind: str

    def __post_init__(self):
        if self.kind not in SOURCE_KINDS:
            raise ManifestError(f"{self.path}: 未対応の kind {self.kind!r}（対応: {', '.join(SOURCE_KINDS)}）")


@dataclass(frozen=True)
class TocEntry:
    volume: str
    section: str
    title: str


@dataclass
class Toc:
    """The sections of each volume, used to tell which volume a 記載箇所 heading belongs to."""

    entries: list[TocEntry] = field(default_factory=list)

    def title(self, volume: str, section: str) -> str | None:
        for entry in self.entries:
            if entry.volume == volume and entry.section == section:
                return entry.title
        return None

    def match(self, section: str, title: str) -> TocEntry | None:
        """Given a heading's section number and (noisy) title, return the entry it names, if any.

        The number must match; among volumes with that number, the closest title wins, and it
        must be reasonably close (OCR may garble a few characters: 管理体系 for 管理体制).
        """
        candidates = [e for e in self.entries if e.section == section]
        if not candidates:
            return None
        squeezed = _squeeze(title)
        scored = sorted(((fuzz.ratio(_squeeze(e.title), squeezed), i, e) for i, e in enumerate(candidates)), reverse=True)
        score, _, best = scored[0]
        if score >= 60 or (len(candidates) == 1 and fuzz.partial_ratio(_squeeze(best.title), squeezed) >= 80):
            return best
        return None


    def section_for(self, volume: str, section: str, title: str) -> str:
        """Given a heading as read, return its section number: its own, unless the table of contents
        gives that number another title and the title read clearly belongs to one other section of
        the volume (OCR read 「10.」 as 「19.」).

        >>> toc = Toc([TocEntry("ctrl", "10", "医療情報システムの利用者に関する認証等及び権限")])
        >>> toc.section_for("ctrl", "19", "医療情報システムの利用者に関する認証等及び権限"), toc.section_for("ctrl", "19", "外部からの攻撃")
        ('10', '19')
        """
        entries = [e for e in self.entries if e.volume == volume]
        squeezed = _squeeze(title)
        if not entries or not squeezed:
            return section
        own = next((e for e in entries if e.section == section), None)
        if own and fuzz.ratio(_squeeze(own.title), squeezed) >= 60:
            return section
        depth = section.count(".")
        entries = [e for e in entries if e.section.count(".") == depth]  # a digit misread, not a level lost
        if not entries:
            return section
        best = max(entries, key=lambda e: fuzz.ratio(_squeeze(e.title), squeezed))
        return best.section if fuzz.ratio(_squeeze(best.title), squeezed) >= 80 else section


def _squeeze(title: str) -> str:
    return re.sub(r"[\s\u3000]|【[^】]*】", "", title)


@dataclass
class Edition:
    """What ``raw/<edition>/`` holds."""

    name: str
    title: str
    folder: Path
    sources: list[SourceSpec]
    toc: Toc


def find_editions(raw_dir: Path) -> list[Path]:
    """Given the raw/ folder, return the edition folders (those with a manifest.toml), sorted."""
    if not raw_dir.is_dir():
        raise ManifestError(f"{raw_dir}: raw フォルダがありません")
    folders = sorted(p.parent for p in raw_dir.glob("*/manifest.toml"))
    if not folders:
        raise ManifestError(f"{raw_dir}: manifest.toml のある版のフォルダがありません（例: raw/6.0/manifest.toml）")
    return folders


def load_edition(folder: Path) -> Edition:
    """Given an edition folder, read its manifest and table of contents."""
    manifest_path = folder / "manifest.toml"
    try:
        data = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{manifest_path}: ファイルがありません") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{manifest_path}: TOML として読めません: {exc}") from None
    name = data.get("edition")
    if not isinstance(name, str) or not re.fullmatch(r"\d+(\.\d+)*", name):
        raise ManifestError(f"{manifest_path}: edition（例: \"6.0\"）がありません")
    entries = data.get("sources")
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{manifest_path}: [[sources]] がありません")
    sources = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "file" not in entry or "kind" not in entry:
            raise ManifestError(f"{manifest_path}: sources の {n} 件目に file と kind がありません")
        path = folder / entry["file"]
        if not path.is_file():
            raise ManifestError(f"{manifest_path}: sources の {n} 件目のファイル {path} がありません")
        sources.append(SourceSpec(path, entry["kind"]))
    return Edition(name, str(data.get("title", "")), folder, sources, load_toc(folder / "toc.tsv"))


def load_toc(path: Path) -> Toc:
    """Given ``toc.tsv`` (volume, section, title per line; ``#`` comments), return the Toc.

    The file is optional: without it, volumes are told from column positions alone.
    """
    if not path.exists():
        return Toc()
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in VOLUMES or not re.fullmatch(r"\d+(\.\d+)*", parts[1]):
            raise ManifestError(f"{path}:{n}行: 「編<TAB>節番号<TAB>見出し」の形ではありません（編は {', '.join(VOLUMES)}）")
        entries.append(TocEntry(*parts))
    return Toc(entries)
