"""The local API gateway: the Chalice app over real HTTP, as the deployed REST API calls it.

Each request becomes the event API Gateway's Lambda proxy integration sends for the cloud API's
per-route resources (``local/apigw_event.py``), with the socket peer as
``requestContext.identity.sourceIp`` (``chalice local`` writes 127.0.0.1 whatever the caller), so
IP-bound rules can be exercised from 127.0.0.2. Served by waitress: a listen backlog, idle and
half-sent connections closed after ``channel_timeout``, keep-alive, and the gateway's own errors
(unknown route 404, method 405, body over 10 MB 413, malformed request 400) in the API's JSON shape,
as the cloud API's gateway responses give them.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any, cast

from chalice.app import Chalice
from chalice.local import LocalChalice
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer, create_server
from waitress.task import ErrorTask, WSGITask

from chalicelib.api.cors import preflight_headers
from local.apigw_event import GATEWAY_METHODS, ResourceTree, proxy_event
from local.console_site import ConsoleSite
from local.lambda_runtime import LambdaContext

logger = logging.getLogger(__name__)
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit
RAW_HEADERS = "golden_time.raw_headers"  # WSGI environ key
StartResponse = Callable[..., Any]
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
_ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
                413: "payload_too_large", 431: "headers_too_large", 500: "gateway_error", 501: "not_implemented"}


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class _JsonErrorTask(ErrorTask):
    """waitress's answer to a request it could not parse (bad Content-Length, oversized body...), in our shape."""

    def execute(self) -> None:
        error = cast(Any, self.request).error  # the stubs type it as the error; it is the parser
        code = int(error.code)
        body = _error(_ERROR_CODES.get(code, "bad_request"), f"{error.reason}: {error.body}")
        self.status = f"{code} {error.reason}"
        self.response_headers = [*self.response_headers, ("Content-Type", "application/json")]
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Parser(HTTPRequestParser):
    """Keeps the header lines as sent: API Gateway passes names in the caller's spelling and repeated headers as
    several values, where WSGI upper-cases names and joins repeats."""

    raw_headers: list[tuple[str, str]]

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        lines = header_plus.split(b"\r\n")[1:]
        self.raw_headers = [(name.strip().decode("latin-1"), value.strip().decode("latin-1"))
                            for name, sep, value in (line.partition(b":") for line in lines) if sep]


class _Task(WSGITask):
    def get_environment(self) -> Any:
        environ = super().get_environment()
        environ[RAW_HEADERS] = getattr(self.request, "raw_headers", [])
        return environ


class _Channel(HTTPChannel):
    parser_class = _Parser
    task_class = _Task
    error_task_class = _JsonErrorTask


class ApiGateway:
    def __init__(self, app: Chalice, *, host: str = "127.0.0.1", port: int = 8000,
                 trusted_proxies: frozenset[str] = frozenset(), stage: str = "api", threads: int = 8,
                 channel_timeout_s: int = 30, cleanup_interval_s: int = 5, invoke: LambdaHandler | None = None,
                 site: ConsoleSite | None = None, console_origin: str | None = None) -> None:
        if not isinstance(app, LocalChalice):  # thread-local current_request, as chalice local does
            app.__class__ = type("ThreadSafeChalice", (LocalChalice, app.__class__), {})
        self._app = app
        self._invoke: LambdaHandler = invoke or app
        self._site = site  # the console's static assets, beside the API as CloudFront serves them
        self._console_origin = console_origin  # a console served elsewhere: preflights answered, errors readable
        self._routes = ResourceTree(app.routes)
        self._binary_types = list(app.api.binary_types)
        self._trusted_proxies = trusted_proxies
        self._stage = stage
        self._map: dict[int, Any] = {}
        self._server = cast(TcpWSGIServer, create_server(
            self._wsgi, map=self._map, host=host, port=port, backlog=1024, threads=threads, connection_limit=1000,
            channel_timeout=channel_timeout_s, cleanup_interval=cleanup_interval_s,
            max_request_body_size=API_GATEWAY_MAX_BODY + 1, clear_untrusted_proxy_headers=False, ident="api-gateway"))
        self._server.channel_class = _Channel
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    def build_event(self, method: str, path: str, headers: dict[str, str] | Sequence[tuple[str, str]],
                    body: bytes | None, peer: str) -> dict[str, Any]:
        """The API Gateway REST proxy event for one request (``path`` may carry the query); ValueError when no
        API Gateway resource matches the path."""
        raw_path, _, query = path.partition("?")
        matched = self._routes.match(raw_path)
        if matched is None:
            raise ValueError(f"no resource for {raw_path}")
        resource, parameters = matched
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        source_ip = peer
        forwarded = next((v for k, v in pairs if k.lower() == "x-forwarded-for"), None)
        if forwarded and peer in self._trusted_proxies:
            source_ip = forwarded.split(",")[0].strip()
        host = next((v for k, v in pairs if k.lower() == "host"), "localhost")
        # API Gateway appends the caller to X-Forwarded-For and adds the port, scheme and a trace id
        pairs = [(k, v) for k, v in pairs if k.lower() not in ("x-forwarded-for", "x-forwarded-port",
                                                              "x-forwarded-proto", "x-amzn-trace-id")]
        pairs += [("X-Amzn-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"),
                  ("X-Forwarded-For", f"{forwarded}, {peer}" if forwarded else peer),
                  ("X-Forwarded-Port", str(self.port)), ("X-Forwarded-Proto", "http")]
        return proxy_event(method=method, path=raw_path, query=query, headers=pairs, body=body, source_ip=source_ip,
                           resource=resource, path_parameters=parameters, stage=self._stage,
                           binary_media_types=self._binary_types, host=host.split(":")[0])

    def handle(self, method: str, path: str, headers: dict[str, str] | Sequence[tuple[str, str]], body: bytes | None,
               peer: str) -> tuple[int, list[tuple[str, str]], bytes]:
        status, answer, payload = self._answer(method, path, headers, body, peer)
        if self._console_origin and not any(k.lower() == "access-control-allow-origin" for k, _ in answer):
            answer = [*answer, ("Access-Control-Allow-Origin", self._console_origin)]  # as the gateway responses
        return status, answer, payload

    def _answer(self, method: str, path: str, headers: dict[str, str] | Sequence[tuple[str, str]],
                body: bytes | None, peer: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if method not in GATEWAY_METHODS:
            return 405, [], _error("method_not_allowed", f"{method} is not an API method")
        try:
            event = self.build_event(method, path, headers, body, peer)
        except ValueError:  # the cloud API's MISSING_AUTHENTICATION_TOKEN gateway response, made a 404
            return 404, [], _error("not_found", f"no route {method} {path.split('?')[0]}")
        allowed_methods = self._app.routes[event["resource"]]
        if method == "OPTIONS" and self._console_origin and method not in allowed_methods:
            # the cloud API's CORS preflight mock on each resource
            return 204, list(preflight_headers(self._console_origin, list(allowed_methods)).items()), b""
        if method not in allowed_methods:  # the cloud API's ANY method on each resource answers this
            allowed = ", ".join(sorted(allowed_methods))
            return 405, [("Allow", allowed)], _error("method_not_allowed", f"{method} not allowed; use {allowed}")
        response = self._invoke(event, LambdaContext(function_name="api"))
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else str(payload).encode()
        out: dict[str, list[str]] = {k: [str(v)] for k, v in (response.get("headers") or {}).items()}
        out.update({k: [str(v) for v in vs] for k, vs in (response.get("multiValueHeaders") or {}).items()})
        return int(response["statusCode"]), [(k, v) for k, vs in out.items() for v in vs], raw

    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ["REQUEST_METHOD"])
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        path = str(environ.get("REQUEST_URI") or "/")  # as sent: API Gateway's ``path`` is not decoded
        static = self._site.answer(method, path) if self._site is not None else None
        status, headers, payload = static or self.handle(method, path, environ[RAW_HEADERS], body,
                                                         str(environ.get("REMOTE_ADDR", "")))
        skip = {"content-length", "connection", "transfer-encoding"}
        headers = [(k, v) for k, v in headers if k.lower() not in skip]
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {_reason(status)}", headers)
        return [] if method == "HEAD" else [payload]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="api-gateway", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():  # waitress's loop, one poll at a time, so that stop() can end it
            wasyncore.loop(timeout=0.2, map=self._map, count=1)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)
        wasyncore.close_all(self._map)
        self._server.task_dispatcher.shutdown()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
