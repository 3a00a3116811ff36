"""Decode ahead: run a frame iterator in a background thread, a few frames ahead of the consumer.

FFmpeg decodes and ONNX Runtime infers with the GIL released, so the next frames decode while the
detector works on this one — on a GPU host the CPU decodes while the accelerator infers; on a CPU
host the decoder fills the gaps between inference's parallel sections. An exception raised by the
iterator is re-raised in the consumer; closing the consumer stops the producer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched[T](items: Iterable[T], depth: int = 8) -> Generator[T, None, None]:
    """The items of ``items`` in order, produced up to ``depth`` ahead in a daemon thread."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer has gone

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, which decides
            put(_Failed(exc))

    worker = threading.Thread(target=produce, name="decode-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]  # everything else came from ``items``
    finally:
        stop.set()
        worker.join(timeout=5)
