"""``guideline-kb``: a thin command line over the pipeline library.

Each command parses its arguments, calls one library function, and turns the library's
errors into one line on stderr and exit code 2.
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
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import build as pipeline
from .commit import recover
from .errors import GuidelineKBError, NotFoundError, describe_os_error
from .model import VOLUME_NAMES, VOLUMES, section_key

err = Console(stderr=True, highlight=False)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--raw", "raw_dir", type=click.Path(path_type=Path), default="raw", show_default=True, help="版ごとの元資料のフォルダ")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default="extracted", show_default=True, help="抽出結果と検索インデックスのフォルダ")
@click.option("--site-dir", type=click.Path(path_type=Path), default="site", show_default=True, help="静的サイトの出力先")
@click.option("--config", type=click.Path(path_type=Path), default="mkdocs.yml", show_default=True, help="mkdocs の設定ファイル")
@click.option("--debug", is_flag=True, help="失敗したときにトレースバックを表示する（メンテナー向け）")
@click.version_option(package_name="guideline-kb")
@click.pass_context
def main(ctx, raw_dir: Path, out_dir: Path, site_dir: Path, config: Path, debug: bool):
    """医療情報システム安全管理ガイドラインの各編間相関表から、検索できるナレッジベースを作る。"""
    if hasattr(signal, "SIGXFSZ"):  # over a file-size limit, a write fails with EFBIG instead of killing us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    ctx.obj = {"raw": raw_dir, "out": out_dir, "site": site_dir, "config": config}


@main.command()
@click.pass_obj
@handle_errors
def build(obj):
    """raw/ の全版を抽出し、検索インデックスと静的サイトまで作る（extract → index → site）。"""
    timings = pipeline.Timings()
    outputs = pipeline.build(obj["raw"], obj["out"], obj["site"], obj["config"], timings=timings)
    _summary(outputs)
    _timings(timings)
    err.print(f"サイト: {obj['site'] / 'index.html'}")


@main.command()
@click.pass_obj
@handle_errors
def extract(obj):
    """raw/<版>/ の元資料を読み、extracted/<版>/ に requirements.jsonl・correlations.jsonl・report.json を書く。"""
    timings = pipeline.Timings()
    _summary(pipeline.extract(obj["raw"], obj["out"], obj["site"], timings=timings))
    _timings(timings)
    if (obj["site"] / "index.html").exists():
        err.print(f"サイト {obj['site']} は前の抽出結果のままです（guideline-kb site で作り直せます）")


@main.command()
@click.pass_obj
@handle_errors
def index(obj):
    """extracted/ から検索インデックスを作り直す。"""
    path = pipeline.index(obj["raw"], obj["out"], obj["site"])
    err.print(f"検索インデックス: {path}")


@main.command()
@click.pass_obj
@handle_errors
def site(obj):
    """extracted/ からページを生成し、mkdocs で静的サイトを site/ に作る。"""
    path = pipeline.site(obj["raw"], obj["out"], obj["site"], obj["config"])
    err.print(f"サイト: {path / 'index.html'}")


@main.command()
@click.argument("query")
@click.option("--volume", type=click.Choice(VOLUMES), help="編で絞る: gov=経営管理編, mgmt=企画管理編, ctrl=システム運用編")
@click.option("--edition", help="版で絞る（例: 6.0）")
@click.option("--section", help="節で絞る（例: 13 なら 13 と 13.x）")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="表示する件数")
@click.option("--expand", is_flag=True, help="当たった遵守事項ごとに、他の編の相関する遵守事項を関連の強い順に示す")
@click.option("--json", "as_json", is_flag=True, help="JSON の配列で出力する")
@click.pass_obj
@handle_errors
def search(obj, query: str, volume: str | None, edition: str | None, section: str | None, limit: int, expand: bool, as_json: bool):
    """遵守事項をキーワードで検索する（例: guideline-kb search バックアップ）。"""
    from .index import expand as expand_hits
    from .index import search as run_search
    from .store import load_correlations, load_requirements

    recover(obj["out"], obj["site"])
    hits = run_search(obj["out"], query, volume=volume, edition=edition, section=section, limit=limit)
    related = expand_hits(hits, load_correlations(obj["out"]), load_requirements(obj["out"]), query.split()) if expand else {}
    if as_json:
        rows = [h.to_dict() | ({"related": related[h.id]} if expand else {}) for h in hits]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not hits:
        err.print(f"「{one_line(query, 80)}」に当てはまる遵守事項はありません（未配置のものを含めて探しました）。")
        return
    console = _console()
    for hit in hits:
        head = Text(f"{hit.id}", style="bold cyan")
        if not hit.placed:
            head.append(f"  {UNPLACED_MARK}", style="bold yellow")
        head.append(f"  第{hit.edition}版 {where(hit.volume, hit.section, hit.section_title)}", style="dim")
        console.print(head)
        console.print(_highlighted(hit.text, hit.highlights, plain=not console.is_terminal))
        if not hit.placed:
            console.print(Text(f"  {UNPLACED_MARK}の理由: {hit.reason}（guideline-kb show {hit.id}）", style="dim"))
        for other in related.get(hit.id, []):
            line = Text(f"  → {other['id']}", style="cyan")
            line.append(f"  {VOLUME_NAMES[other['volume']]}  {other['text'][:60]}", style="dim")
            console.print(line)
        console.print()
    if hits[0].matched_by == "bigrams":
        err.print("（語としては見つからなかったため、文字の並びが近いものを表示しています）")


def _highlighted(text: str, spans, *, plain: bool) -> Text:
    """The text with hit spans styled (terminal) or wrapped in ** (plain output)."""
    if plain:
        out, last = [], 0
        for start, end in spans:
            out += [text[last:start], "**", text[start:end], "**"]
            last = end
        out.append(text[last:])
        return Text("".join(out))
    rendered = Text(text)
    for start, end in spans:
        rendered.stylize("bold black on yellow", start, end)
    return rendered


@main.command()
@click.argument("req_id", metavar="ID")
@click.option("--edition", help="版（省略時は最新の版）")
@click.option("--json", "as_json", is_flag=True, help="JSON で出力する")
@click.pass_obj
@handle_errors
def show(obj, req_id: str, edition: str | None, as_json: bool):
    """一つの遵守事項の本文・出典・他の編の相関する遵守事項を表示する（例: guideline-kb show mgmt-13-4）。
    未配置の遵守事項（unplaced-16-3 など）は、本文・出典・配置できなかった理由を表示する。"""
    from .link import related
    from .site import placement_notes
    from .store import load_correlations, load_requirements, load_unplaced

    recover(obj["out"], obj["site"])
    requirements = [r for r in load_requirements(obj["out"]) if r.id == req_id and (edition is None or r.edition == edition)]
    if not requirements:
        unplaced = [u for u in load_unplaced(obj["out"]) if u.id == req_id and (edition is None or u.edition == edition)]
        if unplaced:
            _show_unplaced(max(unplaced, key=lambda u: section_key(u.edition)), as_json=as_json)
            return
        raise NotFoundError(f"{one_line(req_id, 80)}: その ID の遵守事項はありません（例: gov-1.1-1, mgmt-13-4, ctrl-13-6, unplaced-16-3）")
    req = max(requirements, key=lambda r: section_key(r.edition))
    correlations = [c for c in load_correlations(obj["out"]) if c.edition == req.edition]
    links = related(correlations, req.id)
    by_id = {r.id: r for r in load_requirements(obj["out"]) if r.edition == req.edition}
    notes = list(dict.fromkeys((n["text"], n["raw_text"]) for c in correlations for n in c.notes if req.id in n["annotates"]))
    if as_json:
        data = req.to_dict() | {"placed": True}
        data["related"] = links
        data["notes"] = [{"text": text, "raw_text": raw} for text, raw in notes]
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    console = _console()
    console.print(Text(req.id, style="bold cyan"), Text(f"第{req.edition}版 {where(req.volume, req.section, req.section_title)} 遵守事項 {req.item}", style="dim"))
    console.print(Text(req.text))
    if notes:
        console.print(Text("備考: " + " / ".join(text for text, _ in notes), style="dim"))
    console.print()
    if links:
        console.print(Text("相関する遵守事項", style="bold"))
        for volume, ids in links.items():
            for other in ids:
                line = Text(f"  {VOLUME_NAMES[volume]} ", style="dim")
                line.append(other, style="cyan")
                line.append("  " + _shorten(by_id[other].text if other in by_id else ""))
                console.print(line)
    else:
        why = req.correlation_note or "相関表の行で他の編と並んでいません"
        console.print(Text(f"相関する遵守事項: なし（{why}）", style="dim"))
    for line in placement_notes(req):
        console.print(Text(line, style="dim"))
    console.print(Text("出典: " + "、".join(str(s) for s in req.sources), style="dim"))
    for variant in req.variants:
        console.print(Text(f"別の読み取り（{'、'.join(str(s) for s in variant.sources)}）: {variant.text}", style="dim"))


UNPLACED_MARK = "［未配置］"


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


def _show_unplaced(record, *, as_json: bool) -> None:
    """``show`` for an item read but not placed: its full text, where it was read, why it has no ID,
    and the placed requirements of its table row."""
    from .site import circled

    row = record.row
    if as_json:
        click.echo(json.dumps(record.to_dict() | {"placed": False}, ensure_ascii=False, indent=1))
        return
    console = _console()
    number = f" 番号 {circled(record.item)}（読み取りのまま）" if record.item else ""
    head = Text(record.id, style="bold cyan")
    head.append(f"  {UNPLACED_MARK}", style="bold yellow")
    head.append(f"  第{record.edition}版 {where(record.volume, record.section, record.section_title)}{number}", style="dim")
    console.print(head)
    console.print(Text(record.text))
    console.print()
    console.print(Text(f"{UNPLACED_MARK} 遵守事項の ID を決められませんでした: {record.reason}", style="bold"))
    if row:
        console.print(Text("相関表で同じ行にある遵守事項: " + "、".join(row), style="dim"))
    console.print(Text("出典: " + "、".join(str(s) for s in record.sources), style="dim"))
    for variant in record.variants:
        console.print(Text(f"別の読み取り（{'、'.join(str(s) for s in variant.sources)}）: {variant.text}", style="dim"))


def _shorten(text: str, width: int = 60) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary(outputs) -> None:
    table = Table(title="抽出結果", show_edge=False)
    for column in ("版", "遵守事項", "経営", "企画", "運用", "相関", "読んだ行", "報告"):
        table.add_column(column, justify="right")
    for output in outputs:
        report = output.report
        counts = report["requirements"]
        table.add_row(report["edition"], str(counts["total"]), str(counts["gov"]), str(counts["mgmt"]), str(counts["ctrl"]),
                      str(report["correlations"]), str(report["lines_read"]), str(report["not_placed"]["total"]))
    err.print(table)
    for output in outputs:
        for warning in output.warnings:
            click.echo(f"注意: {one_line(warning)}", err=True)


def _timings(timings) -> None:
    err.print("所要時間: " + "、".join(f"{name} {seconds:.2f}s" for name, seconds in timings.seconds.items()))


if __name__ == "__main__":
    main()
