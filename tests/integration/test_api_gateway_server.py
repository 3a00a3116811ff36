"""The local API gateway as a server, over real sockets on loopback: concurrency, slow and malformed requests,
limits and the caller's address."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.gateway import ApiGateway


@pytest.fixture
def gateway(aws) -> Iterator[ApiGateway]:
    from app import app

    server = ApiGateway(app, port=0, threads=4, channel_timeout_s=1, cleanup_interval_s=1)
    server.start()
    yield server
    server.stop()


def _request(port: int, method: str, path: str, body: bytes | None = None, source: str = "127.0.0.1",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), json.loads(raw) if raw else None


def _raw(port: int, data: bytes, wait_s: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_twenty_simultaneous_posts_are_all_answered(aws):
    from app import app

    # GIVEN the gateway's own timeouts (a queued request must not count as an idle connection on a busy machine)
    gateway = ApiGateway(app, port=0, threads=4)
    gateway.start()
    # WHEN 20 clients POST at once (more than the 4 worker threads)
    try:
        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(lambda i: _request(gateway.port, "POST", "/v1/sos", json.dumps({"i": i}).encode()),
                                    range(20)))
    finally:
        gateway.stop()
    # THEN every one gets the app's answer (no token: 401 in the API's error shape)
    assert [status for status, _, _ in replies] == [401] * 20
    assert all(body["error"]["code"] == "unauthorized" for _, _, body in replies)


def test_a_half_sent_request_times_out_without_holding_the_server(gateway):
    # GIVEN a client that sends headers promising a body, then nothing
    stalled = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    stalled.sendall(b"POST /v1/sos HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"half\":")
    try:
        # WHEN others call meanwhile THEN they are served
        started = time.monotonic()
        assert _request(gateway.port, "GET", "/v1/openapi.json")[0] == 200
        # AND the stalled connection is closed by the server after channel_timeout (no reply for it)
        assert stalled.recv(1024) == b""
        assert time.monotonic() - started < 8
    finally:
        stalled.close()


def test_content_length_minus_one_is_a_json_400_not_a_hang(gateway):
    reply = _raw(gateway.port, b"POST /v1/sos HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_body_over_ten_megabytes_is_a_json_413(gateway):
    head = b"POST /v1/sos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485761\r\n\r\n"
    reply = _raw(gateway.port, head)
    status_line, _, body = reply.partition(b"\r\n\r\n")
    assert status_line.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("method", ["TRACE", "QUERY"])
def test_methods_api_gateway_does_not_have_are_a_json_405(gateway, method):
    status, _, body = _request(gateway.port, method, "/v1/sos")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"


def test_unknown_paths_and_methods_answer_in_the_error_shape(gateway):
    status, _, body = _request(gateway.port, "GET", "/v1/nowhere")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, headers, body = _request(gateway.port, "PUT", "/v1/sos")
    assert status == 405 and headers["Allow"] == "POST" and body["error"]["code"] == "method_not_allowed"


def test_keep_alive_serves_several_requests_on_one_connection(gateway):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    for _ in range(3):
        conn.request("GET", "/v1/openapi.json")
        response = conn.getresponse()
        response.read()
        assert response.status == 200 and response.getheader("Connection") != "close"
    conn.close()


def test_the_socket_peer_is_the_events_source_ip(aws):
    from app import app

    seen: list[str] = []

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event["requestContext"]["identity"]["sourceIp"])
        return {"statusCode": 204, "headers": {}, "body": ""}

    server = ApiGateway(app, port=0, invoke=invoke)
    server.start()
    try:
        for source in ("127.0.0.2", "127.0.0.3"):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10, source_address=(source, 0))
            conn.request("GET", "/v1/openapi.json", headers={"X-Forwarded-For": "198.51.100.1"})  # not trusted
            assert conn.getresponse().status == 204
            conn.close()
    finally:
        server.stop()
    assert seen == ["127.0.0.2", "127.0.0.3"]


ORIGIN = "https://d111111abcdef8.cloudfront.net"


@pytest.fixture
def console_elsewhere(aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiGateway]:
    """The gateway and app as deployed with the console on its own CloudFront origin."""
    from app import app
    from chalicelib.settings import get_settings

    monkeypatch.setenv("CONSOLE_ORIGIN", ORIGIN)
    get_settings.cache_clear()
    server = ApiGateway(app, port=0, threads=2, console_origin=ORIGIN)
    server.start()
    yield server
    server.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_with_the_console_elsewhere_a_preflight_is_answered_for_the_route_s_methods(console_elsewhere):
    from app import app

    # WHEN the browser asks before a POST with a bearer token and an idempotency key
    status, headers, _ = _request(console_elsewhere.port, "OPTIONS", "/v1/sos", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"})
    # THEN it is allowed for the console's origin, the route's methods and those headers
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Methods"].split(", ") == sorted(app.routes["/v1/sos"])
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed


def test_with_the_console_elsewhere_every_answer_is_readable_by_its_origin_errors_included(console_elsewhere):
    port = console_elsewhere.port
    # the app's own error (no token), the gateway's unknown route and wrong method
    for method, path, expected in (("POST", "/v1/sos", 401), ("GET", "/v1/no-such-thing", 404),
                                   ("PATCH", "/v1/sos", 405), ("GET", "/v1/openapi.json", 200)):
        status, headers, _ = _request(port, method, path, b"{}" if method != "GET" else None,
                                      headers={"Origin": ORIGIN})
        assert status == expected, (method, path)
        assert headers["Access-Control-Allow-Origin"] == ORIGIN, (method, path)
    # AND the page can read the request id of an error it reports
    _, headers, _ = _request(port, "POST", "/v1/sos", b"{}", headers={"Origin": ORIGIN})
    assert "X-Request-Id" in headers["Access-Control-Expose-Headers"]


def test_without_a_console_elsewhere_there_is_no_cors_and_options_is_not_a_method(gateway):
    status, headers, _ = _request(gateway.port, "OPTIONS", "/v1/sos", headers={"Origin": ORIGIN})
    assert status == 405
    _, headers_get, _ = _request(gateway.port, "GET", "/v1/openapi.json", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in headers and "Access-Control-Allow-Origin" not in headers_get
