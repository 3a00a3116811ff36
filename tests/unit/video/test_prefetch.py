"""Decode-ahead: order kept, errors re-raised in the consumer, the producer stops when the consumer does."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib.video.prefetch import prefetched


def test_items_come_in_order_and_all_of_them():
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))


def test_the_producer_runs_ahead_of_a_slow_consumer():
    produced: list[int] = []

    def source():
        for i in range(5):
            produced.append(i)
            yield i

    stream = prefetched(source(), depth=4)
    assert next(stream) == 0
    deadline = time.monotonic() + 2
    while len(produced) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert produced == [0, 1, 2, 3, 4]  # decoded ahead while the consumer was busy
    assert list(stream) == [1, 2, 3, 4]


def test_an_error_of_the_source_is_raised_in_the_consumer_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("corrupt segment")

    stream = prefetched(source())
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(ValueError, match="corrupt segment"):
        next(stream)


def test_closing_the_consumer_stops_the_producer():
    def endless():
        i = 0
        while True:
            i += 1
            yield i

    before = threading.active_count()
    stream = prefetched(endless(), depth=2)
    assert next(stream) == 1
    stream.close()
    deadline = time.monotonic() + 2
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
