"""Where the knowledge base is: the folders a command reads and writes, wherever it is run from.

The project folder (the "home") holds ``extracted/``, ``site/``, ``raw/`` and ``mkdocs.yml``. It is,
in this order:

    --out DIR            the folder above DIR (DIR is extracted/; the others are beside it)
    GUIDELINE_KB_HOME    the project folder, or its extracted/ folder itself
    config.toml          ``home = "…"`` in $XDG_CONFIG_HOME/guideline-kb/config.toml (~/.config/…)
    the current folder   or the nearest folder above it that is a guideline-kb project

A folder given by its own option (``--raw``, ``--out``, ``--site-dir``, ``--config``) is always that
folder. Nothing here reads the knowledge base: it only decides where it is.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import GuidelineKBError

ENV = "GUIDELINE_KB_HOME"
DEFAULTS = {"raw": "raw", "out": "extracted", "site": "site", "config": "mkdocs.yml"}
FLAGS = {"raw": "--raw", "out": "--out", "site": "--site-dir", "config": "--config"}
_PYPROJECT_NAME = re.compile(r'^\s*name\s*=\s*["\']guideline-kb["\']', re.MULTILINE)


class HomeNotFoundError(GuidelineKBError):
    """No knowledge base was named, and none was found from the current folder up."""


@dataclass(frozen=True)
class Folders:
    """The folders of one command; ``None`` for one the command does not need and nothing named.
    ``found`` says how the home was found (for messages)."""

    raw: Path | None
    out: Path | None
    site: Path | None
    config: Path | None
    found: str = ""


def config_file(env=os.environ) -> Path:
    """The user's config file: ``$XDG_CONFIG_HOME/guideline-kb/config.toml``, else ``~/.config/…``
    (a relative XDG_CONFIG_HOME is ignored, as the XDG spec says)."""
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path(env.get("HOME") or Path.home()) / ".config"
    return root / "guideline-kb" / "config.toml"


def is_project(folder: Path) -> bool:
    """A guideline-kb project: mkdocs.yml beside extracted/ or raw/, an extracted/ stamped by a build,
    or a pyproject.toml that names guideline-kb (a clone of this repository)."""
    if (folder / "mkdocs.yml").is_file() and ((folder / "extracted").is_dir() or (folder / "raw").is_dir()):
        return True
    if (folder / "extracted" / "build.json").is_file():
        return True
    pyproject = folder / "pyproject.toml"
    try:
        return pyproject.is_file() and bool(_PYPROJECT_NAME.search(pyproject.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def is_extracted(folder: Path) -> bool:
    """An extracted/ folder itself: a build's stamp, the index, or an edition folder in it."""
    return (folder / "build.json").is_file() or (folder / "index").is_dir() or any(folder.glob("*/requirements.jsonl"))


def locate(given: dict[str, Path | None], needs: tuple[str, ...], *, env=os.environ, cwd: Path | None = None) -> Folders:
    """Given the folders named on the command line (``raw``, ``out``, ``site``, ``config``; ``None``
    where not named) and those the command needs, return every folder: a named one as named, the
    others in the home. ``HomeNotFoundError`` says where it looked when a needed folder has no home."""
    folders = {name: given.get(name) for name in DEFAULTS}
    base, found = None, ""
    if folders["out"] is not None:
        base, found = folders["out"].parent, FLAGS["out"]
    elif any(folders[name] is None for name in needs):
        base, out, found = find_home(env=env, cwd=cwd)
        if out is not None:
            folders["out"] = out
    if base is not None:
        for name, default in DEFAULTS.items():
            if folders[name] is None:
                folders[name] = base / default
    return Folders(**folders, found=found)


def find_home(*, env=os.environ, cwd: Path | None = None) -> tuple[Path, Path | None, str]:
    """The project folder from the environment, the config file or the current folder up: return
    (home, its extracted/ folder where that was named instead of the home, how it was found)."""
    value = env.get(ENV, "").strip()
    if value:
        home, out = _named(Path(value).expanduser(), f"{ENV}={value}", f"export {ENV}=/path/to/guideline-kb の形で、")
        return home, out, ENV
    config = config_file(env)
    named = _from_config(config)
    if named is not None:
        home, out = _named(named, f"{config}: home = \"{named}\"", f"{config} の home に")
        return home, out, str(config)
    cwd = cwd or Path.cwd()
    here = cwd.resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return (Path() if folder == here else folder), None, str(folder)
    raise HomeNotFoundError(
        f"guideline-kb のデータが見つかりません（--out も {ENV} も {config} もなく、{here} とその上のフォルダに"
        f" extracted/ と mkdocs.yml のあるフォルダもありません）。export {ENV}=/path/to/guideline-kb とするか、"
        f"--out /path/to/extracted を指定してください")


def _named(path: Path, what: str, how: str) -> tuple[Path, Path | None]:
    """A folder named by the environment or the config file: the project folder, or its extracted/."""
    if not path.is_dir():
        problem = "ファイルです" if path.exists() else "フォルダがありません"
        raise HomeNotFoundError(f"{what}: {problem}（{how}extracted/ のあるフォルダを指定してください）")
    if any((path / name).exists() for name in ("extracted", "raw", "mkdocs.yml", "site")):
        return path, None
    if is_extracted(path):
        return path.parent, path
    raise HomeNotFoundError(f"{what}: guideline-kb のフォルダではありません（extracted/ も raw/ も mkdocs.yml もありません。"
                            f"{how}extracted/ のあるフォルダを指定してください）")


def _from_config(path: Path) -> Path | None:
    """``home`` in the user's config file (relative to the file's folder), or ``None`` without one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HomeNotFoundError(f"{path}: 設定ファイルを読めません（{exc.strerror or exc}。権限を確かめるか、ファイルを消してください）") from None
    import tomllib

    try:
        config = tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise HomeNotFoundError(f"{path}: 設定ファイルを TOML として読めません（{exc}。home = \"/path/to/guideline-kb\" の形にしてください）") from None
    home = config.get("home")
    if home is None:
        return None
    if not isinstance(home, str) or not home.strip():
        raise HomeNotFoundError(f"{path}: home は文字列のパスです（home = \"/path/to/guideline-kb\" の形にしてください）")
    home_path = Path(home.strip()).expanduser()
    return home_path if home_path.is_absolute() else path.parent / home_path
