"""The local AWS emulator keeps the guarantees the services rely on."""

from __future__ import annotations

import threading

import pytest

from chalicelib.adapters.resources import Resources
from chalicelib.errors import ConditionFailed
from chalicelib.settings import get_settings

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_conditional_writes_let_exactly_one_win(local_platform, round_):
    # GIVEN one record in "pending" and 16 writers racing to move it to their own state
    table = Resources(get_settings()).table("records")
    key = {"pk": f"RACE#{round_}", "sk": "record"}
    table.put({**key, "state": "pending", "owner_id": "o", "created_ms": 1})
    winners: list[int] = []
    start = threading.Barrier(16)

    def claim(n: int) -> None:
        start.wait()
        try:
            table.put({**key, "state": f"taken-{n}", "owner_id": "o", "created_ms": 1, "pad": "x" * 20_000},
                      expect={"state": "pending"})
            winners.append(n)
        except ConditionFailed:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN exactly one transition happened, as DynamoDB guarantees
    assert len(winners) == 1
    stored = table.get(key)
    assert stored is not None
    assert stored["state"] == f"taken-{winners[0]}"
