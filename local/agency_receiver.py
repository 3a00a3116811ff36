"""A stand-in for a situation room's receiving system (demo only): a loopback HTTP server that verifies each
dispatch's signature and de-duplicates on the dispatch id, as the README tells agencies to."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.services.dispatch.signing import DISPATCH_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


class AgencyReceiver:
    def __init__(self, secret: str, host: str = "127.0.0.1") -> None:
        self.secret = secret
        self.received: dict[str, dict[str, Any]] = {}
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = verify(receiver.secret, self.headers.get(TIMESTAMP_HEADER, ""),
                            self.headers.get(SIGNATURE_HEADER, ""), body, now_s=int(time.time()))
                if ok:
                    receiver.received.setdefault(self.headers.get(DISPATCH_HEADER, ""), json.loads(body))
                else:
                    receiver.refused += 1
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/dispatch"

    def wait_for(self, dispatch_id: str, timeout_s: float = 15.0) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and dispatch_id not in self.received:
            time.sleep(0.05)
        return self.received.get(dispatch_id)

    def stop(self) -> None:
        self._server.shutdown()
