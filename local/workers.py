"""Named daemon threads that share one stop signal (the pump's pollers, the schedules)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Workers:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, join_timeout_s: float) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=join_timeout_s)
