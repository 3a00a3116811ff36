"""The media distribution's viewer-request CloudFront Function, run under Node for the local edge.

``edge/viewer-request.js`` is the exact file CDK deploys; ``edge/node-host.mjs`` loads it in a
long-lived ``node`` child and speaks JSON lines. The function's KeyValueStore handle
(``cf.kvs()``) is answered here from a :class:`KeyValues` lookup — locally the revocation list
the API writes — so a revocation counts from the next request. One invocation at a time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_FILE = ROOT / "edge" / "viewer-request.js"
HOST_FILE = ROOT / "edge" / "node-host.mjs"


class KeyValues(Protocol):
    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class FunctionResult:
    request: dict[str, Any] | None
    """The request to pass on (allowed), else ``None``."""
    response: dict[str, Any] | None
    """The response the function generated (refused), else ``None``."""
    elapsed_ms: float
    kvs_wait_ms: float

    @property
    def refusal(self) -> str | None:
        if self.response is None:
            return None
        header = self.response.get("headers", {}).get("x-edge-refusal", {})
        return str(header.get("value") or f"refused ({self.response.get('statusCode')})")


def viewer_request_event(method: str, target: str, client_ip: str, headers: dict[str, str],
                         host: str = "localhost") -> dict[str, Any]:
    """The CloudFront Functions viewer-request event for an HTTP request (event structure v1.0)."""
    parts = urlsplit(target)
    querystring: dict[str, Any] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in querystring:
            entry = querystring[name]
            entry.setdefault("multiValue", [{"value": entry["value"]}]).append({"value": value})
        else:
            querystring[name] = {"value": value}
    return {"version": "1.0",
            "context": {"distributionDomainName": host, "distributionId": "LOCAL", "eventType": "viewer-request",
                        "requestId": uuid.uuid4().hex},
            "viewer": {"ip": client_ip},
            "request": {"method": method, "uri": parts.path, "querystring": querystring,
                        "headers": {k.lower(): {"value": v} for k, v in headers.items()}, "cookies": {}}}


class NodeMissing(RuntimeError):
    """``node`` is not installed (``make`` installs it)."""


class ViewerRequestFunction:
    def __init__(self, kvs: KeyValues, *, script: Path = FUNCTION_FILE, node: str | None = None) -> None:
        found = node or shutil.which("node")
        if found is None:
            raise NodeMissing("node is needed to run the edge's CloudFront Function")
        self._kvs = kvs
        self._lock = threading.Lock()
        self._process = subprocess.Popen([found, str(HOST_FILE), str(script)], stdin=subprocess.PIPE,  # noqa: S603
                                         stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = self._read()
        if ready.get("type") != "ready":
            raise RuntimeError(f"the CloudFront Function host did not start: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the CloudFront Function host exited")
        message: dict[str, Any] = json.loads(line)
        return message

    def _write(self, message: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()

    def __call__(self, event: dict[str, Any]) -> FunctionResult:
        with self._lock:
            self._write({"type": "invoke", "event": event})
            while True:
                message = self._read()
                if message["type"] == "kvs":
                    self._write(self._answer(message))
                    continue
                if "error" in message:
                    raise RuntimeError(f"the CloudFront Function failed: {message['error']}")
                result = message["result"]
                allowed = "statusCode" not in result
                return FunctionResult(result if allowed else None, None if allowed else result,
                                      float(message["elapsed_ms"]), float(message["kvs_wait_ms"]))

    def _answer(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            value = self._kvs.get(str(message["key"]))
        except Exception as exc:  # the store is down: the function decides (it fails closed)
            return {"type": "kvs-reply", "error": f"{type(exc).__name__}: {exc}"}
        if message["op"] == "exists":
            return {"type": "kvs-reply", "value": value is not None}
        return {"type": "kvs-reply", "value": value}

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
