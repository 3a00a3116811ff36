"""The search sweeper: end the searches that can no longer complete on their own.

A search completes when its last shard result arrives (the reducer). It never does when a shard fails for
good, hangs, or its job is lost (the local pool restarted, the AWS Batch job record expired), so on a schedule
the sweeper ends every running search

* whose batch job has finished with failed shards, at once, or
* that is still running past its deadline (:class:`~chalicelib.services.search.running.DeadlinePolicy`),

with the answer of the shards that finished, marked ``partial`` (status ``failed`` when none did). It ends them
through :meth:`SearchReducer.finalise`, the reducer's own conditional running → ended change, so a late reducer
and the sweeper (or two sweeper runs) cannot both win, and only the winner sends the answer to 112.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chalicelib.errors import AppError, NotFound
from chalicelib.models.search import SearchAnswer, SearchStatus
from chalicelib.ports import BatchExecutor, BatchJobStatus
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.search.reducer import SearchReducer
from chalicelib.services.search.running import RunningEntry, RunningSearches

logger = logging.getLogger(__name__)
FAILED_IN_JOB = "failed in the batch job"


@dataclass(frozen=True)
class SweepReport:
    finalised: list[SearchAnswer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # search ids that could not be ended this run


class SearchSweeper:
    def __init__(self, records: OwnedRecords, running: RunningSearches, reducer: SearchReducer,
                 executor: BatchExecutor, *, limit: int = 200) -> None:
        self._records = records
        self._running = running
        self._reducer = reducer
        self._executor = executor
        self._limit = limit

    def sweep(self, now_ms: int) -> SweepReport:
        """End every running search whose job failed or whose deadline is before ``now_ms``."""
        report = SweepReport()
        for entry in self._running.listed(limit=self._limit):
            try:
                answer = self._sweep_one(entry, now_ms)
            except AppError:  # one broken search must not hold up the others; the next run tries again
                logger.exception("search could not be ended", extra={"search_id": entry.search_id})
                report.errors.append(entry.search_id)
                continue
            if answer is not None:
                report.finalised.append(answer)
        return report

    def _sweep_one(self, entry: RunningEntry, now_ms: int) -> SearchAnswer | None:
        try:
            record = self._records.get(entry.search_id, None)
        except NotFound:
            record = None
        if record is None:
            self._running.remove(entry.search_id, entry.deadline_ms)  # gone
            return None
        if record.get("status") != SearchStatus.RUNNING:  # ended by the reducer
            if "dispatched_ms" in record or self._reducer.announce_if_lost(entry.search_id, record, now_ms):
                self._running.remove(entry.search_id, entry.deadline_ms)
            return None  # else its finaliser may still be announcing it: the next run looks again
        job = self._job(record.get("job_id"))
        if job is not None and job.done and job.failed:
            shortfall = FAILED_IN_JOB
        elif now_ms >= entry.deadline_ms:
            minutes = max(1, round((entry.deadline_ms - int(record["created_ms"])) / 60_000))
            shortfall = f"did not finish within {minutes} minutes"
            if job is None:
                shortfall += " (the batch job is no longer known)"
        else:
            return None
        search = self._reducer.load(entry.search_id, record)
        if search is None:
            return None
        answer = self._reducer.finalise(search, shortfall=shortfall)
        if answer is not None:
            logger.info("search ended by the sweeper", extra={"search_id": entry.search_id,
                                                              "status": answer.status.value, "reason": answer.reason})
        return answer

    def _job(self, job_id: object) -> BatchJobStatus | None:
        """The job's status; None when there is none or the executor no longer knows it."""
        if not job_id:
            return None
        try:
            return self._executor.status(str(job_id))
        except LookupError:  # KeyError included: an unknown job
            return None
