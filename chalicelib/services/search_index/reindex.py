"""Re-index cameras over a time range (a new re-id model, an indexer fix) as an array job on the batch path that
searches' shards use: the local process pool locally, AWS Batch (GPU) in the cloud.

The range is cut into camera-hours (the index's partitions) dealt round-robin to at most ``max_tasks`` tasks.
A task indexes every stored segment starting in each of its camera-hours with the current model, replaces the
hour's file by the new parts (an earlier compaction of the same model is not merged in: its records are the
ones being replaced), then writes the camera-hour's done marker. A task retried, or the job submitted again,
skips the camera-hours already done and redoes the others from their start, writing the same keys again:
idempotent per camera-hour. Progress is the done markers against the plan, and the array job's task counts.
A camera whose indexing is off is left out (named in the plan). Records of another model stay where they are
(a search reads only its own model's): a re-index to a new model fills that model's tree beside the old one.

Keys (footage bucket, beside the index): ``search-index/reindex/<job>/plan.json`` and
``search-index/reindex/<job>/done/<camera>/<hour ms>.json``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence

from chalicelib.errors import NotFound, ObjectMissing, PermanentError
from chalicelib.models.footage import FootageSegment
from chalicelib.models.search import CameraHour, ReindexPlan, ReindexProgress, ReindexRequest
from chalicelib.ports import BatchExecutor, ObjectStore
from chalicelib.services.search_index.indexer import SegmentIndexing
from chalicelib.services.search_index.records import HOUR_MS, INDEX_PREFIX, hours
from chalicelib.services.search_index.switch import IndexSwitches

logger = logging.getLogger(__name__)
REINDEX_ENTRY_POINT = "functions.search_reindex.handler.run_task"
SegmentsOf = Callable[[str, int, int], Sequence[FootageSegment]]  # camera, from, to → stored segments


def _prefix(job_id: str) -> str:
    return f"{INDEX_PREFIX}/reindex/{job_id}/"


def _done_key(job_id: str, part: CameraHour) -> str:
    return f"{_prefix(job_id)}done/{part.camera_id}/{part.hour_ms}.json"


def _load_plan(store: ObjectStore, job_id: str) -> ReindexPlan:
    try:
        return ReindexPlan.model_validate_json(store.get(f"{_prefix(job_id)}plan.json"))
    except ObjectMissing as exc:
        raise NotFound(f"no re-index job {job_id}") from exc


class Reindexing:
    """Plans and submits re-index jobs, and reports their progress."""

    def __init__(self, store: ObjectStore, switches: IndexSwitches, executor: BatchExecutor, *, model: str) -> None:
        self._store = store
        self._switches = switches
        self._executor = executor
        self._model = model

    def start(self, request: ReindexRequest) -> ReindexProgress:
        off = self._switches.off()
        cameras = [c for c in dict.fromkeys(request.camera_ids) if c not in off]
        parts = [CameraHour(camera_id=c, hour_ms=h) for c in cameras for h in hours(request.start_ms, request.end_ms)]
        count = max(1, min(request.max_tasks, len(parts)))
        job_id = f"reidx-{uuid.uuid4().hex[:16]}"
        plan = ReindexPlan(job_id=job_id, model=self._model, tasks=[parts[i::count] for i in range(count)],
                           skipped_cameras=sorted(set(request.camera_ids) & off))
        key = f"{_prefix(job_id)}plan.json"
        self._store.put(key, plan.model_dump_json().encode(), content_type="application/json")  # before any task
        if parts:
            batch_id = self._executor.submit(f"reindex-{job_id}", REINDEX_ENTRY_POINT, count, {"job_id": job_id})
            plan = plan.model_copy(update={"batch_job_id": batch_id})
            self._store.put(key, plan.model_dump_json().encode(), content_type="application/json")
        logger.info("re-index submitted", extra={"job_id": job_id, "camera_hours": len(parts), "tasks": count})
        return self.progress(job_id)

    def progress(self, job_id: str) -> ReindexProgress:
        plan = _load_plan(self._store, job_id)
        total = sum(len(t) for t in plan.tasks)
        done = sum(1 for _ in self._store.keys(f"{_prefix(job_id)}done/"))
        succeeded = failed = 0
        if plan.batch_job_id is not None:
            status = self._executor.status(plan.batch_job_id)
            succeeded, failed = status.succeeded, status.failed
        elif total == 0:
            succeeded = len(plan.tasks)
        return ReindexProgress(job_id=job_id, model=plan.model, camera_hours_total=total,
                               camera_hours_done=min(done, total), tasks_total=len(plan.tasks),
                               tasks_succeeded=succeeded, tasks_failed=failed, skipped_cameras=plan.skipped_cameras,
                               finished=succeeded + failed >= len(plan.tasks))


class ReindexTask:
    """One task of a re-index job (in a batch worker): its camera-hours, each done once."""

    def __init__(self, store: ObjectStore, segments_of: SegmentsOf, indexing: SegmentIndexing) -> None:
        self._store = store
        self._segments_of = segments_of
        self._indexing = indexing

    def run(self, job_id: str, index: int) -> int:
        """Re-index task ``index``'s camera-hours not done yet; returns how many it re-indexed."""
        plan = _load_plan(self._store, job_id)
        if plan.model != self._indexing.indexer.tag.slug:
            raise PermanentError(f"job {job_id} indexes with {plan.model}, this worker has "
                                 f"{self._indexing.indexer.tag.slug}")
        if not 0 <= index < len(plan.tasks):
            raise PermanentError(f"job {job_id} has no task {index}")
        redone = 0
        for part in plan.tasks[index]:
            key = _done_key(job_id, part)
            try:
                self._store.head(key)
                continue  # done by an earlier attempt
            except ObjectMissing:
                pass
            segments = [s for s in self._segments_of(part.camera_id, part.hour_ms, part.hour_ms + HOUR_MS)
                        if part.hour_ms <= s.start_ms < part.hour_ms + HOUR_MS]
            tracks = 0
            for segment in segments:
                tracks += len(self._indexing.run(part.camera_id, segment.start_ms, segment.key).records)
            records = self._indexing.replace_hour(part.camera_id, part.hour_ms)
            self._store.put(key, json.dumps({"segments": len(segments), "tracks": tracks, "records": records}).encode(),
                            content_type="application/json")
            redone += 1
            logger.info("camera-hour re-indexed", extra={"job_id": job_id, "camera_id": part.camera_id,
                                                          "hour_ms": part.hour_ms, "segments": len(segments)})
        return redone
