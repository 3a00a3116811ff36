"""Running searches: each one's deadline, and the index the sweeper reads them from.

While a search runs, a marker item ``pk="SEARCHES#RUNNING", sk="<deadline_ms>#<search_id>"`` in the records
table lists it, so the sweeper finds every running search, the overdue first, with one query instead of a scan
(the same shape as the X-ray studies' pending markers). Whoever ends a search drops its marker; the sweeper also
drops any marker it finds for a search that has ended meanwhile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.models.search import SearchPlan
from chalicelib.ports import Table

RUNNING_PK = "SEARCHES#RUNNING"


@dataclass(frozen=True)
class DeadlinePolicy:
    """How long a search may run: ``per_footage_s`` × the footage seconds of its largest shard (shards run in
    parallel, so the largest one sets the pace), and never less than ``min_s``."""

    min_s: int = 1800
    per_footage_s: float = 1.0

    def deadline_ms(self, started_ms: int, plan: SearchPlan) -> int:
        largest = max((plan.shard_seconds(i) for i in range(len(plan.shards))), default=0.0)
        return started_ms + math.ceil(max(float(self.min_s), self.per_footage_s * largest) * 1000)


@dataclass(frozen=True)
class RunningEntry:
    search_id: str
    deadline_ms: int


class RunningSearches:
    """The running-search markers in the records table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, search_id: str, deadline_ms: int) -> None:
        self._table.put({"pk": RUNNING_PK, "sk": _marker(deadline_ms, search_id), "search_id": search_id,
                         "deadline_ms": deadline_ms})

    def remove(self, search_id: str, deadline_ms: int) -> None:
        self._table.delete({"pk": RUNNING_PK, "sk": _marker(deadline_ms, search_id)})

    def listed(self, *, limit: int = 200) -> list[RunningEntry]:
        """Running searches, the earliest deadline first."""
        return [RunningEntry(search_id=str(item["search_id"]), deadline_ms=int(item["deadline_ms"]))
                for item in self._table.query("pk", RUNNING_PK, limit=limit)]


def _marker(deadline_ms: int, search_id: str) -> str:
    return f"{deadline_ms:013d}#{search_id}"
