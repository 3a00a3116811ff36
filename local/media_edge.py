"""The local media edge: serves stored objects and live playlists only through valid signed links.

It stands in for CloudFront (the emulator never checks presigned-URL expiry): every request is
verified with ``chalicelib.services.edge_policy`` against the socket peer address (or the
``X-Forwarded-For`` client when the peer is a trusted proxy), then answered from an
``ObjectStore`` with HEAD, single byte ranges and keep-alive. Objects are served as stored:
a link's playlist already carries one signed URL per segment.

    GET /<route>/<key>                   key from routes[<route>]
    GET /live/<camera_id>/index.m3u8     live.playlist(camera_id, grant): signed per segment
    GET /live/<camera_id>/<name>.ts      live.segment(camera_id, name): the object it names
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import socket
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from chalicelib.errors import ObjectMissing, TransientError
from chalicelib.ports import ObjectStore
from chalicelib.services.edge_policy import (
    EdgeDenied,
    EdgeGrant,
    EdgePolicyVerifier,
    PublicKeyInput,
    RevocationCheck,
)
from local.edge_function import FunctionResult, viewer_request_event

logger = logging.getLogger(__name__)



class LiveSource(Protocol):
    """The live routes' origin (locally the camera simulator)."""

    def playlist(self, camera_id: str, grant: EdgeGrant) -> str | None:
        """The live playlist for a verified link, or ``None`` when the camera is not live."""
        ...

    def segment(self, camera_id: str, name: str) -> tuple[ObjectStore, str] | None:
        """The store and key of a live segment, or ``None`` when there is none by that name."""
        ...

AccessLog = Callable[[dict[str, Any]], None]
ViewerRequest = Callable[[dict[str, Any]], FunctionResult]
"""The viewer-request CloudFront Function (``local.edge_function.ViewerRequestFunction``)."""

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"
CHUNK_BYTES = 8 * 1024 * 1024
"""Objects are streamed in ranged reads of this size, so memory stays flat for long footage."""
IDLE_TIMEOUT_S = 60.0
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_LIVE = re.compile(r"/live/([^/]+)/([^/]+)")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RangeNotSatisfiable(Exception):
    """The requested byte range lies outside the object."""


def parse_byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` of a single ``bytes=`` range, clamped to ``size``.

    ``None`` means serve the whole object: no header, or one the server may ignore (another
    unit, several ranges, malformed); ``RangeNotSatisfiable`` when it starts past the end.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if not last else int(last)
    if last and end < start:
        return None  # invalid range-spec: ignored, as RFC 9110 allows
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, min(end, size - 1)


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass
class _Reply:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Iterable[bytes] = ()
    grant: EdgeGrant | None = None
    byte_range: tuple[int, int] | None = None
    verify_s: float | None = None

    @classmethod
    def error(cls, status: int, code: str, message: str, grant: EdgeGrant | None = None,
              headers: dict[str, str] | None = None) -> _Reply:
        payload = _error_body(code, message)
        return cls(status, message, {"Content-Type": "application/json", "Content-Length": str(len(payload)),
                                     **(headers or {})}, [payload], grant)


@dataclass(frozen=True)
class _Resource:
    size: int
    content_type: str
    read: Callable[[int, int], Iterator[bytes]]
    """Inclusive ``(start, end)`` → the bytes, in chunks."""
    etag: str | None = None
    last_modified_ms: int | None = None
    cache_control: str | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    edge: MediaEdge

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self._open: set[socket.socket] = set()
        self._open_changed = threading.Condition()
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_changed:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_changed:
                self._open.discard(request)
                self._open_changed.notify_all()

    def close_open_connections(self, timeout_s: float) -> None:
        """Cut idle keep-alive connections and wait for their threads to finish."""
        with self._open_changed:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open_changed.wait_for(lambda: not self._open, timeout=timeout_s)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    timeout = IDLE_TIMEOUT_S
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)

    def _serve(self) -> None:
        self.server.edge.serve(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve  # noqa: N815 - stdlib names


class MediaEdge:
    """A CloudFront-like edge over object stores, on ``host:port`` (``port=0``: any free port)."""

    def __init__(self, routes: Mapping[str, ObjectStore], public_keys: Mapping[str, PublicKeyInput], *,
                 live: LiveSource | None = None, is_revoked: RevocationCheck | None = None,
                 viewer_request: ViewerRequest | None = None,
                 on_access: AccessLog | None = None, trusted_proxies: Iterable[str] = (),
                 host: str = "127.0.0.1", port: int = 8001, public_base_url: str | None = None,
                 clock: Callable[[], float] = time.time, verify_samples: int = 10_000) -> None:
        bad = [prefix for prefix in routes if not prefix or "/" in prefix]
        if bad:
            raise ValueError(f"route prefixes must be one path segment: {bad}")
        self._routes = dict(routes)
        self._verifier = EdgePolicyVerifier(public_keys, is_revoked=is_revoked, clock=clock)
        self._live = live
        self._viewer_request = viewer_request
        self._on_access = on_access
        self._trusted: tuple[Network, ...] = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in trusted_proxies)
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server = _Server((host, port), family)
        self._server.edge = self
        self._thread: threading.Thread | None = None
        self.verify_seconds: deque[float] = deque(maxlen=verify_samples)
        """Seconds spent verifying each request's signature and policy (latest ``verify_samples``)."""
        self._samples_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What links to this edge start with, e.g. ``http://127.0.0.1:8001``."""
        if self._public_base_url:
            return self._public_base_url
        host = str(self._server.server_address[0])
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> MediaEdge:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="media-edge",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, cut open keep-alive connections, wait for in-flight requests."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=timeout_s)
            self._thread = None
        self._server.close_open_connections(timeout_s)
        self._server.server_close()

    def __enter__(self) -> MediaEdge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def verify_summary(self) -> dict[str, float]:
        """Count, mean, median, p95 and max of the recorded verification times, in microseconds."""
        with self._samples_lock:
            samples = sorted(self.verify_seconds)
        if not samples:
            return {"count": 0}
        micro = [s * 1e6 for s in samples]
        return {"count": len(micro), "mean_us": statistics.fmean(micro), "p50_us": statistics.median(micro),
                "p95_us": micro[min(len(micro) - 1, int(0.95 * len(micro)))], "max_us": micro[-1]}

    # -- one request ---------------------------------------------------------------------------

    def client_ip(self, peer: str, forwarded_for: str | None) -> str:
        """The viewer address: the peer, or, when the peer is a trusted proxy, the right-most
        ``X-Forwarded-For`` hop that is not itself a trusted proxy."""
        if not forwarded_for or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _is_trusted(self, text: str) -> bool:
        address = _address(text)
        return address is not None and any(address.version == net.version and address in net for net in self._trusted)

    def _request_url(self, target: str, host_header: str | None) -> str:
        if target.startswith(("http://", "https://")):  # absolute-form request target
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        if self._public_base_url:
            return self._public_base_url + target
        host_ok = host_header is not None and _HOST.fullmatch(host_header) is not None
        return (f"http://{host_header}" if host_ok else self.base_url) + target

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        started = time.time()
        peer = str(handler.client_address[0])
        forwarded = ", ".join(handler.headers.get_all("X-Forwarded-For") or []) or None
        client = self.client_ip(peer, forwarded)
        if handler.command not in ("GET", "HEAD"):
            reply = _Reply.error(405, "method_not_allowed", f"{handler.command} not allowed; use GET or HEAD",
                                 headers={"Allow": "GET, HEAD", "Connection": "close"})
            handler.close_connection = True  # any request body is left unread
            self._log(handler, reply, client, peer, self._write(handler, reply), started)
            return
        try:
            reply = self._resolve(handler.command, handler.path, handler.headers.get("Host"), client,
                                  handler.headers.get("Range"), handler.headers.get("If-Range"))
            if reply.grant is not None and reply.status < 400 and self._viewer_request is not None:
                reply = self._run_function(handler, client, reply)
        except Exception:  # a bug or a failing dependency must not kill the connection thread silently
            logger.exception("media edge failed on %s", urlsplit(handler.path).path)
            reply = _Reply.error(500, "internal", "internal error")
        sent = self._write(handler, reply)
        self._log(handler, reply, client, peer, sent, started)

    def _resolve(self, method: str, target: str, host: str | None, client: str, range_header: str | None,
                 if_range: str | None) -> _Reply:
        url = self._request_url(target, host)
        began = time.perf_counter()
        try:
            grant = self._verifier.verify(url, source_ip=client)
        except EdgeDenied as denied:
            verify_s = time.perf_counter() - began
            self._record_verify(verify_s)
            denied_reply = _Reply.error(403, "forbidden", denied.reason)
            denied_reply.verify_s = verify_s
            return denied_reply
        verify_s = time.perf_counter() - began
        self._record_verify(verify_s)
        reply = self._answer(method, grant, range_header, if_range)
        reply.verify_s = verify_s
        return reply

    def _run_function(self, handler: BaseHTTPRequestHandler, client: str, reply: _Reply) -> _Reply:
        """CloudFront's order: the signed URL is checked, then the viewer-request function runs."""
        assert self._viewer_request is not None
        event = viewer_request_event(handler.command, handler.path, client, dict(handler.headers.items()),
                                     host=handler.headers.get("Host") or "localhost")
        result = self._viewer_request(event)
        if result.response is None:
            return reply
        refused = _Reply.error(int(result.response.get("statusCode", 403)), "forbidden", result.refusal or "refused",
                               reply.grant)
        refused.verify_s = reply.verify_s
        return refused

    def _record_verify(self, seconds: float) -> None:
        with self._samples_lock:
            self.verify_seconds.append(seconds)

    def _answer(self, method: str, grant: EdgeGrant, range_header: str | None, if_range: str | None) -> _Reply:
        try:
            resource = self._locate(grant)
        except ObjectMissing:
            resource = None
        except TransientError as exc:
            logger.warning("origin failed for %s: %s", grant.path, exc)
            return _Reply.error(502, "bad_gateway", "origin unavailable", grant)
        if resource is None:
            return _Reply.error(404, "not_found", "no such object", grant)
        headers = {"Content-Type": resource.content_type, "Accept-Ranges": "bytes", "Access-Control-Allow-Origin": "*",
                   "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges"}
        if resource.etag:
            headers["ETag"] = f'"{resource.etag}"'
        if resource.last_modified_ms is not None:
            headers["Last-Modified"] = formatdate(resource.last_modified_ms / 1000, usegmt=True)
        if resource.cache_control:
            headers["Cache-Control"] = resource.cache_control
        if if_range is not None and if_range.strip() != headers.get("ETag"):
            range_header = None  # the representation changed: send all of it
        try:
            byte_range = parse_byte_range(range_header, resource.size)
        except RangeNotSatisfiable:
            return _Reply.error(416, "range_not_satisfiable", "requested range not satisfiable", grant,
                                {"Content-Range": f"bytes */{resource.size}", "Accept-Ranges": "bytes"})
        status, (start, end) = (206, byte_range) if byte_range else (200, (0, resource.size - 1))
        if byte_range:
            headers["Content-Range"] = f"bytes {start}-{end}/{resource.size}"
        headers["Content-Length"] = str(end - start + 1)
        if method == "HEAD" or end < start:
            return _Reply(status, "ok", headers, (), grant, byte_range)
        chunks = resource.read(start, end)
        try:
            first = next(chunks, b"")  # fetched before the status line: a vanished object is still a 404
        except ObjectMissing:
            return _Reply.error(404, "not_found", "no such object", grant)
        except TransientError as exc:
            logger.warning("origin failed for %s: %s", grant.path, exc)
            return _Reply.error(502, "bad_gateway", "origin unavailable", grant)
        return _Reply(status, "ok", headers, _prepend(first, chunks), grant, byte_range)

    def _locate(self, grant: EdgeGrant) -> _Resource | None:
        path = grant.path
        if any(segment in (".", "..") for segment in unquote(path).split("/")):
            return None  # dot segments are never resolved: the verified path is the object's key
        live = _LIVE.fullmatch(path)
        if live and self._live is not None:
            camera_id, name = unquote(live.group(1)), unquote(live.group(2))
            if name == "index.m3u8":
                text = self._live.playlist(camera_id, grant)
                return None if text is None else _in_memory(text.encode(), PLAYLIST_TYPE, "no-cache")
            found = self._live.segment(camera_id, name)
            if found is None:
                return None
            store, key = found
        else:
            prefix, _, rest = path.lstrip("/").partition("/")
            route = self._routes.get(prefix)
            key = unquote(rest)
            if route is None or not key:
                return None
            store = route
        info = store.head(key)
        content_type = (SEGMENT_TYPE if key.endswith(".ts") else PLAYLIST_TYPE if key.endswith(".m3u8")
                        else info.content_type)

        def read(start: int, end: int) -> Iterator[bytes]:
            for offset in range(start, end + 1, CHUNK_BYTES):
                last = min(end, offset + CHUNK_BYTES - 1)
                chunk = store.get_range(key, offset, last)
                if len(chunk) != last - offset + 1:
                    raise TransientError(f"{key} changed while being served")
                yield chunk

        return _Resource(info.size, content_type, read, info.etag, info.last_modified_ms)

    def _write(self, handler: BaseHTTPRequestHandler, reply: _Reply) -> int:
        sent = 0
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            if handler.command == "HEAD":
                return 0
            for chunk in reply.body:
                handler.wfile.write(chunk)
                sent += len(chunk)
        except (ConnectionError, TimeoutError) as exc:
            reply.reason = f"{reply.reason}; client went away ({type(exc).__name__})"
            handler.close_connection = True
        except Exception as exc:  # the status line is out: all that is left is to cut the response short
            logger.exception("media edge failed mid-response")
            reply.reason = f"{reply.reason}; aborted ({type(exc).__name__})"
            handler.close_connection = True
        return sent

    def _log(self, handler: BaseHTTPRequestHandler, reply: _Reply, client: str, peer: str, sent: int,
             started: float) -> None:
        if self._on_access is None:
            return
        grant = reply.grant
        record: dict[str, Any] = {
            "time": started,
            "method": handler.command,
            "path": grant.path if grant else urlsplit(handler.path).path,  # never the signature itself
            "link": _link_of(handler.path),
            "client_ip": client,
            "peer_ip": peer,
            "status": reply.status,
            "reason": reply.reason,
            "bytes": sent,
            "range": None if reply.byte_range is None else list(reply.byte_range),
            "key_pair_id": grant.key_pair_id if grant else None,
            "resource": grant.resource if grant else None,
            "expires_at": grant.expires_at if grant else None,
            "verify_s": reply.verify_s,
            "duration_s": time.time() - started,
            "user_agent": handler.headers.get("User-Agent"),
        }
        try:
            self._on_access(record)
        except Exception:
            logger.exception("media edge access log callback failed")


def _link_of(target: str) -> str | None:
    """The ``link`` a request names (refused requests included), when there is exactly one."""
    links = parse_qs(urlsplit(target).query).get("link", [])
    return links[0] if len(links) == 1 else None


def _in_memory(data: bytes, content_type: str, cache_control: str | None) -> _Resource:
    def read(start: int, end: int) -> Iterator[bytes]:
        yield data[start:end + 1]

    return _Resource(len(data), content_type, read, cache_control=cache_control)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
