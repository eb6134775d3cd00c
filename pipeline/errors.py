"""The errors a user can cause. Each message is one line that names the file (and line or page)."""

import errno


class GuidelineKBError(Exception):
    """Base class: the CLI prints the message on one line and exits with code 2."""


class ManifestError(GuidelineKBError):
    """An edition folder under raw/ has a missing or malformed manifest.toml or toc.tsv."""


class SourceError(GuidelineKBError):
    """A source file cannot be read as the kind its manifest says."""


class NotBuiltError(GuidelineKBError):
    """A stage needs the output of an earlier stage that has not been run."""


class QueryError(GuidelineKBError):
    """A search query has nothing to search for."""


class NotFoundError(GuidelineKBError):
    """A requirement ID that is not in the knowledge base."""


class SiteError(GuidelineKBError):
    """mkdocs could not build the site."""


class OutputError(GuidelineKBError):
    """An output folder cannot be used or written (a file in its place, foreign files, no room)."""


class ExportError(GuidelineKBError):
    """An export that cannot be made: a format that does not exist, an edition that is not extracted."""


_OS_ADVICE = {
    errno.ENOENT: "ありません（パスを確かめてください）",
    errno.EACCES: "権限がありません（権限を確かめるか、書き込めるフォルダを指定してください）",
    errno.EPERM: "権限がありません（権限を確かめるか、書き込めるフォルダを指定してください）",
    errno.EROFS: "読み取り専用です（書き込めるフォルダを指定してください）",
    errno.ENOSPC: "ディスクに空きがありません（空きを作ってからもう一度実行してください）",
    errno.EDQUOT: "ディスクの割り当てを超えました（空きを作ってからもう一度実行してください）",
    errno.EFBIG: "ファイルの大きさの上限を超えました（ulimit -f を確かめてください）",
    errno.EISDIR: "ファイルのはずがフォルダです（ファイルを置いてください）",
    errno.ENOTDIR: "フォルダのはずがファイルです（パスを確かめてください）",
    errno.ENAMETOOLONG: "パスが長すぎます（短いパスを指定してください）",
    errno.ELOOP: "シンボリックリンクが循環しています（リンクを直してください）",
    errno.EMFILE: "開いているファイルが多すぎます（ulimit -n を確かめてください）",
}


# Where a file was being read, the advice is about reading it.
_READ_ADVICE = {
    errno.ENOENT: "ファイルがありません（ファイル名とパスを確かめてください）",
    errno.EACCES: "読み取りの権限がありません（chmod などで読めるようにしてください）",
    errno.EPERM: "読み取りの権限がありません（chmod などで読めるようにしてください）",
    errno.EISDIR: "ファイルのはずがフォルダです（このパスに{noun}を置いてください）",
    errno.ENOTDIR: "途中のフォルダがファイルです（パスを確かめてください）",
    errno.ENAMETOOLONG: "パスが長すぎます（短いパスにしてください）",
}


def describe_os_error(exc: OSError, path: object = None, *, reading: bool = False, noun: str = "ファイル") -> str:
    """One line for an OS error: the file, what is wrong, what to do; ``reading`` a file (``noun``
    names its role), the advice is about reading it.

    >>> describe_os_error(PermissionError(errno.EACCES, "Permission denied", "site/index.html"))
    'site/index.html: 権限がありません（権限を確かめるか、書き込めるフォルダを指定してください）'
    >>> describe_os_error(FileNotFoundError(errno.ENOENT, "No such file"), "raw/6.0/x.txt", reading=True)
    'raw/6.0/x.txt: ファイルがありません（ファイル名とパスを確かめてください）'
    """
    where = path if reading and path is not None else exc.filename if exc.filename is not None else path
    if reading:
        what = _READ_ADVICE.get(exc.errno) or _OS_ADVICE.get(exc.errno) or f"読めません（{exc.strerror or exc}）。ファイルとディスクを確かめてください"
        what = what.format(noun=noun)
    else:
        what = _OS_ADVICE.get(exc.errno, f"{exc.strerror or exc}（パスと権限、ディスクの空きを確かめてください）")
    return f"{where}: {what}" if where is not None else what
