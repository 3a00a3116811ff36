"""Faults on purpose (``python -m local serve --faults 0.2``), injected at the botocore boundary.

Every boto3 client the platform's process builds gets a ``before-send`` handler that answers a
``rate`` share of calls with a 503 instead of sending them — what AWS does when it is throttling or
briefly unavailable. botocore's retry policy sees a real transient error and the code under test
is not touched. The request is never sent, so a fault never leaves a write half done; a response
lost after the write landed is not simulated. Shards run in the batch pool's own processes and get
no faults.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


class _Raw:
    """The raw stream an AWSResponse reads its body from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data


class FaultInjector:
    """Answers ``rate`` of all AWS calls with a 503 (seeded, so a run can be repeated)."""

    def __init__(self, rate: float, *, seed: int = 14) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError("the fault rate is a share of calls in [0, 1)")
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.calls = 0
        self.injected = 0
        self._original: Callable[..., Any] | None = None

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        with self._lock:
            self.calls += 1
            if self._random.random() >= self.rate:
                return None
            self.injected += 1
        # No body: every protocol's parser (JSON, query, REST-XML) reads an empty 503 as "ServiceUnavailable".
        return AWSResponse(request.url, 503, {"x-amzn-ErrorType": "ServiceUnavailable"}, _Raw(b""))

    def install(self) -> None:
        """Every client built from now on (boto3 sessions included) carries the fault handler."""
        original = boto3.session.Session.client
        self._original = original
        injector = self

        def client(session: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
            built = original(session, *args, **kwargs)
            built.meta.events.register("before-send", injector.before_send)
            return built

        boto3.session.Session.client = client  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            boto3.session.Session.client = self._original  # type: ignore[method-assign]
            self._original = None


class DuplicateDelivery:
    """Decides which successfully handled messages the event pump delivers a second time."""

    def __init__(self, rate: float, *, seed: int = 41) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.duplicated = 0

    def again(self) -> bool:
        with self._lock:
            if self._random.random() >= self.rate:
                return False
            self.duplicated += 1
            return True
