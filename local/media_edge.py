"""The local media edge: serves stored objects and live playlists only through valid signed links.

It stands in for CloudFront (the emulator never checks presigned-URL expiry): every request is
verified with ``local.edge_policy`` against the socket peer address (or the
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
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from waitress.server import create_server

from chalicelib.errors import ObjectMissing, TransientError
from chalicelib.ports import ObjectStore
from local.edge_function import FunctionResult, viewer_request_event
from local.edge_policy import (
    EdgeDenied,
    EdgeGrant,
    EdgePolicyVerifier,
    PublicKeyInput,
    RevocationCheck,
)

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
IDLE_TIMEOUT_S = 60
THREADS = 16
BACKLOG = 1024
CONNECTION_LIMIT = 200
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
"""GET and HEAD carry no body; a larger one is refused (413) before the edge sees the request."""
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
        # readable by players in other origins' pages, as the media answers and the cloud function's refusals are
        return cls(status, message, {"Content-Type": "application/json", "Content-Length": str(len(payload)),
                                     "Access-Control-Allow-Origin": "*", **(headers or {})}, [payload], grant)


@dataclass(frozen=True)
class _Resource:
    size: int
    content_type: str
    read: Callable[[int, int], Iterator[bytes]]
    """Inclusive ``(start, end)`` → the bytes, in chunks."""
    etag: str | None = None
    last_modified_ms: int | None = None
    cache_control: str | None = None


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    """The request target as received (path and query, percent-encoding untouched)."""
    headers: dict[str, str]
    """Header names lower-cased."""
    peer: str


def _request_of(environ: dict[str, Any]) -> _Request:
    headers = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items()
               if key.startswith("HTTP_")}
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not target:  # PATH_INFO is decoded: re-encode it as a client would have sent it
        query = environ.get("QUERY_STRING", "")
        target = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) + (f"?{query}" if query else "")
    return _Request(method=str(environ.get("REQUEST_METHOD", "GET")), target=str(target), headers=headers,
                    peer=str(environ.get("REMOTE_ADDR", "")))


class _Body:
    """The response body for the WSGI server; counts what went out and logs the request when done."""

    def __init__(self, chunks: Iterable[bytes], on_close: Callable[[int, BaseException | None], None]) -> None:
        self._chunks = iter(chunks)
        self._on_close = on_close
        self.sent = 0
        self._failure: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            raise
        except Exception as exc:  # the status line is out: all that is left is to cut the response short
            self._failure = exc
            logger.exception("media edge failed mid-response")
            raise
        self.sent += len(chunk)
        return chunk

    def close(self) -> None:
        self._on_close(self.sent, self._failure)


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
        # waitress: a bounded thread pool, listen backlog, idle-connection timeout, request-size limits and
        # HTTP/1.1 keep-alive, instead of hand-rolled socket handling
        self._server = create_server(self, host=host, port=port, threads=THREADS, backlog=BACKLOG,
                                     channel_timeout=IDLE_TIMEOUT_S, connection_limit=CONNECTION_LIMIT,
                                     max_request_header_size=MAX_HEADER_BYTES, max_request_body_size=MAX_BODY_BYTES,
                                     clear_untrusted_proxy_headers=False,  # X-Forwarded-For: see client_ip()
                                     ident="golden-time-media-edge", expose_tracebacks=False)
        self._host = host
        self._thread: threading.Thread | None = None
        self.verify_seconds: deque[float] = deque(maxlen=verify_samples)
        """Seconds spent verifying each request's signature and policy (latest ``verify_samples``)."""
        self._samples_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.effective_port)  # type: ignore[union-attr]

    @property
    def base_url(self) -> str:
        """What links to this edge start with, e.g. ``http://127.0.0.1:8001``."""
        if self._public_base_url:
            return self._public_base_url
        host = self._host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> MediaEdge:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.run, name="media-edge", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close open keep-alive connections, let in-flight requests finish."""
        server = self._server
        server.task_dispatcher.shutdown(timeout=int(timeout_s))  # lets running requests finish
        channels: dict[int, Any] = getattr(server, "_map", None) or getattr(server, "map", {})

        def close_everything() -> None:  # in the server's own loop thread, so its select never sees a closed fd
            for channel in list(channels.values()):  # the listener, every open connection, the trigger
                with contextlib.suppress(OSError):
                    channel.close()

        if self._thread is not None:
            try:
                server.trigger.pull_trigger(close_everything)  # type: ignore[union-attr]
            except OSError:  # the loop already closed its trigger (it saw the pipe fail): nobody would run the thunk
                close_everything()
            self._thread.join(timeout=timeout_s)  # the loop ends when nothing is left to watch
            self._thread = None
        else:
            close_everything()

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

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI application waitress serves."""
        started = time.time()
        request = _request_of(environ)
        client = self.client_ip(request.peer, request.headers.get("x-forwarded-for"))
        if request.method not in ("GET", "HEAD"):
            reply = _Reply.error(405, "method_not_allowed", f"{request.method} not allowed; use GET or HEAD",
                                 headers={"Allow": "GET, HEAD"})
        else:
            try:
                reply = self._resolve(request.method, request.target, request.headers.get("host"), client,
                                      request.headers.get("range"), request.headers.get("if-range"))
                if reply.grant is not None and reply.status < 400 and self._viewer_request is not None:
                    reply = self._run_function(request, client, reply)
            except Exception:  # a bug or a failing dependency: a 500, never a dropped connection
                logger.exception("media edge failed on %s", urlsplit(request.target).path)
                reply = _Reply.error(500, "internal", "internal error")
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", list(reply.headers.items()))

        def finished(sent: int, failure: BaseException | None) -> None:
            if failure is not None:
                reply.reason = f"{reply.reason}; aborted ({type(failure).__name__})"
            self._log(request, reply, client, sent, started)

        return _Body(() if request.method == "HEAD" else reply.body, finished)

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

    def _run_function(self, request: _Request, client: str, reply: _Reply) -> _Reply:
        """CloudFront's order: the signed URL is checked, then the viewer-request function runs."""
        assert self._viewer_request is not None
        event = viewer_request_event(request.method, request.target, client, request.headers)
        result = self._viewer_request(event)
        if result.response is None:
            return reply
        reason = result.refusal or "refused"
        refused = _Reply.error(int(result.response.get("statusCode", 403)), "forbidden", reason, reply.grant,
                               headers={"X-Edge-Refusal": reason, "Access-Control-Expose-Headers": "X-Edge-Refusal"})
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

    def _log(self, request: _Request, reply: _Reply, client: str, sent: int, started: float) -> None:
        if self._on_access is None:
            return
        grant = reply.grant
        record: dict[str, Any] = {
            "time": started,
            "method": request.method,
            "path": grant.path if grant else urlsplit(request.target).path,  # never the signature itself
            "link": _link_of(request.target),
            "client_ip": client,
            "peer_ip": request.peer,
            "status": reply.status,
            "reason": reply.reason,
            "bytes": sent,
            "range": None if reply.byte_range is None else list(reply.byte_range),
            "key_pair_id": grant.key_pair_id if grant else None,
            "resource": grant.resource if grant else None,
            "expires_at": grant.expires_at if grant else None,
            "verify_s": reply.verify_s,
            "duration_s": time.time() - started,
            "user_agent": request.headers.get("user-agent"),
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
