"""The emulator's HTTP handler keeps connections open: requests follow one another on one socket, bodies
(sized or chunked) are read exactly, and a failing app closes the connection with a 500."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from local.emulator_server import KeepAliveHandler


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("boom")
    if environ["PATH_INFO"] == "/stream":  # no Content-Length from the app: the handler adds it
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"part1-", b"part2"]
    payload = f"{environ['REQUEST_METHOD']} {environ['REMOTE_PORT']} ".encode() + body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))])
    return [payload]


@pytest.fixture
def server() -> Iterator[int]:
    srv = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAliveHandler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_port
    srv.shutdown()
    srv.server_close()


def test_requests_share_one_connection(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    ports = set()
    for i in range(5):
        conn.request("POST", "/", body=f"body-{i}".encode())
        reply = conn.getresponse()
        method, port, body = reply.read().decode().split(" ")
        assert (reply.status, method, body) == (200, "POST", f"body-{i}")
        assert reply.getheader("Connection") is None
        ports.add(port)
    assert len(ports) == 1  # the server saw one client socket


def test_back_to_back_requests_on_a_raw_socket(server: int) -> None:
    """Two requests written at once: the second is not swallowed by the first's body handling."""
    with socket.create_connection(("127.0.0.1", server), timeout=5) as sock:
        request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        sock.sendall(request + request.replace(b"abc", b"xyz"))
        received = b""
        while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"xyz"):
            chunk = sock.recv(4096)
            assert chunk, f"connection closed after {received!r}"
            received += chunk
    assert received.count(b"HTTP/1.1 200") == 2


def test_chunked_body_then_another_request(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    conn.request("PUT", "/", body=iter([b"hello ", b"world"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    assert conn.getresponse().read().decode().endswith(" hello world")
    conn.request("PUT", "/", body=b"again")
    assert conn.getresponse().read().decode().endswith(" again")


def test_expect_continue_and_streamed_answer(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    conn.request("PUT", "/", body=b"payload", headers={"Expect": "100-continue"})
    assert conn.getresponse().read().decode().endswith(" payload")
    conn.request("GET", "/stream")
    reply = conn.getresponse()
    assert (reply.getheader("Content-Length"), reply.read()) == ("11", b"part1-part2")


def test_head_keeps_the_length_and_sends_no_body(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    conn.request("HEAD", "/")
    reply = conn.getresponse()
    assert reply.status == 200 and int(reply.getheader("Content-Length") or 0) > 0
    assert reply.read() == b""
    conn.request("POST", "/", body=b"next")
    assert conn.getresponse().read().decode().endswith(" next")


def test_a_failing_app_answers_500_and_closes(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    conn.request("POST", "/boom", body=b"x")
    reply = conn.getresponse()
    assert (reply.status, reply.getheader("Connection")) == (500, "close")
