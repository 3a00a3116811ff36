"""The local API gateway: serves the Chalice app over real HTTP with the caller's real address.

``chalice local`` writes 127.0.0.1 into ``requestContext.identity.sourceIp`` whatever the
caller; this gateway writes the socket peer, so IP-bound rules can be exercised from 127.0.0.2.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalice.app import Chalice
from chalice.local import LambdaEventConverter, LocalChalice, RouteMatcher

from local.lambda_runtime import LambdaContext

logger = logging.getLogger(__name__)
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    gateway: ApiGateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)

    def _handle(self) -> None:
        gateway = self.server.gateway
        length = int(self.headers.get("content-length") or 0)
        if length > API_GATEWAY_MAX_BODY:
            self._send(413, {}, _error("payload_too_large", "request body exceeds 10 MB"), close=True)
            return
        body = self.rfile.read(length) if length else None
        status, headers, payload = gateway.handle(self.command, self.path, dict(self.headers.items()), body,
                                                  self.client_address[0])
        self._send(status, headers, payload)

    def _send(self, status: int, headers: dict[str, Any], payload: bytes, close: bool = False) -> None:
        self.send_response(status)
        headers = {k: v for k, v in headers.items() if k.lower() not in {"content-length", "connection"}}
        headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, str(item))
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle  # noqa: N815 - stdlib names


class ApiGateway:
    def __init__(self, app: Chalice, *, host: str = "127.0.0.1", port: int = 8000,
                 trusted_proxies: frozenset[str] = frozenset(), stage: str = "api") -> None:
        if not isinstance(app, LocalChalice):  # thread-local current_request, as chalice local does
            app.__class__ = type("ThreadSafeChalice", (LocalChalice, app.__class__), {})
        self._app = app
        self._converter = LambdaEventConverter(RouteMatcher(list(app.routes)), app.api.binary_types)
        self._trusted_proxies = trusted_proxies
        self._stage = stage
        self._server = _Server((host, port), _Handler)
        self._server.gateway = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def build_event(self, method: str, path: str, headers: dict[str, str], body: bytes | None,
                    peer: str) -> dict[str, Any]:
        """The API Gateway REST proxy event for one request; ValueError when no route matches."""
        event: dict[str, Any] = self._converter.create_lambda_event(method=method, path=path, headers=headers, body=body)
        source_ip = peer
        forwarded = headers.get("X-Forwarded-For") or headers.get("x-forwarded-for")
        if forwarded and peer in self._trusted_proxies:
            source_ip = forwarded.split(",")[0].strip()
        now = time.time()
        resource = event["requestContext"]["resourcePath"]
        event["requestContext"].update({
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
            "requestId": str(uuid.uuid4()), "stage": self._stage, "accountId": "123456789012", "apiId": "local",
            "resourceId": "local", "protocol": "HTTP/1.1", "requestTimeEpoch": int(now * 1000),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))})
        multi = event.get("multiValueQueryStringParameters")
        event.update({"resource": resource, "path": event["requestContext"]["path"], "httpMethod": method,
                      "multiValueHeaders": {k: [v] for k, v in event["headers"].items()},
                      "queryStringParameters": {k: v[-1] for k, v in multi.items()} if multi else None})
        if isinstance(event.get("body"), bytes):
            try:
                event["body"] = event["body"].decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(event["body"]).decode("ascii")
                event["isBase64Encoded"] = True
        event.setdefault("isBase64Encoded", False)
        return event

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes | None,
               peer: str) -> tuple[int, dict[str, Any], bytes]:
        try:
            event = self.build_event(method, path, headers, body, peer)
        except ValueError:
            return 404, {}, _error("not_found", f"no route {method} {path.split('?')[0]}")
        allowed_methods = self._app.routes[event["resource"]]
        if method not in allowed_methods:
            allowed = ", ".join(allowed_methods)
            return 405, {"Allow": allowed}, _error("method_not_allowed", f"{method} not allowed; use {allowed}")
        response = self._app(event, LambdaContext(function_name="api"))
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else str(payload).encode()
        out_headers: dict[str, Any] = dict(response.get("headers") or {})
        out_headers.update(response.get("multiValueHeaders") or {})
        return int(response["statusCode"]), out_headers, raw

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:  # shutdown() would wait forever for a loop that never ran
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
