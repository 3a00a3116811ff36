"""Webhook client on the standard library's HTTP stack (TLS verified with the system's CAs)."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import TransientError


class HttpWebhookClient:
    """POSTs to agencies' and centers' webhooks. A URL is the caller's to choose, so its host must resolve to
    public addresses only (unless ``allow_private``), and redirects are not followed (a 3xx is the answer)."""

    def __init__(self, context: ssl.SSLContext | None = None, *, allow_private: bool = False) -> None:
        # mutual TLS: pass a context with load_cert_chain() of our client certificate
        self._context = context or ssl.create_default_context()
        self._allow_private = allow_private
        self._opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=self._context))

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float) -> int:
        if not url.startswith(("https://", "http://")):  # never file: or custom schemes
            raise TransientError(f"webhook {url!r} is not an HTTP(S) URL")
        if not self._allow_private:
            refuse_private_host(url)
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            with self._opener.open(request, timeout=timeout_s) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(f"webhook {url} unreachable: {exc}") from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None  # the 3xx reaches the caller as an HTTPError: an answer, not a new destination


def refuse_private_host(url: str) -> None:
    """Every address the host resolves to must be globally routable: no loopback, private, link-local
    (169.254.169.254), shared or reserved range."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise TransientError(f"webhook host {host!r} does not resolve: {exc}") from exc
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            raise TransientError(f"webhook host {host!r} resolves to a non-public address ({address}); refused")
