"""Webhook URLs are chosen by agencies and centers: the client never reaches private addresses or follows redirects."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from chalicelib.adapters.webhook import HttpWebhookClient, refuse_private_host
from chalicelib.errors import TransientError


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    """A loopback server: /moved answers 302 to /secret; every path it is asked for is recorded."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            asked.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/secret")
            else:
                self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9001/runtime/invocation/next", "http://169.254.169.254/latest/",
                                 "https://10.0.0.8/hook", "https://192.168.1.20/hook", "https://[::1]/hook",
                                 "https://100.64.0.1/hook", "https://localhost/hook"])
def test_a_private_destination_is_refused(url):
    with pytest.raises(TransientError, match="non-public"):
        refuse_private_host(url)


def test_a_public_destination_passes():
    refuse_private_host("https://8.8.8.8/hook")  # a literal public address resolves without a network


def test_the_client_refuses_before_connecting(receiver):
    base, asked = receiver
    with pytest.raises(TransientError, match="non-public"):
        HttpWebhookClient().post(f"{base}/hook", b"{}", {}, timeout_s=2)
    assert asked == []


def test_a_redirect_is_an_answer_not_a_new_destination(receiver):
    base, asked = receiver
    client = HttpWebhookClient(allow_private=True)  # the local platform's setting
    assert client.post(f"{base}/hook", b"{}", {}, timeout_s=2) == 204
    assert client.post(f"{base}/moved", b"{}", {}, timeout_s=2) == 302
    assert asked == ["/hook", "/moved"]
