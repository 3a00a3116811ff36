"""The one wall clock: epoch milliseconds, UTC. Services take a ``Clock`` (tests pass a fixed one)."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]
"""Returns the current time in epoch milliseconds."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000
