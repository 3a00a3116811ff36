"""Webhook client on the standard library's HTTP stack (TLS verified with the system's CAs)."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping

from chalicelib.errors import TransientError


class HttpWebhookClient:
    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        # mutual TLS: pass a context with load_cert_chain() of our client certificate
        self._context = context or ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float) -> int:
        if not url.startswith(("https://", "http://")):  # never file: or custom schemes
            raise TransientError(f"webhook {url!r} is not an HTTP(S) URL")
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout_s, context=self._context) as response:  # noqa: S310
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(f"webhook {url} unreachable: {exc}") from exc
