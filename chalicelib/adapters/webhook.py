"""Webhook client on the standard library's HTTP stack: TLS verified with the system's CAs, or with the CAs a
receiver on a private PKI registered; our client certificate presented where mutual TLS is configured."""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import PermanentError, TransientError


class HttpWebhookClient:
    """POSTs to agencies' and centers' webhooks. A URL is the caller's to choose, so its host must resolve to
    public addresses only (unless ``allow_private``), and redirects are not followed (a 3xx is the answer).

    ``client_certificate`` reads the PEM (certificate chain and private key) presented to receivers that
    require mutual TLS; it is read once, on the first delivery, and kept for the container's life.
    """

    def __init__(self, *, client_certificate: Callable[[], bytes] | None = None, allow_private: bool = False) -> None:
        # one read for every opener (one per pinned CA), not one per receiver
        self._client_certificate = functools.cache(client_certificate) if client_certificate else None
        self._allow_private = allow_private
        self._openers: dict[str | None, urllib.request.OpenerDirector] = {}  # by the receiver's pinned CAs

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float,
             server_ca: str | None = None) -> int:
        if not url.startswith(("https://", "http://")):  # never file: or custom schemes
            raise TransientError(f"webhook {url!r} is not an HTTP(S) URL")
        if not self._allow_private:
            refuse_private_host(url)
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            with self._opener(server_ca).open(request, timeout=timeout_s) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(f"webhook {url} unreachable: {exc}") from exc

    def _opener(self, server_ca: str | None) -> urllib.request.OpenerDirector:
        if server_ca not in self._openers:
            context = tls_context(server_ca)
            if self._client_certificate is not None:
                present(context, self._client_certificate())
            self._openers[server_ca] = urllib.request.build_opener(
                _NoRedirect, urllib.request.HTTPSHandler(context=context))
        return self._openers[server_ca]


def tls_context(server_ca: str | None = None) -> ssl.SSLContext:
    """A verifying client context: trusting only ``server_ca`` (PEM) where given, else the system's CAs."""
    try:
        return ssl.create_default_context(cadata=server_ca) if server_ca else ssl.create_default_context()
    except (ssl.SSLError, ValueError) as exc:
        raise PermanentError(f"the receiver's CA certificates are not usable PEM: {exc}") from exc


def present(context: ssl.SSLContext, pem: bytes) -> None:
    """Load our client certificate chain and its private key (one PEM) into ``context``. OpenSSL reads them
    only from a file: a private temporary directory, gone once loaded."""
    with tempfile.TemporaryDirectory(prefix="gt-tls-") as folder:  # mode 0700
        path = Path(folder) / "client.pem"
        path.write_bytes(pem)
        try:
            context.load_cert_chain(path, password=lambda: b"")  # never OpenSSL's prompt on a terminal
        except (ssl.SSLError, ValueError) as exc:
            raise PermanentError("the client certificate for mutual TLS is not a PEM certificate chain "
                                 f"with its unencrypted private key: {exc}") from exc


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
