"""Basic cleaning of text read from a source: the ``normalize`` stage.

Each step is a pure ``str -> str`` function with a before → after example; ``clean`` chains
them. The OCR-correction issue extends this stage by adding steps to ``STEPS``; ``raw_text``
is never touched here.

Item numbers (①②…) must be read *before* this runs: nothing here folds them, but NFKC or
Sudachi's normalized form would turn ① into 1.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

import jaconv

from .model import TableRow

Step = Callable[[str], str]

# Japanese characters and punctuation: a space between two of these is an OCR or wrapping artefact.
_JA = r"\u3001-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
_SPACE_BETWEEN_JA = re.compile(rf"(?<=[{_JA}])[ \t\u3000]+(?=[{_JA}])")
_FULLWIDTH_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if code not in (0xFF0D, 0xFF5E)}
_FULLWIDTH_ASCII[0x3000] = 0x20  # ideographic space → space
BULLET = "－"
# A list marker: a dash-like character at the start of a line or after a space, followed by a
# space; 「－」 and 「-」 may also run straight into the text (「－適切な…」).
_BULLET_RE = re.compile(r"(?:^|(?<=[ \n]))(?:[‐―—ー一－\-−](?= )|[－\-−](?=[^\s\-－−\d]))[ ]*", re.M)
# A line that starts a list entry: 「－」「・」「(1)」「1.」「①」, or 「a 医療情報等の…」 (a letter, a space,
# Japanese text; not a dash, so splitting off a bullet never changes what counts as an entry).
_LIST_START = re.compile(rf"^(?:[{BULLET}−]|・|[a-zａ-ｚ][ 　](?![‐―—ー一－\-])[^\x00-\x7f]|[a-zａ-ｚ][.．][ 　]?[^\x00-\x7f]|\(\d+\)|（\d+）|\d{{1,2}}\.(?![\dA-Za-z])|[①-⑳㉑-㉟㊱-㊿]|上記)")
_SENTENCE_ENDS = "。：:"  # a line ending in one of these is not wrapped


def unify_spaces(text: str) -> str:
    """Every line break to ``\\n`` and every other white space (tab, 　, no-break space) to a space.

    >>> unify_spaces("a\\tb\\u3000c\\r\\nd\\u00a0e")
    'a b c\\nd e'
    """
    text = re.sub(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", "\n", text)
    return re.sub(r"[^\S\n]", " ", text)


def unify_width(text: str) -> str:
    """Full-width ASCII letters, digits and symbols to half width; half-width kana to full width.

    「～」 and the list bullet 「－」 stay as they are.

    >>> unify_width("ＴＬＳ１．３ ｶﾙﾃ")
    'TLS1.3 カルテ'
    """
    text = text.translate(_FULLWIDTH_ASCII)
    return jaconv.h2z(text, kana=True, ascii=False, digit=False)


def unify_bullets(text: str) -> str:
    """Dash-like list markers (－ - − ー 一 ― —) to 「－」 at the start of their own line.

    >>> unify_bullets("次を含めること。 - 入力者の識別 ー 記録の確定")
    '次を含めること。\\n－入力者の識別\\n－記録の確定'
    """
    out = _BULLET_RE.sub("\n" + BULLET, text)
    out = re.sub(r"(?<! ) *\n" + BULLET, "\n" + BULLET, out)  # (?<! ): linear on long runs of spaces
    return out.lstrip("\n")


RADICALS = re.compile("[\u2e80-\u2ef3\u2f00-\u2fd5]")  # Kangxi radicals and the CJK radicals supplement


def repair_char(text: str) -> str:
    """A Kangxi radical (or CJK radical supplement) character → the unified ideograph it stands for.

    Broken PDF text layers map 目 to ⽬ (U+2F6C); both the PDF reader and the correction stage use this.

    >>> repair_char("⽬"), repair_char("目"), repair_char("①")
    ('目', '目', '①')
    """
    if RADICALS.fullmatch(text):
        return unicodedata.normalize("NFKC", text)
    return text


def join_wrap(before: str, after: str) -> str:
    """Join two pieces of a wrapped line: a space only between Latin words, none inside a URL or
    after a hyphen or slash between letters (a producer breaks 「https://www.mhlw.go.jp/」 after any
    「/」 or 「.」, 「WPA2-」「AES」 after the hyphen) and none after a sign that follows Japanese
    (「である)」「BCP」, 「参考:」「https」).

    >>> join_wrap("特にVPN", "接続による"), join_wrap("Information", "Security")
    ('特にVPN接続による', 'Information Security')
    >>> join_wrap("詳細はhttps://www.mhlw.go.jp/stf/", "shingi/index.html"), join_wrap("WPA2-", "AES")
    ('詳細はhttps://www.mhlw.go.jp/stf/shingi/index.html', 'WPA2-AES')
    >>> join_wrap("重要である)", "BCP(Business"), join_wrap("(ISMS/", "Information")
    ('重要である)BCP(Business', '(ISMS/Information')
    """
    before, after = before.rstrip(), after.lstrip()
    return before + _wrap_space(before, after) + after


_URL_OPEN = re.compile(r"https?://[!-~]*\Z")


def _wrap_space(before: str, after: str) -> str:
    """The space that goes where a line wrapped (``before`` ends the line, ``after`` starts the next)."""
    if not before or not after or not before[-1].isascii() or not after[0].isascii() or after[0].isspace():
        return ""
    last = before[-1]
    if last in "-/" or _URL_OPEN.search(before[-300:]):
        return ""
    if not last.isalnum() and len(before) > 1 and not before[-2].isascii():
        return ""
    return " "


def starts_list_entry(line: str) -> bool:
    """Whether a line starts a list entry (「－」「・」「(1)」「①」…), so a break before it is kept.

    >>> starts_list_entry("－入力者の識別"), starts_list_entry("定めること。")
    (True, False)
    """
    return bool(_LIST_START.match(line.lstrip()))


def join_wrapped_lines(text: str) -> str:
    """Join a line break that only wraps a sentence; keep breaks before list entries.

    Each output line gathers its pieces and is joined once, so a cell of many wrapped lines costs
    linear time.

    >>> join_wrapped_lines("規程等に\\n定めること。\\n－入力者")
    '規程等に定めること。\\n－入力者'
    """
    out: list[list[str]] = []  # the pieces of each output line
    for line in (line.strip() for line in text.split("\n")):
        if not line:
            continue
        last = out[-1][-1] if out else ""
        if out and not starts_list_entry(line) and last[-1] not in _SENTENCE_ENDS:
            out[-1].append(_wrap_space("".join(out[-1][-8:]), line) + line)  # as join_wrap
        else:
            out.append([line])
    return "\n".join("".join(pieces) for pieces in out)


def remove_spaces_between_japanese(text: str) -> str:
    """Remove spaces between two Japanese characters; keep them next to Latin letters and digits.

    >>> remove_spaces_between_japanese("利用 者の 安 全管理 ISMS 認証")
    '利用者の安全管理 ISMS 認証'
    """
    return _SPACE_BETWEEN_JA.sub("", text)


def collapse_spaces(text: str) -> str:
    """Runs of spaces to one; no space at the start or end of a line.

    >>> collapse_spaces("  TLS   1.3 \\n 以上 ")
    'TLS 1.3\\n以上'
    """
    lines = (re.sub(r"[ \t\u3000]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


STEPS: list[Step] = [unify_spaces, unify_width, join_wrapped_lines, unify_bullets, remove_spaces_between_japanese, collapse_spaces]


def clean(text: str, steps: Iterable[Step] = STEPS) -> str:
    """Run the cleaning steps over one cell's text.

    >>> clean("⑧ 電子カルタ における 記録 - 入力者の識別")
    '⑧ 電子カルタにおける記録\\n－入力者の識別'
    """
    for step in steps:
        text = step(text)
    return text


def normalize_rows(rows: list[TableRow]) -> list[TableRow]:
    """Given table rows from ingest, fill in the cleaned ``text`` of every item and note."""
    for row in rows:
        for item in row.items:
            item.text = clean(strip_item_number(item.raw_text))
        for note in row.notes:
            note.text = clean(note.raw_text)
    return rows


def strip_item_number(raw_text: str) -> str:
    """Drop the leading circled number of an item's raw text.

    >>> strip_item_number("⑥ オープンなネットワークにおいて")
    'オープンなネットワークにおいて'
    """
    return re.sub(r"^\s*[①-⑳㉑-㉟㊱-㊿]\s*", "", raw_text, count=1)
