"""Reading a text file a maintainer put under raw/: one clear line for every way it can fail.

OCR text dumps, ``toc.tsv``, ``corrections.tsv`` and ``manifest.toml`` all come through
``read_text``. It accepts what editors and OCR tools actually write — UTF-8 with or without a
BOM, CRLF or lone CR line ends, UTF-16 with a BOM, Shift_JIS (cp932) — and refuses the rest with
the file, the line (where there is one), what is wrong and what to do:

    missing, a folder, not a regular file, not readable  → the path and what to check
    over ``limits.max_file_bytes``                        → the size and the limit
    NUL bytes (binary, or UTF-16 without a BOM)          → the line of the first one
    neither UTF-8 nor Shift_JIS                          → the line and byte of the first bad byte
    empty, or over ``limits.max_text_lines`` lines        → what was found and the limit
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

from .errors import GuidelineKBError, SourceError, describe_os_error
from .limits import LIMITS, Limits

# Longest BOM first: the UTF-32 LE BOM starts with the UTF-16 LE one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
SAVE_AS_UTF8 = "UTF-8 のテキストとして保存し直してください"
_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NON_ASCII_OK = re.compile("[^\x00-\x7f\ufffd]")


def read_text(path: Path, *, limits: Limits = LIMITS, what: str = "", error: type[GuidelineKBError] = SourceError) -> str:
    """Given a text file, return its text with line ends as ``\\n``; else raise ``error`` with one line.

    ``what`` names the file's role in the advice (「OCR テキスト」, 「corrections.tsv」).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_bytes("\\ufeff①\\r\\n表\\r".encode("utf-8"))
    >>> read_text(p)
    '①\\n表\\n'
    """
    data = read_bytes(path, limits=limits, what=what, error=error)
    text = decode(data, path, error=error)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise error(f"{path}: 空のファイルです（{_noun(what) if what else '中身'}を書いたファイルを置いてください）".replace("（ ", "（"))
    lines = text.count("\n") + (not text.endswith("\n"))
    if lines > limits.max_text_lines:
        raise error(f"{path}: 行が多すぎます（{lines:,} 行、上限 {limits.max_text_lines:,} 行）。"
                    "ファイルを分けるか、manifest.toml の [limits] で max_text_lines を上げてください")
    return text


def _noun(what: str) -> str:
    """The file's role as a noun inside a Japanese sentence (a space on a side where it has a Latin letter).

    >>> _noun("corrections.tsv"), _noun(""), _noun("OCR テキスト")
    (' corrections.tsv ', 'ファイル', ' OCR テキスト')
    """
    if not what:
        return "ファイル"
    return (" " if what[0].isascii() else "") + what + (" " if what[-1].isascii() else "")


def read_bytes(path: Path, *, limits: Limits = LIMITS, what: str = "", error: type[GuidelineKBError] = SourceError) -> bytes:
    """Given a path, return the bytes of the regular file there, at most ``limits.max_file_bytes``."""
    noun = _noun(what)
    try:
        info = path.stat()
    except OSError as exc:
        raise error(os_error_line(path, exc, what=what)) from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: ファイルのはずがフォルダです（このパスに{noun}を置いてください）")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: 普通のファイルではありません（パイプや装置ファイルは読みません。{noun}を置いてください）")
    too_big = f"{path}: ファイルが大きすぎます（{{size}}、上限 {limits.max_file_bytes:,} バイト）。" \
              "ファイルを分けるか、manifest.toml の [limits] で max_file_bytes を上げてください"
    if info.st_size > limits.max_file_bytes:
        raise error(too_big.format(size=f"{info.st_size:,} バイト"))
    try:
        with path.open("rb") as f:
            data = f.read(limits.max_file_bytes + 1)  # the size may change (or lie) after stat
    except OSError as exc:
        raise error(os_error_line(path, exc, what=what)) from None
    if len(data) > limits.max_file_bytes:
        raise error(too_big.format(size="それより大きい"))
    return data


def os_error_line(path: Path, exc: OSError, *, what: str = "") -> str:
    """One line for an OS error met while reading ``path`` (``errors.describe_os_error``).

    >>> os_error_line(Path("raw/6.0/x.txt"), FileNotFoundError(2, "No such file"))
    'raw/6.0/x.txt: ファイルがありません（ファイル名とパスを確かめてください）'
    """
    return describe_os_error(exc, path, reading=True, noun=_noun(what))


def decode(data: bytes, path: Path, *, error: type[GuidelineKBError] = SourceError) -> str:
    """Given a file's bytes, return its text: by its BOM, else UTF-8, else Shift_JIS (cp932)."""
    for bom, codec, name in BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            try:
                text = body.decode(codec)
            except UnicodeDecodeError as exc:
                line = line_at(body[: exc.start].decode(codec, errors="replace"))
                raise error(f"{path}:{line}行: {name} として読めません（ファイルの {len(bom) + exc.start + 1:,} バイト目）。"
                            f"{SAVE_AS_UTF8}") from None
            _refuse_nul(text, path, error)
            return text
    nul = data.find(b"\x00")
    if nul >= 0:
        codec = utf16_without_bom(data)
        if codec:  # count lines in the text it would be
            line = line_at(data[: nul - nul % 2].decode(codec, errors="replace"))
        else:
            line = line_at(data[:nul])
        utf16 = codec is not None
        hint = "BOM のない UTF-16 のようです" if utf16 else "バイナリファイルのようです"
        raise error(f"{path}:{line}行: テキストではありません（NUL バイトがあります。{hint}）。{SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc
    if not mostly_utf8(data):
        text = shift_jis(data)
        if text is not None:
            return text
    line = line_at(data[: bad.start])
    raise error(f"{path}:{line}行: UTF-8 として読めません（ファイルの {bad.start + 1:,} バイト目 0x{data[bad.start]:02X}。"
                f"Shift_JIS としても読めません）。{SAVE_AS_UTF8}") from None


def utf16_without_bom(data: bytes) -> str | None:
    """The codec of UTF-16 text without a BOM ("utf-16-le" or "utf-16-be"), if the bytes are that: many
    NUL bytes (the high halves of ASCII characters: tabs, line ends, digits), nearly all on one side,
    and a strict decode into lines without NUL characters.

    >>> utf16_without_bom("表\\ta\\n".encode("utf-16-le")), utf16_without_bom(b"add\\tx\\x00\\ty\\n")
    ('utf-16-le', None)
    """
    if len(data) % 2:
        return None
    odd, even = data[1::2].count(0), data[0::2].count(0)
    codec = "utf-16-le" if odd >= even else "utf-16-be"
    if max(odd, even) < 0.05 * len(data) / 2 or min(odd, even) > 0.1 * max(odd, even):
        return None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    return codec if "\n" in text and "\x00" not in text else None


def line_at(before: str | bytes) -> int:
    """The line number (1-based) just after ``before``, whatever its line ends (LF, CRLF or CR).

    >>> line_at("a\\r\\nb\\rc\\nd"), line_at(b"a\\n")
    (4, 2)
    """
    lf, cr, crlf = ("\n", "\r", "\r\n") if isinstance(before, str) else (b"\n", b"\r", b"\r\n")
    return before.count(lf) + before.count(cr) - before.count(crlf) + 1


def _refuse_nul(text: str, path: Path, error: type[GuidelineKBError]) -> None:
    nul = text.find("\x00")
    if nul >= 0:
        line = line_at(text[:nul])
        raise error(f"{path}:{line}行: テキストではありません（NUL 文字があります。バイナリファイルのようです）。{SAVE_AS_UTF8}")


def mostly_utf8(data: bytes) -> bool:
    """Whether bytes that are not valid UTF-8 are still mostly UTF-8 (a damaged UTF-8 file, not
    another encoding): more valid non-ASCII characters than bad bytes.

    >>> mostly_utf8("医療情報システム".encode("utf-8") + b"\\xff"), mostly_utf8("医療情報".encode("cp932"))
    (True, False)
    """
    text = data.decode("utf-8", errors="replace")
    return len(_NON_ASCII_OK.findall(text)) > text.count("\ufffd")


def shift_jis(data: bytes) -> str | None:
    """The text of Shift_JIS (cp932) bytes, if they decode strictly into Japanese text: some kana,
    no control characters (Latin-1 or random bytes rarely do both).

    >>> shift_jis("遵守事項を定めること。".encode("cp932")), shift_jis(b"caf\\xe9 au lait")
    ('遵守事項を定めること。', None)
    """
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        return None
    if not _KANA.search(text) or _CONTROL.search(text):
        return None
    return text


def split_tsv_line(line: str) -> list[str]:
    """One line of a hand-written TSV file into its fields. Tabs always separate (no field spans lines);
    a field wholly in double quotes, as Python's csv writes it, is unquoted.

    >>> split_tsv_line('add\\tmgmt-7-8\\t"a ""b"" c"\\tx')
    ['add', 'mgmt-7-8', 'a "b" c', 'x']
    """
    return [field[1:-1].replace('""', '"') if len(field) >= 2 and field[0] == field[-1] == '"' else field
            for field in line.split("\t")]


def tsv_rows(text: str, path: Path, *, limits: Limits = LIMITS, error: type[GuidelineKBError] = SourceError):
    """Yield (line number, fields) for each line of a TSV text that is neither blank nor a ``#`` comment;
    a field over ``limits.max_field_chars`` is one error naming its line and column."""
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = split_tsv_line(line)
        for column, value in enumerate(fields, 1):
            if len(value) > limits.max_field_chars:
                raise error(f"{path}:{n}行: {column}列目が長すぎます（{len(value):,} 文字、上限 {limits.max_field_chars:,} 文字）。"
                            "タブや改行が抜けていないか確かめてください（上限は manifest.toml の [limits] の max_field_chars）")
        yield n, fields


__all__ = ["decode", "os_error_line", "read_bytes", "read_text", "split_tsv_line", "tsv_rows"]
