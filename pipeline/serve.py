"""Serving the built site over HTTP on this machine, with the standard library only.

mkdocs-material's search loads ``search/search_index.json`` with a request, which browsers refuse
for pages opened as files (``file://``): the site needs an HTTP server to be searched.
"""

from __future__ import annotations

import errno
import functools
import socket
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import GuidelineKBError, NotBuiltError


class ServeError(GuidelineKBError):
    """The server cannot listen on the address and port asked for."""


class _QuietHandler(SimpleHTTPRequestHandler):
    """Files of the site; no line on stderr for every request."""

    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def make_server(site_dir: Path, *, bind: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """Given a built site folder, return a server listening on ``bind``:``port`` (0: a free port),
    not yet serving; ``NotBuiltError`` without a site, ``ServeError`` when it cannot listen there."""
    if not (site_dir / "index.html").is_file():
        raise NotBuiltError(f"{site_dir}: サイトがありません（index.html がありません。先に guideline-kb build か guideline-kb site で作ってください）")
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server_class = _Server6 if ":" in bind else ThreadingHTTPServer
    try:
        server = server_class((bind, port), handler)
    except OSError as exc:
        raise ServeError(_listen_error(exc, bind, port)) from None
    server.daemon_threads = True
    return server


def url(server: ThreadingHTTPServer) -> str:
    """The address to open in a browser (``localhost`` where the server listens on every address)."""
    host, port = server.server_address[:2]
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _listen_error(exc: OSError, bind: str, port: int) -> str:
    where = f"{bind}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: ポート {port} はほかのプログラムが使っています（--port {port + 1 if port < 65535 else 8000} などほかのポートを指定してください）"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{where}: ポート {port} を開く権限がありません（--port 8000 など 1024 以上のポートを指定してください）"
    if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return f"{where}: --bind {bind} はこのマシンのアドレスではありません（127.0.0.1 か、ほかのマシンからも見るなら 0.0.0.0 を指定してください）"
    return f"{where}: 待ち受けられません（{exc.strerror or exc}。--bind と --port を確かめてください）"
