"""The console's built assets (console/dist), served by the local API gateway under /console/.

Locally the page and the API share one origin, so the page needs no config.json and no CORS. Deployed, the page
is on its own CloudFront origin and reads the API's URL and the sign-in provider from the config.json the CDK app
writes beside it; the API answers CORS for that origin (chalicelib/api/cors.py).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

PREFIX = "/console"
DIST = Path(__file__).resolve().parent.parent / "console" / "dist"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
          ".wasm": "application/wasm"}
Answer = tuple[int, list[tuple[str, str]], bytes]


class ConsoleSite:
    def __init__(self, root: Path = DIST, prefix: str = PREFIX) -> None:
        self.root = root.resolve()
        self.prefix = prefix

    @property
    def built(self) -> bool:
        return (self.root / "index.html").is_file()

    def answer(self, method: str, path: str) -> Answer | None:
        """The file for a GET/HEAD under the prefix (index.html for the page itself); None for other paths."""
        raw = path.split("?", 1)[0]
        if raw != self.prefix and not raw.startswith(self.prefix + "/"):
            return None
        if raw == self.prefix:
            return 301, [("Location", self.prefix + "/")], b""
        if method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"method not allowed"
        relative = raw[len(self.prefix) + 1:] or "index.html"
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            if not self.built:
                return 503, [("Content-Type", "text/plain; charset=utf-8")], b"console not built: run make console"
            return 404, [("Content-Type", "text/plain")], b"not found"
        content_type = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        # hashed asset names never change; the page itself is re-read on every load
        cache = "no-cache" if target.name == "index.html" else "public, max-age=31536000, immutable"
        return 200, [("Content-Type", content_type), ("Cache-Control", cache)], target.read_bytes()
