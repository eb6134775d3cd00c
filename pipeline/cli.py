"""``guideline-kb``: a thin command line over the pipeline library.

Each command parses its arguments, calls one library function, and turns the library's
errors into one line on stderr and exit code 2. The library is imported inside each command, so
that a search does not pay for the readers of PDFs; output is plain text when it goes to a pipe or
a file, and styled by rich (imported then) on a terminal.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import unicodedata
from pathlib import Path

import click

from .errors import GuidelineKBError, NotFoundError, QueryError, describe_os_error
from .model import VOLUME_NAMES, VOLUMES, section_key

UNPLACED_MARK = "［未配置］"
ALL_EDITIONS = "all"
_FOLDERS = "guideline_kb.folders"  # the folders named on the command line, in ctx.meta (shared by every context)


def handle_errors(command):
    """The one error boundary: any failure becomes ``エラー: …`` on one line of stderr and exit code 2
    (130 when interrupted), with no traceback; ``--debug`` shows the traceback instead."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (SystemExit, click.exceptions.Exit, click.ClickException):
            raise
        except BrokenPipeError:  # `guideline-kb search … | head`: the reader went away
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - nothing more can be written
            sys.exit(0)
        except BaseException as exc:  # noqa: BLE001 - the boundary
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.echo(f"エラー: {one_line(describe(exc))}", err=True)
            sys.exit(130 if isinstance(exc, KeyboardInterrupt) else 2)

    return wrapper


def describe(exc: BaseException) -> str:
    """What the user reads for a failure: our own message, or one made from the OS or library error."""
    if isinstance(exc, GuidelineKBError):
        return str(exc)
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "中断しました（出力は前の build のままです。もう一度実行してください）"
    if isinstance(exc, MemoryError):
        return "メモリが足りません（入力が大きすぎないか確かめ、manifest.toml の [limits] を見直してください）"
    if isinstance(exc, RecursionError):
        return "入力の入れ子が深すぎて処理できません（入力を確かめてください）"
    return f"予期しない失敗です（{type(exc).__name__}: {exc}）。--debug をつけて実行し、表示された内容を添えて報告してください"


def one_line(text: str, width: int = 600) -> str:
    r"""A message on one printable line: control characters as spaces, lone surrogates replaced.

    >>> one_line("a\nb\x00c\ud800") == "a b c" + "\ufffd" * 3
    True
    """
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the folders: named anywhere on the command line, else found (pipeline/home.py) -----------------

_FOLDER_OPTIONS = {
    "raw": (("--raw",), "版ごとの元資料のフォルダ（既定: ホームの raw/）"),
    "out": (("--out",), "抽出結果と検索インデックスのフォルダ（既定: ホームの extracted/。ほかのフォルダはその隣）"),
    "site": (("--site-dir", "--site"), "静的サイトのフォルダ（既定: ホームの site/）"),
    "config": (("--config",), "mkdocs の設定ファイル（既定: ホームの mkdocs.yml）"),
}


def _remember_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:  # a later one (after the command) wins over one before it
        ctx.meta.setdefault(_FOLDERS, {})[param.name] = value


def folder_options(*names: str):
    """The folder options ``names`` on a command, so that they can be given before or after it."""

    def decorate(command):
        for name in reversed(names):
            flags, help_text = _FOLDER_OPTIONS[name]
            command = click.option(*flags, name, type=click.Path(path_type=Path), expose_value=False,
                                   callback=_remember_folder, help=help_text)(command)
        return command

    return decorate


def folders(ctx: click.Context, *needs: str):
    """The command's folders: as named on the command line, the others in the home (``home.locate``)."""
    from .home import locate

    return locate(ctx.meta.get(_FOLDERS, {}), needs)


MAIN_HELP = """医療情報システム安全管理ガイドラインの各編間相関表から、検索できるナレッジベースを作る。

\b
どのフォルダからでも使えます。データのフォルダ（ホーム: extracted/・site/・raw/・mkdocs.yml のあるフォルダ）は次の順に決まります:
  1. --out DIR（コマンドの前でも後でもよい）: DIR が extracted/、ほかのフォルダはその隣
  2. 環境変数 GUIDELINE_KB_HOME: ホーム（extracted/ そのものを指してもよい）
  3. 設定ファイル ~/.config/guideline-kb/config.toml の home = "…"（XDG_CONFIG_HOME があればその下）
  4. 今のフォルダか、その上のフォルダで guideline-kb のもの（mkdocs.yml と extracted/ のあるフォルダ）
--raw・--site-dir・--config で指定したフォルダは、いつもそのフォルダです。
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, help=MAIN_HELP)
@folder_options("raw", "out", "site", "config")
@click.option("--debug", is_flag=True, help="失敗したときにトレースバックを表示する（メンテナー向け）")
@click.version_option(package_name="guideline-kb")
def main(debug: bool):
    if hasattr(signal, "SIGXFSZ"):  # over a file-size limit, a write fails with EFBIG instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# --- building ----------------------------------------------------------------------------------------

@main.command()
@click.option("--force", is_flag=True, help="変わっていない版・索引・サイトも作り直す")
@folder_options("raw", "out", "site", "config")
@click.pass_context
@handle_errors
def build(ctx, force: bool):
    """raw/ の全版を抽出し、検索インデックスと静的サイトまで作る（extract → index → site）。"""
    from . import build as pipeline

    kb = folders(ctx, "raw", "out", "site", "config")
    timings = pipeline.Timings()
    outputs = pipeline.build(kb.raw, kb.out, kb.site, kb.config, timings=timings, force=force)
    if outputs:
        _summary(outputs)
    _notes(timings)
    _timings(timings)
    click.echo(f"サイト: {kb.site / 'index.html'}", err=True)


@main.command()
@click.option("--force", is_flag=True, help="変わっていない版も読み直す")
@folder_options("raw", "out", "site")
@click.pass_context
@handle_errors
def extract(ctx, force: bool):
    """raw/<版>/ の元資料を読み、extracted/<版>/ に requirements.jsonl・correlations.jsonl・report.json を書く。"""
    from . import build as pipeline

    kb = folders(ctx, "raw", "out", "site")
    timings = pipeline.Timings()
    outputs = pipeline.extract(kb.raw, kb.out, kb.site, timings=timings, force=force)
    if outputs:
        _summary(outputs)
    _notes(timings)
    _timings(timings)
    if (kb.site / "index.html").exists():
        click.echo(f"サイト {kb.site} は前の抽出結果のままです（guideline-kb site で作り直せます）", err=True)


@main.command()
@folder_options("raw", "out", "site")
@click.pass_context
@handle_errors
def index(ctx):
    """extracted/ から検索インデックスを作り直す。"""
    from . import build as pipeline

    kb = folders(ctx, "raw", "out", "site")
    path = pipeline.index(kb.raw, kb.out, kb.site)
    click.echo(f"検索インデックス: {path}", err=True)


@main.command()
@folder_options("raw", "out", "site", "config")
@click.pass_context
@handle_errors
def site(ctx):
    """extracted/ からページを生成し、mkdocs で静的サイトを site/ に作る。"""
    from . import build as pipeline

    kb = folders(ctx, "raw", "out", "site", "config")
    path = pipeline.site(kb.raw, kb.out, kb.site, kb.config)
    click.echo(f"サイト: {path / 'index.html'}", err=True)


# --- reading -----------------------------------------------------------------------------------------

def _open(ctx):
    """The folders of a reading command, after finishing a build that a kill left half committed."""
    from .commit import recover

    kb = folders(ctx, "out")
    recover(kb.out, kb.site)
    return kb


def edition_names(out_dir: Path) -> list[str]:
    """The editions in extracted/ (its edition folders), oldest first: the last is the newest."""
    from .store import edition_folders

    return sorted((folder.name for folder in edition_folders(out_dir)), key=lambda name: (section_key(name), name))


def choose_edition(value: str | None, editions: list[str]) -> str | None:
    """The edition asked for: the newest when none is, ``None`` for all of them.

    >>> choose_edition(None, ["5.2", "6.0"]), choose_edition("ALL", ["6.0"]), choose_edition("第６.０版", ["6.0"])
    ('6.0', None, '6.0')
    """
    if value is None:
        return editions[-1]
    wanted = unicodedata.normalize("NFKC", value).strip().removeprefix("第").removesuffix("版").strip()
    if wanted.lower() == ALL_EDITIONS:
        return None
    if wanted not in editions:
        raise NotFoundError(f"--edition {one_line(value, 40)}: その版はありません（ある版: {'、'.join(editions)}。"
                            f"そのどれかか all を指定してください）")
    return wanted


def _section(value: str | None) -> str | None:
    """``--section`` as the data writes it (full width and leading zeros folded)."""
    if value is None:
        return None
    from .ids import normalize_section

    try:
        return normalize_section(value)
    except ValueError:
        raise QueryError(f"--section {one_line(value, 40)}: 節番号ではありません（13 や 2.2.1 のように指定してください）") from None


@main.command()
@click.argument("query")
@click.option("--volume", type=click.Choice(VOLUMES, case_sensitive=False), help="編で絞る: gov=経営管理編, mgmt=企画管理編, ctrl=システム運用編")
@click.option("--edition", help="版（例: 6.0。省略時は最新の版、all ですべての版）")
@click.option("--section", help="節で絞る（例: 13 なら 13 と 13.x）")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="表示する件数")
@click.option("--expand", is_flag=True, help="当たった遵守事項ごとに、他の編の相関する遵守事項を関連の強い順に示す")
@click.option("--json", "as_json", is_flag=True, help="JSON の配列で出力する（各件に show --json と同じ項目と、score・highlights など検索の項目）")
@folder_options("out")
@click.pass_context
@handle_errors
def search(ctx, query: str, volume: str | None, edition: str | None, section: str | None, limit: int, expand: bool, as_json: bool):
    """遵守事項をキーワードで検索する（例: guideline-kb search バックアップ）。最新の版を探します。"""
    from .index import Searcher

    kb = _open(ctx)
    searcher = Searcher(kb.out)
    try:
        editions = edition_names(kb.out)
        chosen = choose_edition(edition, editions)
        hits = searcher.search(query, volume=volume, edition=chosen, section=_section(section), limit=limit)
    finally:
        getattr(searcher, "close", lambda: None)()
    related = {}
    if expand:
        from .index import expand as expand_hits
        from .store import load_correlations, load_requirements

        related = expand_hits(hits, load_correlations(kb.out), load_requirements(kb.out), query.split())
    if as_json:
        rows = [row | ({"related": related[row["id"]]} if expand else {}) for row in _hits_json(kb.out, hits)]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not hits:
        click.echo(f"「{one_line(query, 80)}」に当てはまる遵守事項はありません（未配置のものを含めて探しました）。", err=True)
        return
    out = Printer()
    complete = [getattr(hit, "complete", True) for hit in hits]
    told = not any(complete)  # the first line says it for all of them
    if told:
        out.line(("すべての語に一致する遵守事項はありません", "bold"))
        out.line()
    for n, hit in enumerate(hits):
        if not complete[n] and not told:
            out.line(("以下はすべての語には一致しません", "bold"))
            out.line()
            told = True
        head = [(hit.id, "bold cyan")]
        if not hit.placed:
            head.append((f"  {UNPLACED_MARK}", "bold yellow"))
        edition_label = f"第{hit.edition}版 " if chosen is None else ""
        head.append((f"  {edition_label}{where(hit.volume, hit.section, hit.section_title)}", "dim"))
        out.line(*head)
        out.line(*highlighted(hit.text, hit.highlights))
        if getattr(hit, "notes", None):  # the table's 5.2 references for it (searchable too: 6.11C6)
            out.line((f"  備考: {' / '.join(hit.notes)}", "dim"))
        if not complete[n]:
            out.line((f"  {matched_words(hit)}", "dim"))
        if not hit.placed:
            out.line((f"  {UNPLACED_MARK}の理由: {hit.reason}（guideline-kb show {hit.id}）", "dim"))
        for other in related.get(hit.id, []):
            out.line((f"  → {other['id']}", "cyan"), (f"  {VOLUME_NAMES[other['volume']]}  {other['text'][:60]}", "dim"))
        out.line()
    if hits[0].matched_by == "bigrams":
        click.echo("（語としては見つからなかったため、文字の並びが近いものを表示しています）", err=True)
    if edition is None and len(editions) > 1:
        click.echo(f"（第{chosen}版を検索しました。ほかの版も探すには --edition all）", err=True)


def matched_words(hit) -> str:
    """For a hit that has not every word of the query: which words it has, and which not."""
    matched = getattr(hit, "matched", None) or []
    missing = getattr(hit, "missing", None) or []
    text = "一致した語: " + ("、".join(matched) or "なし")
    return text + (f"（一致しない語: {'、'.join(missing)}）" if missing else "")


# What a search adds to a record (``Hit.to_dict``); where a hit has no ``complete`` (yet), it is left out.
SEARCH_FIELDS = ("score", "highlights", "matched_by", "placed", "reason", "complete", "matched", "missing")


def _hits_json(out_dir: Path, hits) -> list[dict]:
    """Each hit as ``show --json`` gives its record (the correlated IDs under ``correlations``: ``related``
    is the ranked list of ``--expand``), with the search's own fields (``SEARCH_FIELDS``) over it."""
    from .store import load_edition, load_edition_correlations

    editions = sorted({hit.edition for hit in hits})
    if not editions:
        return []
    requirements, unplaced, correlations = {}, {}, []
    for edition in editions:  # the hits' editions' folders alone
        placed, loose = load_edition(out_dir / edition)
        requirements |= {(r.edition, r.id): r for r in placed}
        unplaced |= {(u.edition, u.id): u for u in loose}
        correlations += load_edition_correlations(out_dir / edition)
    rows = []
    for hit in hits:
        data: dict = {}
        if hit.placed and (hit.edition, hit.id) in requirements:
            links, notes = _correlated(requirements[(hit.edition, hit.id)], correlations)
            data = requirements[(hit.edition, hit.id)].to_dict() | {"correlations": links, "notes": notes}
        elif not hit.placed and (hit.edition, hit.id) in unplaced:
            data = unplaced[(hit.edition, hit.id)].to_dict()
        found = hit.to_dict()
        searched = {name: found[name] for name in SEARCH_FIELDS if name in found}
        searched |= {name: getattr(hit, name) for name in SEARCH_FIELDS if name not in found and hasattr(hit, name)}
        rows.append(found | data | searched)
    return rows


def _correlated(req, correlations) -> tuple[dict[str, list[str]], list[dict]]:
    """A requirement's correlated IDs by volume (correlations of its edition), and the 備考 of its rows."""
    from .link import related

    own = [c for c in correlations if c.edition == req.edition]
    return related(own, req.id), req.notes


@main.command()
@click.argument("req_id", metavar="ID")
@click.option("--edition", help="版（省略時はその ID のある最新の版）")
@click.option("--json", "as_json", is_flag=True, help="JSON で出力する")
@folder_options("out")
@click.pass_context
@handle_errors
def show(ctx, req_id: str, edition: str | None, as_json: bool):
    """一つの遵守事項の本文・出典・他の編の相関する遵守事項を表示する（例: guideline-kb show mgmt-13-4）。

    未配置の遵守事項（unplaced-16-3 など）は、本文・出典・配置できなかった理由を表示する。

    ID の大文字・小文字、全角、空白、先頭の 0 は問いません（GOV-01.1-1 は gov-1.1-1）。ない ID には近い ID を示します。"""
    from .ids import normalize_id
    from .store import load_correlations, load_requirements, load_unplaced

    kb = _open(ctx)
    chosen = choose_edition(edition, edition_names(kb.out)) if edition is not None else None
    wanted = normalize_id(req_id)
    requirements, unplaced = load_requirements(kb.out), load_unplaced(kb.out)
    found = [r for r in [*requirements, *unplaced] if r.id == wanted and (chosen is None or r.edition == chosen)]
    if not found:
        raise NotFoundError(unknown_id(req_id, wanted, [*requirements, *unplaced], chosen))
    record = max(found, key=lambda r: section_key(r.edition))
    if _is_unplaced(record):
        _show_unplaced(record, as_json=as_json)
        return
    req = record
    links, notes = _correlated(req, load_correlations(kb.out))
    if as_json:
        data = req.to_dict() | {"placed": True, "related": links, "notes": notes}
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    from .site import placement_notes

    by_id = {r.id: r for r in requirements if r.edition == req.edition}
    out = Printer()
    out.line((req.id, "bold cyan"), (f" 第{req.edition}版 {where(req.volume, req.section, req.section_title)} 遵守事項 {req.item}", "dim"))
    out.line(req.text)
    if notes:
        out.line(("備考: " + " / ".join(n["text"] for n in notes), "dim"))
    out.line()
    if links:
        out.line(("相関する遵守事項", "bold"))
        for volume, ids in links.items():
            for other in ids:
                out.line((f"  {VOLUME_NAMES[volume]} ", "dim"), (other, "cyan"), "  " + _shorten(by_id[other].text if other in by_id else ""))
    else:
        why = req.correlation_note or "相関表の行で他の編と並んでいません"
        out.line((f"相関する遵守事項: なし（{why}）", "dim"))
    for line in placement_notes(req):
        out.line((line, "dim"))
    out.line(("出典: " + "、".join(str(s) for s in req.sources), "dim"))
    for variant in req.variants:
        out.line((f"別の読み取り（{'、'.join(str(s) for s in variant.sources)}）: {variant.text}", "dim"))


def unknown_id(typed: str, wanted: str, records, edition: str | None) -> str:
    """The one line for an ID that is not there: the ID, the editions that have it (where another
    edition was asked for), or the nearest IDs (same volume and section first)."""
    from .ids import nearest

    shown = wanted or repr(one_line(typed, 40))
    elsewhere = sorted({r.edition for r in records if r.id == wanted}, key=section_key)
    if elsewhere:
        return (f"{shown}: 第{edition}版にはありません（ある版: {'、'.join(elsewhere)}。"
                f"--edition {elsewhere[-1]} を指定してください）")
    known = list(dict.fromkeys(r.id for r in records if edition is None or r.edition == edition))
    close = nearest(wanted, known) if wanted else []
    if close:
        return f"{shown}: その ID の遵守事項はありません（もしかして: {'、'.join(close)}。ID を確かめてください。一覧は guideline-kb list）"
    return (f"{shown}: その ID の遵守事項はありません（ID は gov-1.1-1、mgmt-13-4、ctrl-13-6、unplaced-16-3 の形です。"
            f"guideline-kb list で一覧を見てください）")


def _show_unplaced(record, *, as_json: bool) -> None:
    """``show`` for an item read but not placed: its full text, where it was read, why it has no ID,
    and the placed requirements of its table row."""
    if as_json:
        click.echo(json.dumps(record.to_dict() | {"placed": False}, ensure_ascii=False, indent=1))
        return
    from .site import circled

    number = f" 番号 {circled(record.item)}（読み取りのまま）" if record.item else ""
    out = Printer()
    out.line((record.id, "bold cyan"), (f"  {UNPLACED_MARK}", "bold yellow"),
             (f"  第{record.edition}版 {where(record.volume, record.section, record.section_title)}{number}", "dim"))
    out.line(record.text)
    out.line()
    out.line((f"{UNPLACED_MARK} 遵守事項の ID を決められませんでした: {record.reason}", "bold"))
    if record.row:
        out.line(("相関表で同じ行にある遵守事項: " + "、".join(record.row), "dim"))
    out.line(("出典: " + "、".join(str(s) for s in record.sources), "dim"))
    for variant in record.variants:
        out.line((f"別の読み取り（{'、'.join(str(s) for s in variant.sources)}）: {variant.text}", "dim"))


@main.command("list")
@click.option("--volume", type=click.Choice(VOLUMES, case_sensitive=False), help="編で絞る: gov=経営管理編, mgmt=企画管理編, ctrl=システム運用編")
@click.option("--section", help="節で絞る（例: 13 なら 13 と 13.x）")
@click.option("--edition", help="版（例: 6.0。省略時は最新の版、all ですべての版）")
@click.option("--unplaced", "with_unplaced", is_flag=True, help="未配置の遵守事項（ID を決められなかったもの）も ［未配置］ として並べる")
@click.option("--json", "as_json", is_flag=True, help="JSON の配列で出力する（show --json と同じ項目）")
@folder_options("out")
@click.pass_context
@handle_errors
def list_requirements(ctx, volume: str | None, section: str | None, edition: str | None, with_unplaced: bool, as_json: bool):
    """遵守事項を編・節・番号の順に一行ずつ並べる（例: guideline-kb list --volume ctrl --section 13）。

    各行は ID、記載箇所（編・節・見出し）、本文の初め。端末でなければタブ区切りです。"""
    from .store import load_requirements, load_unplaced

    kb = _open(ctx)
    chosen = choose_edition(edition, edition_names(kb.out))
    section = _section(section)
    records = [*load_requirements(kb.out), *(load_unplaced(kb.out) if with_unplaced else [])]
    records = sorted((r for r in records if _listed(r, volume=volume, section=section, edition=chosen)), key=list_key)
    if as_json:
        rows = [r.to_dict() | {"placed": not _is_unplaced(r)} for r in records]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not records:
        click.echo("当てはまる遵守事項はありません（--volume・--section・--edition を確かめてください）。", err=True)
        return
    out = Printer()
    for r in records:
        mark = f"{UNPLACED_MARK} " if _is_unplaced(r) else ""
        place = f"{mark}{f'第{r.edition}版 ' if chosen is None else ''}{where(r.volume, r.section, r.section_title)}"
        if out.styled:
            out.line((r.id, "bold yellow" if mark else "bold cyan"), (f"  {place}", "dim"), f"  {_shorten(r.text, 40)}")
        else:
            out.line(f"{r.id}\t{place}\t{_shorten(r.text, 40)}")


def _is_unplaced(record) -> bool:
    return record.id.startswith("unplaced-")


def _listed(record, *, volume: str | None, section: str | None, edition: str | None) -> bool:
    return ((volume is None or record.volume == volume)
            and (section is None or (record.section or "") == section or (record.section or "").startswith(section + "."))
            and (edition is None or record.edition == edition))


def list_key(record) -> tuple:
    """Order of ``list``: edition, volume, section, number (``model.id_key``); an unplaced item after the
    requirements of its place, and after every known place where its volume or section is not known.

    >>> from types import SimpleNamespace as R
    >>> rows = [R(id="ctrl-13-10", edition="6.0", volume="ctrl", section="13", item=10),
    ...         R(id="unplaced-7-1", edition="6.0", volume="gov", section=None, item=1),
    ...         R(id="ctrl-13-2", edition="6.0", volume="ctrl", section="13", item=2),
    ...         R(id="gov-1.1-1", edition="6.0", volume="gov", section="1.1", item=1)]
    >>> [r.id for r in sorted(rows, key=list_key)]
    ['gov-1.1-1', 'unplaced-7-1', 'ctrl-13-2', 'ctrl-13-10']
    """
    from .model import id_key

    edition = (section_key(record.edition), record.edition)
    if not _is_unplaced(record):
        return (edition, *id_key(record.id), 0, record.id)
    volume = VOLUMES.index(record.volume) if record.volume in VOLUMES else len(VOLUMES)
    section = section_key(record.section) if record.section else (float("inf"),)
    return (edition, volume, section, record.item or 0, 1, record.id)


# --- what changed between editions -------------------------------------------------------------------

@main.command()
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="JSON で出力する（遵守事項・節の見出し・相関・備考の変更）")
@click.option("--csv", "as_csv", is_flag=True, help="CSV（UTF-8 BOM つき、Excel で開ける）で出力する")
@click.option("--all", "show_all", is_flag=True, help="変更のない遵守事項も示す")
@click.option("--same", type=click.FloatRange(0, 100), default=None, help="この類似度（0–100）以上なら同じ本文とみなす（既定 97）")
@click.option("--similar", type=click.FloatRange(0, 100), default=None, help="この類似度以上なら同じ遵守事項の言い換えとみなす（既定 60）")
@click.option("--same-place", type=click.FloatRange(0, 100), default=None,
              help="残った旧と新で ID が同じものは、この類似度以上なら言い換えとみなす（既定 40）")
@folder_options("out")
@click.pass_context
@handle_errors
def diff(ctx, old: str, new: str, as_json: bool, as_csv: bool, show_all: bool, same: float | None, similar: float | None,
         same_place: float | None):
    """二つの版の違いを示す（例: guideline-kb diff 6.0 6.1）: 遵守事項の変更・追加・削除・番号の変更・節の移動、
    節の見出し、相関、備考。遵守事項は ID ではなく本文の近さと位置で対応づけます。"""
    from .diff import DiffSettings, diff_editions, to_csv, to_text

    defaults = DiffSettings()
    similar = defaults.similar if similar is None else similar
    settings = DiffSettings(same=defaults.same if same is None else same, similar=similar,
                            same_place=min(defaults.same_place, similar) if same_place is None else same_place)
    if settings.similar > settings.same:
        raise QueryError(f"--similar（{settings.similar:g}）は --same（{settings.same:g}）以下にしてください")
    kb = _open(ctx)
    editions = edition_names(kb.out)

    def named(value: str) -> str:  # 第６.０版 → 6.0; an unknown name is refused by diff_editions, naming the editions
        try:
            return choose_edition(value, editions) or value
        except GuidelineKBError:
            return value

    result = diff_editions(kb.out, named(old), named(new), settings)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    elif as_csv:
        sys.stdout.buffer.write(to_csv(result, unchanged=show_all))
        sys.stdout.flush()
    else:
        click.echo(to_text(result, unchanged=show_all), nl=False)


# --- exports -----------------------------------------------------------------------------------------

@main.command("export")
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              help="形式: csv・xlsx・jsonl・oscal（--format を重ねて複数、all ですべて）")
@click.option("--edition", help="版（例: 6.0。省略時は最新の版、all ですべての版）")
@click.option("--output", type=click.Path(path_type=Path), help="書き出すフォルダ（既定: extracted/ の隣の exports/）")
@folder_options("out")
@click.pass_context
@handle_errors
def export_command(ctx, formats: tuple[str, ...], edition: str | None, output: Path | None):
    """遵守事項・相関・未配置をファイルに書き出す（例: guideline-kb export --format xlsx）。

    \b
    csv    遵守事項・相関・未配置の CSV 3 つ（UTF-8 BOM つき、Excel でそのまま開ける）
    xlsx   Excel のブック（対応状況・担当・備考（院内）の列つきの点検表）
    jsonl  1 行 1 件の JSON（show --json と同じ形）
    oscal  OSCAL のカタログ（遵守事項）とマッピング（各編間相関表）

    書いたファイルのパスを 1 行ずつ出力します。ファイル名に版が入ります（guideline-kb-6.0.xlsx）。"""
    from . import export as exporter

    chosen_formats = exporter.formats(formats)
    kb = _open(ctx)
    editions = edition_names(kb.out)
    chosen = choose_edition(edition, editions)
    folder = output if output is not None else kb.out.parent / "exports"
    if folder.resolve().is_relative_to(kb.out.resolve()):
        from .errors import OutputError

        raise OutputError(f"--output {folder}: 抽出結果のフォルダ {kb.out} の中には書き出せません（その外のフォルダを指定してください）")
    for name in editions if chosen is None else [chosen]:
        for path in exporter.write(exporter.load(kb.out, name), chosen_formats, folder):
            click.echo(path)
    click.echo(f"{folder} に書き出しました（{'、'.join(chosen_formats)}; "
               f"{'すべての版' if chosen is None else f'第{chosen}版'}）", err=True)


# --- serving the site --------------------------------------------------------------------------------

@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="ポート（0 なら空いているもの）")
@click.option("--bind", default="127.0.0.1", show_default=True, help="待ち受けるアドレス（ほかのマシンからも見るなら 0.0.0.0）")
@folder_options("site")
@click.pass_context
@handle_errors
def serve(ctx, port: int, bind: str):
    """作ったサイト（site/）をこのマシンの HTTP で公開する（表示された URL をブラウザで開く）。

    サイトの検索は HTTP でしか動きません（file:// で開いたページからは検索インデックスを読めないため）。

    Ctrl-C で止まります。"""
    from .serve import make_server, url

    kb = folders(ctx, "site")
    server = make_server(kb.site, bind=bind, port=port)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    signal.signal(signal.SIGINT, _interrupt)  # Ctrl-C too where the shell started us with SIGINT ignored (a background job)
    try:
        click.echo(url(server))
        click.echo(f"{kb.site} を公開しています（上の URL をブラウザで開いてください。止めるには Ctrl-C）", err=True)
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("止めました", err=True)
    finally:
        server.server_close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


# --- output ------------------------------------------------------------------------------------------

HIT = "hit"  # the style of the words a search hit on
_HIT_STYLE = "bold black on yellow"


class Printer:
    """Lines on stdout. On a terminal they are styled by rich; piped or redirected they are plain
    text (no markup, no ANSI codes), with the words a search hit on between 【】.

    A line is made of parts: a string, or ``(text, style)`` with a rich style or ``HIT``.
    """

    def __init__(self):
        self.styled = sys.stdout.isatty()
        if self.styled:
            from rich.console import Console

            self.console = Console(highlight=False, soft_wrap=True)

    def line(self, *parts) -> None:
        if not self.styled:
            click.echo("".join(_plain(part) for part in parts))
            return
        from rich.text import Text

        text = Text()
        for part in parts:
            if isinstance(part, str):
                text.append(part)
            else:
                text.append(part[0], style=_HIT_STYLE if part[1] == HIT else part[1])
        self.console.print(text)


def _plain(part) -> str:
    if isinstance(part, str):
        return part
    return f"【{part[0]}】" if part[1] == HIT else part[0]


def highlighted(text: str, spans) -> list:
    """The parts of a text with the hit spans marked.

    >>> highlighted("TLS 1.2 以上", [(0, 3)])
    [('TLS', 'hit'), ' 1.2 以上']
    """
    parts, last = [], 0
    for start, end in spans:
        if start > last:
            parts.append(text[last:start])
        parts.append((text[start:end], HIT))
        last = end
    if last < len(text):
        parts.append(text[last:])
    return parts


def where(volume: str | None, section: str | None, section_title: str = "") -> str:
    """Where a requirement or unplaced item is, as far as known.

    >>> where("ctrl", "13", "ネットワークに関する安全管理措置")
    'システム運用編 13 ネットワークに関する安全管理措置'
    >>> where("ctrl", None), where(None, None)
    ('システム運用編 節は不明', '編・節は不明')
    """
    if volume is None:
        return "編・節は不明"
    if not section:
        return f"{VOLUME_NAMES[volume]} 節は不明"
    return " ".join(p for p in (VOLUME_NAMES[volume], section, section_title) if p)


def _shorten(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary(outputs) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="抽出結果", show_edge=False)
    for column in ("版", "遵守事項", "経営", "企画", "運用", "相関", "読んだ行", "報告"):
        table.add_column(column, justify="right")
    for output in outputs:
        report = output.report
        counts = report["requirements"]
        table.add_row(report["edition"], str(counts["total"]), str(counts["gov"]), str(counts["mgmt"]), str(counts["ctrl"]),
                      str(report["correlations"]), str(report["lines_read"]), str(report["not_placed"]["total"]))
    Console(stderr=True, highlight=False).print(table)
    for output in outputs:
        for warning in output.warnings:
            click.echo(f"注意: {one_line(warning)}", err=True)


def _notes(timings) -> None:
    for note in getattr(timings, "notes", []):
        click.echo(note, err=True)


def _timings(timings) -> None:
    if not timings.seconds:
        return
    click.echo("所要時間: " + "、".join(f"{name} {seconds:.2f}s" for name, seconds in timings.seconds.items()), err=True)


if __name__ == "__main__":
    main()
