"""Stopping the workers waits for the work in hand, not for a worker that is only waiting for work."""

from __future__ import annotations

import threading
import time

from local.workers import Workers


def test_stop_does_not_wait_out_an_idle_long_poll() -> None:
    workers = Workers()
    release = threading.Event()

    def poll() -> None:  # a long poll with nothing to hand over
        release.wait(30)

    workers.spawn("poller", poll)
    started = time.monotonic()
    workers.stop(join_timeout_s=10)
    assert time.monotonic() - started < 2
    release.set()


def test_stop_waits_for_the_batch_in_hand_and_then_refuses_more() -> None:
    workers = Workers()
    in_turn, finished, turns = threading.Event(), threading.Event(), []

    def handler() -> None:
        with workers.turn() as go:
            turns.append(go)
            in_turn.set()
            time.sleep(0.5)
            finished.set()
        with workers.turn() as go:  # the next batch, after stop: not handed over
            turns.append(go)

    workers.spawn("handler", handler)
    assert in_turn.wait(5)
    workers.stop(join_timeout_s=10)
    assert finished.is_set()  # stop returned only after the batch in hand was done
    time.sleep(0.1)
    assert turns == [True, False]
