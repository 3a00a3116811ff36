"""The active model of a task as running functions see it: activation and rollback reach a warm container.

A container keeps its classifier, but before each batch it re-reads the task's active pointer
(``models/active/<task>.json``, one small GET) when its last read is older than ``ACTIVE_CHECK_S``; a new
(name, version) is loaded, verified and warmed before the batch runs. An activation therefore takes effect
in every running reader within ``ACTIVE_CHECK_S`` plus one batch, with no restart. A version that fails to
load leaves the previous one serving (and is retried at the next check).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from chalicelib.inference.classifier import Classifier
from chalicelib.inference.registry import ModelError, ModelRegistry

logger = logging.getLogger(__name__)
ACTIVE_CHECK_S = 30.0


class ActiveModel:
    """Call it for the classifier of the current batch; ``refresh()`` once per batch, before the batch."""

    def __init__(self, registry: ModelRegistry, task: str, *, check_s: float | None = None,
                 when_missing: Callable[[ModelRegistry], object] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._registry, self._task, self._check_s = registry, task, check_s
        self._when_missing, self._clock = when_missing, clock
        self._lock = threading.Lock()
        self._pointer: tuple[str, str] | None = None
        self._classifier: Classifier | None = None
        self._checked = 0.0

    @property
    def pointer(self) -> tuple[str, str] | None:
        return self._pointer

    def refresh(self) -> Classifier:
        """Re-read the active pointer if the last read is stale, and switch to a newly activated version."""
        with self._lock:
            now = self._clock()
            check_s = ACTIVE_CHECK_S if self._check_s is None else self._check_s
            if self._classifier is not None and now - self._checked < check_s:
                return self._classifier
            pointer = self._registry.active(self._task)
            if pointer is None and self._when_missing is not None:
                self._when_missing(self._registry)
                pointer = self._registry.active(self._task)
            if pointer is None:
                raise ModelError(f"no active model for task {self._task!r}")
            self._checked = now
            if pointer != self._pointer or self._classifier is None:
                try:
                    classifier = self._registry.load(*pointer)
                except ModelError:
                    if self._classifier is None:
                        raise
                    logger.exception("activated model %s/%s cannot be loaded; %s/%s keeps serving",
                                     *pointer, *(self._pointer or ("?", "?")))
                    return self._classifier
                logger.info("active model", extra={"task": self._task, "model": f"{pointer[0]}/{pointer[1]}",
                                                   "previous": "/".join(self._pointer) if self._pointer else None})
                self._pointer, self._classifier = pointer, classifier
            return self._classifier

    def __call__(self) -> Classifier:
        """The classifier chosen at the batch's refresh (the same one for the whole batch)."""
        return self._classifier if self._classifier is not None else self.refresh()
