"""A GET-only HTTP server on loopback for what tests stand up in place of a public endpoint (a pool's keys,
a site's files)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, list[tuple[str, str]], bytes]


def serve_get(answer: Callable[[str], Answer]) -> ThreadingHTTPServer:
    """A started server answering each GET with ``answer(path)``; ``shutdown()`` it when done."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = answer(self.path)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
