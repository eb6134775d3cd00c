"""An edition folder under raw/: ``manifest.toml`` (edition, title, publication date, the MHLW page,
sources and their kinds) and ``toc.tsv``.

Both are checked before any work starts: the manifest against ``MANIFEST_SCHEMA`` (JSON Schema),
every source path inside the edition folder, edition names unique across raw/.
"""

from __future__ import annotations

import functools

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from rapidfuzz import fuzz

from ..errors import ManifestError
from ..limits import LIMITS, Limits
from ..model import VOLUMES
from ..textfile import read_text

SOURCE_KINDS = ("ocr-text", "pdf")
EDITION_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,3}){0,3}$"
URL_PATTERN = r"^https?://[^\s\x00-\x1f\x7f\"'<>\\`]+$"
_TEXT = {"type": "string", "maxLength": LIMITS.max_field_chars}
MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["edition", "sources"],
    "additionalProperties": False,
    "properties": {
        "edition": {"type": "string", "pattern": EDITION_PATTERN},
        "title": _TEXT,
        "published": {"type": "string", "pattern": r"^[0-9]{4}(-[0-9]{2}){0,2}$"},
        # The page where MHLW publishes the edition: shown on the site as a link, so http(s) only.
        "url": {"type": "string", "maxLength": LIMITS.max_field_chars, "pattern": URL_PATTERN},
        "note": _TEXT,
        "sources": {
            "type": "array", "minItems": 1, "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["file", "kind"],
                "additionalProperties": False,
                "properties": {
                    "file": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\x00-\x1f]+$"},
                    "kind": {"enum": list(SOURCE_KINDS)},
                    "note": _TEXT,
                },
            },
        },
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: {"type": "integer", "minimum": 1} for name in Limits.__dataclass_fields__},
        },
    },
}
_TYPES = {"string": "文字列（\"…\" で囲む）", "array": "配列", "object": "表", "integer": "整数", "number": "数"}


@dataclass(frozen=True)
class SourceSpec:
    """One source file of an edition and how to read it."""

    path: Path
    kind: str
    note: str = ""

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

    @functools.cached_property
    def _sections(self) -> dict[str, list[TocEntry]]:
        """section → its entries (in the toc's order): a lookup per item, not a scan."""
        by_section: dict[str, list[TocEntry]] = {}
        for entry in self.entries:
            by_section.setdefault(entry.section, []).append(entry)
        return by_section

    def title(self, volume: str, section: str) -> str | None:
        """The title of a volume's section, the first the toc gives (None if it has none).

        >>> Toc([TocEntry("gov", "1", "A"), TocEntry("mgmt", "1", "B"), TocEntry("mgmt", "1", "C")]).title("mgmt", "1")
        'B'
        """
        for entry in self._sections.get(section, ()):
            if entry.volume == volume:
                return entry.title
        return None

    def match(self, section: str, title: str) -> TocEntry | None:
        """Given a heading's section number and (noisy) title, return the entry it names, if any.

        The number must match; among volumes with that number, the closest title wins, and it
        must be reasonably close (OCR may garble a few characters: 管理体系 for 管理体制).
        """
        candidates = self._sections.get(section, [])
        if not candidates:
            return None
        squeezed = _squeeze(title)
        scored = sorted(((fuzz.ratio(_squeeze(e.title), squeezed), i, e) for i, e in enumerate(candidates)), reverse=True)
        score, _, best = scored[0]
        if score >= 60 or (len(candidates) == 1 and fuzz.partial_ratio(_squeeze(best.title), squeezed) >= 80):
            return best
        return None

    def by_title(self, volume: str, text: str) -> TocEntry | None:
        """Given the text of a heading whose number could not be read (OCR dropped its full stop or
        put its lines out of order), return the one section of the volume whose title it is, if clear.

        >>> toc = Toc([TocEntry("mgmt", "15", "技術的な対策の管理"), TocEntry("mgmt", "14", "法令で定められた記名・押印のための電子署名")])
        >>> toc.by_title("mgmt", "15技術的な対策の管理").section, toc.by_title("mgmt", "の15.管理技術的な対策").section
        ('15', '15')
        >>> toc.by_title("mgmt", "16 外部からの攻撃") is None
        True
        """
        words = re.sub(r"[\W\d_A-Za-z]", "", _squeeze(text[:200]))
        if not words or len(words) > 80:  # a heading is short; a long cell is no heading
            return None

        def similar(entry: TocEntry) -> float:  # out of order too: lines of a heading interleaved
            title = re.sub(r"[\W\d_A-Za-z]", "", _squeeze(entry.title))
            return max(fuzz.ratio(title, words), fuzz.ratio(sorted(title), sorted(words)))

        scored = sorted(((similar(e), i, e) for i, e in enumerate(self.entries) if e.volume == volume), reverse=True)
        if not scored or scored[0][0] < 80 or (len(scored) > 1 and scored[0][0] - scored[1][0] < 10):
            return None
        return scored[0][2]

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
    limits: Limits = LIMITS
    published: str = ""  # 公表: "2023-05"
    url: str = ""  # the MHLW page of the edition


def find_editions(raw_dir: Path) -> list[Path]:
    """Given the raw/ folder, return the edition folders (those with a manifest.toml), sorted."""
    if not raw_dir.is_dir():
        raise ManifestError(f"{raw_dir}: raw フォルダがありません（--raw で元資料のフォルダを指定してください）")
    folders = sorted(p.parent for p in raw_dir.glob("*/manifest.toml"))
    if not folders:
        raise ManifestError(f"{raw_dir}: manifest.toml のある版のフォルダがありません（raw/6.0/manifest.toml のように置いてください）")
    return folders


def load_editions(raw_dir: Path) -> list[Edition]:
    """Every edition under raw/, checked; two folders may not claim the same edition."""
    editions = [load_edition(folder) for folder in find_editions(raw_dir)]
    seen: dict[str, Edition] = {}
    for edition in editions:
        if edition.name in seen:
            first = seen[edition.name].folder / "manifest.toml"
            raise ManifestError(f"{edition.folder / 'manifest.toml'}: edition \"{edition.name}\" は {first} と同じです"
                                "（版ごとに別の edition にしてください）")
        seen[edition.name] = edition
    return editions


def schema_message(error) -> str:
    """A JSON Schema error of the manifest as Japanese: where, what is wrong, what is expected.

    >>> schema_message(best_match(Draft202012Validator(MANIFEST_SCHEMA).iter_errors({"edition": 6.0, "sources": ["x"]})))
    'edition は文字列（"…" で囲む）にしてください（今は 6.0）'
    """
    where = "".join(f"[{p + 1}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(error.absolute_path)) or "manifest"
    value = repr(error.instance) if len(repr(error.instance)) <= 60 else repr(error.instance)[:57] + "…"
    validator = error.validator
    if validator == "type":
        return f"{where} は{_TYPES.get(error.validator_value, error.validator_value)}にしてください（今は {value}）"
    if validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{where} に {'、'.join(missing)} がありません（書き足してください）"
    if validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return (f"{where} に知らない項目 {'、'.join(map(str, extra))} があります（綴りを確かめてください。"
                f"使える項目: {'、'.join(error.schema.get('properties', {}))}）")
    if validator == "enum":
        return f"{where} は {'、'.join(map(str, error.validator_value))} のどれかにしてください（今は {value}）"
    if validator == "pattern" and where == "edition":
        return f"edition は版の番号（例: \"6.0\"）にしてください（今は {value}）"
    if validator == "pattern" and where == "published":
        return f"published は公表年月（例: \"2023-05\"）にしてください（今は {value}）"
    if validator == "pattern" and where == "url":
        return f"url は http:// か https:// で始まり、空白・引用符・<> を含まない URL にしてください（今は {value}）"
    if validator == "pattern":
        return f"{where} に使えない文字（制御文字）があります（直してください。今は {value}）"
    if validator in ("maxLength", "maxItems"):
        return f"{where} が長すぎます（{error.validator_value:,} まで）。短くしてください"
    if validator in ("minLength", "minItems"):
        return f"{where} が空です（中身を書いてください）"
    if validator == "minimum":
        return f"{where} は {error.validator_value} 以上にしてください（今は {value}）"
    return f"{where}: {error.message[:120]}（manifest.toml を直してください）"


def source_path(folder: Path, file: str, n: int, manifest_path: Path) -> Path:
    """A source's path, which must stay inside the edition folder (no absolute path, no .., no link out)."""
    where = f"{manifest_path}: sources の {n} 件目"
    relative = Path(file)
    if relative.is_absolute() or ".." in relative.parts or "\\" in file:
        raise ManifestError(f"{where}: file は版のフォルダからの相対パスにしてください（{file!r}）")
    path = folder / relative
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        raise ManifestError(f"{where}: {file} は版のフォルダの外を指しています（ファイルを {folder} の中に置いてください）")
    if path.is_dir():
        raise ManifestError(f"{where}: {path} はフォルダです（元資料のファイルを指定してください）")
    if not path.is_file():
        raise ManifestError(f"{where}: ファイル {path} がありません（ファイル名を確かめてください）")
    return path


def load_edition(folder: Path) -> Edition:
    """Given an edition folder, read and check its manifest and table of contents."""
    manifest_path = folder / "manifest.toml"
    if manifest_path.is_dir():
        raise ManifestError(f"{manifest_path}: フォルダです（版の説明を書いた TOML ファイルにしてください）")
    try:
        data = tomllib.loads(read_text(manifest_path, what="manifest.toml", error=ManifestError))
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{manifest_path}: TOML として読めません: {exc}（書き方を直してください）") from None
    error = best_match(Draft202012Validator(MANIFEST_SCHEMA).iter_errors(data))
    if error is not None:
        raise ManifestError(f"{manifest_path}: {schema_message(error)}")
    sources = [SourceSpec(source_path(folder, entry["file"], n, manifest_path), entry["kind"], entry.get("note", ""))
               for n, entry in enumerate(data["sources"], 1)]
    limits = LIMITS.with_overrides(data.get("limits", {}))
    return Edition(data["edition"], data.get("title", ""), folder, sources, load_toc(folder / "toc.tsv"), limits,
                   data.get("published", ""), data.get("url", ""))


def load_toc(path: Path) -> Toc:
    """Given ``toc.tsv`` (volume, section, title per line; ``#`` comments), return the Toc.

    The file is optional: without it, volumes are told from column positions alone.
    """
    if not path.exists() and not path.is_symlink():
        return Toc()
    if path.is_dir():
        raise ManifestError(f"{path}: フォルダです（目次のタブ区切りファイルにするか、取り除いてください）")
    entries = []
    for n, line in enumerate(read_text(path, what="toc.tsv", error=ManifestError).splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in VOLUMES or not re.fullmatch(r"\d+(\.\d+)*", parts[1]):
            raise ManifestError(f"{path}:{n}行: 「編<TAB>節番号<TAB>見出し」の形にしてください（編は {', '.join(VOLUMES)}）")
        if len(parts[2]) > LIMITS.max_field_chars:
            raise ManifestError(f"{path}:{n}行: 見出しが長すぎます（{len(parts[2]):,} 字、{LIMITS.max_field_chars:,} 字まで）。タブや改行が抜けていないか確かめてください")
        entries.append(TocEntry(*parts))
    return Toc(entries)
