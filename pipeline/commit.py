"""The ``commit`` step: a build's outputs (extracted/ with its index, and site/) move from the old
complete build to the new one together.

    stage    each part is written beside its target, in ``.extracted.staging-<token>/`` and
             ``.site.staging-<token>/``, while the old build stays in place
    journal  ``.extracted.commit`` (written, then renamed into place: one atomic step) names the build
             and the swaps; from that moment the new build is the current one
    swap     each staged part is exchanged with its target in one system call (Linux ``renameat2``
             with ``RENAME_EXCHANGE``), so no part is ever missing, not even for an instant
    finish   the journal is removed, then the old parts

A kill before the journal leaves the old build, and its staging folders are removed by the next run;
a kill after it is rolled forward by the next command that opens the knowledge base (``recover``).
Each part carries its build in ``build.json``: a hash of the extracted data, so rebuilding the same
data keeps the same stamp and ``git diff extracted/`` shows only real changes.

Every build holds ``.extracted.lock`` (flock), so two builds never interleave.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GuidelineKBError, OutputError

STAMP = "build.json"
TOKEN = ".commit-token"  # which commit wrote a part: the data's stamp alone cannot tell a new site from the old one
_STAGING = re.compile(r"\.(?P<name>.+)\.staging-[0-9a-f]+(\.docs|\.beside)?$")  # .docs, .beside: the site stage's work folders
_LEGACY = re.compile(r"\.(?P<name>.+)\.(new|old)-[0-9A-Za-z_]+$")  # replace_dir of earlier versions


class BusyError(GuidelineKBError):
    """Another build holds the lock on the output folder."""


@dataclass
class Part:
    target: Path  # the folder users see (resolved)
    staged: Path  # where the new build is written, beside it


def journal_path(out_dir: Path) -> Path:
    out = out_dir.resolve()
    return out.parent / f".{out.name}.commit"


def lock_path(out_dir: Path) -> Path:
    out = out_dir.resolve()
    return out.parent / f".{out.name}.lock"


def data_stamp(folder: Path) -> str:
    """A hash of the extracted data in ``folder`` (every edition's files, not the index): the build's name.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = (d / "6.0").mkdir(); _ = (d / "6.0" / "a.jsonl").write_text("x")
    >>> data_stamp(d)
    '217c5a310edbc97f'
    """
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*/*")):
        if path.is_file() and path.parent.name != "index":
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def read_stamp(folder: Path) -> str | None:
    """The build a part belongs to, or ``None`` (no stamp, or not a folder of ours)."""
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8"))["build"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_stamp(folder: Path, build: str, token: str = "") -> None:
    (folder / STAMP).write_text(json.dumps({"build": build}, sort_keys=True) + "\n", encoding="utf-8")
    if token:
        (folder / TOKEN).write_text(token, encoding="utf-8")


def read_token(folder: Path) -> str | None:
    try:
        return (folder / TOKEN).read_text(encoding="utf-8")
    except OSError:
        return None


def exchange(a: Path, b: Path) -> None:
    """Swap two folders atomically (both names always exist); where the kernel cannot, two renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(b))
    aside = a.with_name(a.name + ".swap")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


def _swap(part: Part) -> None:
    if part.target.exists() or part.target.is_symlink():
        exchange(part.staged, part.target)
    else:
        part.target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(part.staged, part.target)


def _write_journal(path: Path, build: str, parts: list[Part], token: str = "") -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"build": build, "token": token, "parts": [[str(p.staged), str(p.target)] for p in parts]}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def roll_forward(journal: Path) -> None:
    """Finish a commit whose journal is in place: swap what is not swapped yet, remove the old parts."""
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        build, parts = data["build"], [Part(Path(t), Path(s)) for s, t in data["parts"]]
        token = data.get("token", "")
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)  # half-written journals are only ever the .tmp file
        return
    mark = read_token if token else read_stamp  # a journal of an older version has no token
    for part in parts:
        if mark(part.target) != (token or build) and mark(part.staged) == (token or build):
            _swap(part)
    _finish(journal, parts)


def _finish(journal: Path, parts: list[Part]) -> None:
    """The commit is whole: forget the journal, then remove the old parts (now in the staging places)."""
    journal.unlink(missing_ok=True)
    for part in parts:
        _remove(part.staged)


def stale_folders(*targets: Path, keep: set[Path] = frozenset()) -> list[Path]:
    """The staging and swap leftovers of killed runs beside the targets (never those in ``keep``)."""
    found = []
    for target in targets:
        target = target.resolve()
        if not target.parent.is_dir():
            continue
        for path in target.parent.iterdir():
            match = _STAGING.match(path.name) or _LEGACY.match(path.name)
            ours = (match and match["name"] == target.name) or path.name in (f"{target.name}.swap", f".{target.name}.commit.tmp")
            if ours and path not in keep:
                found.append(path)
    return sorted(found)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass
class Transaction:
    """One build's outputs: ``stage`` a part, write it, ``commit`` them all; on an error nothing changes.

    >>> import tempfile; base = Path(tempfile.mkdtemp())
    >>> with Transaction(base / "extracted", base / "site") as tx:
    ...     staged = tx.stage(base / "extracted"); _ = (staged / "x").write_text("new")
    ...     tx.commit("b1")
    >>> (base / "extracted" / "x").read_text(), read_stamp(base / "extracted")
    ('new', 'b1')
    """

    out_dir: Path
    site_dir: Path
    parts: list[Part] = field(default_factory=list)
    _lock: object = None

    def __enter__(self) -> Transaction:
        lock = lock_path(self.out_dir)
        lock.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(lock, "a")  # noqa: SIM115 - held for the whole build
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise BusyError(f"{self.out_dir}: 別の guideline-kb build が実行中です（終わるのを待ってからもう一度実行してください）") from None
        _recover_locked(self.out_dir, self.site_dir)
        return self

    def stage(self, target: Path) -> Path:
        """A new empty folder beside ``target`` (normal permissions) to write the new part into."""
        target = target.resolve()
        staged = target.parent / f".{target.name}.staging-{secrets.token_hex(4)}"
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.mkdir()
        self.parts.append(Part(target, staged))
        return staged

    def commit(self, build: str) -> None:
        """Stamp every staged part with ``build`` and make them current together."""
        token = f"{build}-{secrets.token_hex(8)}"  # this commit: a rebuild of the same data still replaces the parts
        for part in self.parts:
            write_stamp(part.staged, build, token)
        journal = journal_path(self.out_dir)
        _write_journal(journal, build, self.parts, token)
        self.parts = []  # committed: from here on a failure is rolled forward, never back
        roll_forward(journal)

    def __exit__(self, *exc) -> None:
        try:
            for part in self.parts:  # not committed: the old build stays
                _remove(part.staged)
                for work in (".docs", ".beside"):
                    _remove(part.staged.with_name(part.staged.name + work))
        finally:
            self._lock.close()


def _recover_locked(out_dir: Path, site_dir: Path) -> None:
    journal = journal_path(out_dir)
    if journal.exists():
        roll_forward(journal)
    for path in stale_folders(out_dir, site_dir):
        _remove(path)


def recover(out_dir: Path, site_dir: Path) -> None:
    """Before reading the knowledge base: finish a commit that a killed build left half done and remove
    its leftovers. Does nothing while another build runs, or where the folder cannot be written."""
    lock = lock_path(out_dir)
    if not journal_path(out_dir).exists() and not stale_folders(out_dir, site_dir):
        return
    try:
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _recover_locked(out_dir, site_dir)
    except OSError:
        pass  # locked by a running build, or read-only: read what is there


def check_folders(raw_dir: Path, out_dir: Path, site_dir: Path, config: Path | None = None) -> None:
    """Refuse folders that a build would damage: raw, out and site must be three distinct folders,
    none inside another; mkdocs.yml must not be inside an output; an output already there must be a
    folder of ours (it is replaced whole).

    >>> check_folders(Path("raw"), Path("raw/6.0"), Path("site"))
    Traceback (most recent call last):
    ...
    pipeline.errors.OutputError: raw/6.0: --out が --raw（raw）の中にあります（raw・out・site は重ならない別々のフォルダにしてください）
    """
    named = {"--raw": raw_dir, "--out": out_dir, "--site-dir": site_dir}
    resolved = {flag: path.resolve() for flag, path in named.items()}
    for flag, path in resolved.items():
        for other, other_path in resolved.items():
            if flag == other:
                continue
            if path == other_path:
                raise OutputError(f"{named[flag]}: {flag} と {other} が同じフォルダです（raw・out・site は別々のフォルダにしてください）")
            if other_path in path.parents:
                raise OutputError(f"{named[flag]}: {flag} が {other}（{named[other]}）の中にあります（raw・out・site は重ならない別々のフォルダにしてください）")
    if config is not None:
        for flag in ("--out", "--site-dir"):
            if resolved[flag] in config.resolve().parents:
                raise OutputError(f"{config}: mkdocs の設定が {flag}（{named[flag]}）の中にあります（出力の外に置いてください）")
    _check_ours(out_dir, _foreign_in_extracted, "抽出結果")
    _check_ours(site_dir, _foreign_in_site, "サイト")


def _foreign_in_extracted(entries: list[Path]) -> list[Path]:
    return [p for p in entries if p.name not in (STAMP, TOKEN, "index") and not (p / "requirements.jsonl").is_file()]


def _foreign_in_site(entries: list[Path]) -> list[Path]:
    names = {p.name for p in entries}
    return [] if {"index.html", "search"} <= names else entries


def _check_ours(folder: Path, foreign_entries, what: str) -> None:
    """An existing output folder must be one of ours (stamped, or shaped as ours): it is replaced whole."""
    if folder.is_symlink() and not folder.exists():
        raise OutputError(f"{folder}: 行き先のないシンボリックリンクです（リンクを直すか別のフォルダを指定してください）")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputError(f"{folder}: フォルダではなくファイルです（そのファイルを移すか、別のフォルダを指定してください）")
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    foreign = [] if read_stamp(folder) is not None else foreign_entries(entries)
    if foreign:
        raise OutputError(f"{folder}: guideline-kb の{what}ではないもの（{foreign[0].name} ほか {len(foreign)} 件）があります。"
                          "丸ごと置き換えるので、空のフォルダか別のフォルダを指定してください")
