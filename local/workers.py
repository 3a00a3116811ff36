"""Named daemon threads that share one stop signal (the pump's pollers, the schedules), and one pause: a
pause waits for the work in hand (a batch a handler is on, a scheduled run) and holds back the next."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Workers:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._gate = threading.Condition()
        self._pauses = 0
        self._busy = 0

    def spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """One piece of work: entered once no pause holds (True), or at once when stopping (False: do nothing)."""
        with self._gate:
            self._gate.wait_for(lambda: self._pauses == 0 or self.stopping.is_set())
            if self.stopping.is_set():
                go = False
            else:
                go = True
                self._busy += 1
        try:
            yield go
        finally:
            if go:
                with self._gate:
                    self._busy -= 1
                    self._gate.notify_all()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No work starts inside; entering waits for the work in hand to finish. Never from a worker's own turn."""
        with self._gate:
            self._pauses += 1
            self._gate.wait_for(lambda: self._busy == 0)
        try:
            yield
        finally:
            with self._gate:
                self._pauses -= 1
                self._gate.notify_all()

    def stop(self, join_timeout_s: float) -> None:
        """Stop: the work in hand (a batch, a scheduled run) finishes, for up to ``join_timeout_s``. A thread
        that is only waiting for work (an SQS long poll, a few seconds) is not waited for: ``turn`` gives it
        nothing more to do, and it ends (a daemon) when its wait does."""
        self.stopping.set()
        with self._gate:
            self._gate.notify_all()  # a worker held by a pause gives up
            self._gate.wait_for(lambda: self._busy == 0, timeout=join_timeout_s)
        for thread in self._threads:
            thread.join(timeout=0.1)
