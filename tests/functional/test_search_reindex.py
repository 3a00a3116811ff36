"""A re-index job over a small camera/time range on moto, run by the batch executor searches use (in process here):
each camera-hour is re-indexed once, its hour file replaced (not merged), progress reported, a retry a no-op."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from search_support import MODELS, VIDEO, InlineBatchExecutor, write_clip

from chalicelib.models.search import ReindexRequest
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.search_index.parquet import decode
from chalicelib.services.search_index.records import HOUR_MS, compacted_key, hour_prefix
from chalicelib.services.search_index.reindex import REINDEX_ENTRY_POINT
from chalicelib.wiring.search import build_reindexing, build_segment_indexing, index_switches

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not VIDEO.exists() or not MODELS.exists(),
                                 reason="needs ../shared/data/video/vtest.avi and ../shared/models")]

HOUR = 1_800_000_000_000 - 1_800_000_000_000 % HOUR_MS


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone(timedelta(hours=9)))  # KST: any offset is fine


@pytest.fixture
def task_cache():
    from functions.search_reindex.handler import task

    task.cache_clear()
    yield
    task.cache_clear()


def test_a_reindex_job_replaces_each_camera_hour_once_and_reports_progress(aws, tmp_path, task_cache):
    # GIVEN CAM's footage (one segment) indexed and compacted, and GATE turned off
    footage = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings, preset="ultrafast")
    segments = footage.ingest("CAM", write_clip(tmp_path / "clip.avi", 200, 60), start_ms=HOUR + 5_000)
    indexing = build_segment_indexing(aws)
    tag = indexing.indexer.tag
    for segment in segments:
        indexing.run("CAM", segment.start_ms, segment.key)
    before = indexing.replace_hour("CAM", HOUR)
    assert before > 0
    index_switches(aws).set("GATE", indexing=False, reason="broken")
    store = aws.store("footage")
    # WHEN a re-index of CAM and GATE over two hours is started on the batch executor
    executor = InlineBatchExecutor()
    reindexing = build_reindexing(aws, executor=executor)
    started = reindexing.start(ReindexRequest(camera_ids=["CAM", "GATE"], start=_at(HOUR + 600_000),
                                              end=_at(HOUR + 2 * HOUR_MS), max_tasks=4))
    # THEN both of CAM's camera-hours were tasks of one array job, GATE skipped, all done
    assert (started.camera_hours_total, started.camera_hours_done, started.tasks_total) == (2, 2, 2)
    assert started.tasks_succeeded == 2 and started.tasks_failed == 0 and started.finished
    assert started.skipped_cameras == ["GATE"] and started.model == tag.slug
    assert list(store.keys(hour_prefix(tag, "GATE", HOUR))) == []
    # AND CAM's hour file holds the re-indexed records once (replaced, not merged with the earlier file), no parts left
    keys = sorted(store.keys(hour_prefix(tag, "CAM", HOUR)))
    assert keys == [compacted_key(tag, "CAM", HOUR)]
    assert len(decode(store.get(keys[0]))) == before
    first = store.get(keys[0])
    # WHEN its task runs again (a retried child, or the job resubmitted)
    from functions.search_reindex.handler import task

    redone = [task().run(started.job_id, i) for i in range(started.tasks_total)]
    # THEN nothing is redone: no camera-hour re-indexed, the hour file unchanged, progress the same
    assert redone == [0, 0] and store.get(keys[0]) == first
    again = reindexing.progress(started.job_id)
    assert again.camera_hours_done == 2 and again.finished
    # AND the job went through the executor with the re-index entry point
    assert list(executor.jobs) == [f"reindex-{started.job_id}"]
    assert REINDEX_ENTRY_POINT.startswith("functions.search_reindex.")
