"""The search sweeper on DynamoDB + S3 + SQS (moto): searches whose job failed or whose deadline passed end with
the shards that finished, marked partial, and reach 112 exactly once, whoever (reducer or sweeper) ends them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from search_support import answers_dispatched_to_112

from chalicelib.errors import AppError
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import Location, instant
from chalicelib.models.footage import FootageSegment
from chalicelib.models.search import Box, LastSeen, SearchRequest, SearchStatus, ShardResult, Sighting
from chalicelib.ports import BatchJobStatus
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog, segment_key
from chalicelib.services.search.reducer import ANNOUNCE_GRACE_MS, SearchReducer
from chalicelib.services.search.running import DeadlinePolicy
from chalicelib.services.search.service import SearchService
from chalicelib.services.search.shard import done_key, shard_key
from chalicelib.services.search.stages import Stages
from chalicelib.services.search.sweeper import SearchSweeper
from chalicelib.wiring.dispatch import build_agency_dispatch
from chalicelib.wiring.search import build_search_reducer, running_searches, search_records

LAT, LON = 37.5665, 126.9780
OWNER = "police-112"
DEADLINE_S = 1800


class FakeJobs:
    """The BatchExecutor port (AWS Batch runs nothing under moto): records submissions, reports set states."""

    def __init__(self) -> None:
        self.submitted: dict[str, int] = {}
        self.states: dict[str, BatchJobStatus] = {}

    def submit(self, job_name: str, entry_point: str, size: int, parameters: Mapping[str, str]) -> str:
        job_id = f"{job_name}-job"
        self.submitted[job_id] = size
        self.states[job_id] = BatchJobStatus(job_id=job_id, total=size, succeeded=0, failed=0)
        return job_id

    def status(self, job_id: str) -> BatchJobStatus:
        return self.states[job_id]  # KeyError: a job the executor does not know

    def finish(self, job_id: str, *, failed: int) -> None:
        size = self.submitted[job_id]
        self.states[job_id] = BatchJobStatus(job_id=job_id, total=size, succeeded=size - failed, failed=failed)


def _no_models() -> Stages:
    raise AssertionError("a colour-only search loads no models")


@pytest.fixture
def world(aws: Any) -> dict[str, Any]:
    """Two cameras with 40 s of recorded footage each, a service planning 10 s shards, a reducer and a sweeper."""
    now = int(time.time() * 1000)
    seen = now - 600_000
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=aws.settings.camera_index_key)
    registry.load_catalog([Camera(camera_id=c, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=lat, lon=LON)
                           for c, lat in (("NEAR", LAT), ("NEXT", LAT + 0.001))])
    footage = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings)
    rows = []
    for camera_id in ("NEAR", "NEXT"):
        for n in range(4):
            start = seen + 100_000 + n * 10_000
            segment = FootageSegment(camera_id=camera_id, start_ms=start, end_ms=start + 10_000,
                                     key=segment_key(camera_id, start), fps=10, width=768, height=576, bytes=1)
            rows.append({**segment.model_dump(), "expires_at": footage.expires_at(segment.end_ms)})
    aws.table("footage").put_many(rows)
    jobs = FakeJobs()
    service = SearchService(cameras=registry, footage=footage, media=aws.store("media"),
                            records=search_records(aws), running=running_searches(aws), executor=jobs,
                            stages=_no_models, retention_days=30, deadlines=DeadlinePolicy(min_s=DEADLINE_S),
                            shard_seconds=40, clock=lambda: now)
    reducer = build_search_reducer(aws)
    sweeper = SearchSweeper(search_records(aws), running_searches(aws), reducer, jobs)
    return {"aws": aws, "now": now, "seen": seen, "service": service, "jobs": jobs, "reducer": reducer,
            "sweeper": sweeper}


def _start(world: dict[str, Any]) -> tuple[str, str]:
    request = SearchRequest(upper_color="red", last_seen=LastSeen(location=Location(lat=LAT, lon=LON), at=instant(world["seen"])),
                            window_minutes=5, camera_ids=["NEAR", "NEXT"])
    started = world["service"].start(OWNER, request)
    assert started.status == SearchStatus.RUNNING and started.shards_total == 2
    assert started.deadline_ms == world["now"] + DEADLINE_S * 1000
    (job_id,) = world["jobs"].submitted
    return started.search_id, job_id


def _shard_finished(world: dict[str, Any], search_id: str, index: int) -> None:
    """What a shard worker leaves behind: its result (one sighting with a thumbnail), then the done marker."""
    media = world["aws"].store("media")
    thumb = f"searches/{search_id}/thumbs/NEAR/{index}.jpg"
    media.put(thumb, b"\xff\xd8\xff\xe0 thumbnail", content_type="image/jpeg")
    sighting = Sighting(camera_id="NEAR", time_ms=world["seen"] + 105_000 + index * 1000,
                        box=Box(x1=100, y1=100, x2=140, y2=200), score=0.8, color=0.8, upper="red", lower="blue",
                        thumbnail_key=thumb)
    result = ShardResult(search_id=search_id, index=index, sightings=[sighting], footage_seconds=40,
                         frames_decoded=400, frames_searched=80, people_detected=12, detector="hog",
                         embedder="color-histogram", elapsed_s=3.0)
    media.put(shard_key(search_id, index), result.model_dump_json().encode(), content_type="application/json")
    media.put(done_key(search_id, index), b"{}", content_type="application/json")


def _dispatched(aws: Any) -> list[dict[str, Any]]:
    return answers_dispatched_to_112(aws)


def test_a_search_past_its_deadline_ends_partial_with_the_shards_that_finished(world):
    # GIVEN a running 2-shard search of which shard 0 finished; shard 1 hangs (its job still runs)
    search_id, _ = _start(world)
    _shard_finished(world, search_id, 0)
    deadline = world["now"] + DEADLINE_S * 1000
    # WHEN the sweeper runs just before the deadline THEN the search keeps running
    assert world["sweeper"].sweep(deadline - 1).finalised == []
    assert world["service"].get(OWNER, search_id).status == SearchStatus.RUNNING
    # WHEN it runs after the deadline
    report = world["sweeper"].sweep(deadline + 60_000)
    # THEN the search is done, partial, with the finished shard's hit, and says what is missing
    assert [a.search_id for a in report.finalised] == [search_id] and report.errors == []
    answer = world["service"].get(OWNER, search_id)
    assert answer.status == SearchStatus.DONE and answer.partial
    assert (answer.shards_done, answer.shards_failed, answer.shards_total) == (1, 1, 2)
    assert answer.reason is not None
    assert answer.reason.startswith("1 of 2 shards finished; 1 did not finish within 30 minutes")
    assert [t.camera_id for t in answer.hits] == ["NEAR"] and answer.hits[0].best.thumbnail_url
    assert answer.footage_seconds_done == 40
    # AND exactly one 112 message carries the same partial answer
    sent = _dispatched(world["aws"])
    assert [(m["search_id"], m["partial"], m["shards_failed"]) for m in sent] == [(search_id, True, 1)]
    # AND the search is off the running index
    assert running_searches(world["aws"]).listed() == []


def test_a_job_with_failed_shards_ends_the_search_before_its_deadline(world):
    # GIVEN a search whose job finished with shard 1 failed for good and shard 0 done
    search_id, job_id = _start(world)
    _shard_finished(world, search_id, 0)
    world["jobs"].finish(job_id, failed=1)
    # THEN until the sweeper runs it reads as running, saying it is being finalised (not a premature "failed")
    before = world["service"].get(OWNER, search_id)
    assert before.status == SearchStatus.RUNNING and before.shards_failed == 1
    assert "being finalised" in (before.reason or "")
    # WHEN the sweeper runs a minute after the start
    report = world["sweeper"].sweep(world["now"] + 60_000)
    # THEN the search is done and partial, the reason naming the failed shard
    assert [a.search_id for a in report.finalised] == [search_id]
    answer = world["service"].get(OWNER, search_id)
    assert answer.status == SearchStatus.DONE and answer.partial
    assert answer.reason is not None and answer.reason.startswith("1 of 2 shards finished; 1 failed in the batch job")
    assert len(_dispatched(world["aws"])) == 1


def test_a_search_with_no_shard_finished_fails_with_the_reason(world):
    # GIVEN a search past its deadline whose job the executor no longer knows (e.g. the local pool restarted)
    search_id, job_id = _start(world)
    del world["jobs"].states[job_id]
    # WHEN the sweeper runs
    report = world["sweeper"].sweep(world["now"] + DEADLINE_S * 1000 + 1)
    # THEN the search failed, saying nothing came back and why
    assert [a.status for a in report.finalised] == [SearchStatus.FAILED]
    answer = world["service"].get(OWNER, search_id)
    assert answer.status == SearchStatus.FAILED and answer.partial and answer.hits == []
    assert answer.reason == ("0 of 2 shards finished; 2 did not finish within 30 minutes "
                             "(the batch job is no longer known)")
    assert [m["status"] for m in _dispatched(world["aws"])] == ["failed"]


def test_a_search_within_its_deadline_is_left_running(world):
    # GIVEN a search whose job is still running, one shard in
    search_id, _ = _start(world)
    _shard_finished(world, search_id, 0)
    # WHEN the sweeper runs well before the deadline
    report = world["sweeper"].sweep(world["now"] + 5 * 60_000)
    # THEN nothing changes: still running, still indexed, nothing sent to 112
    assert report.finalised == [] and report.errors == []
    assert world["service"].get(OWNER, search_id).status == SearchStatus.RUNNING
    assert [e.search_id for e in running_searches(world["aws"]).listed()] == [search_id]
    assert _dispatched(world["aws"]) == []


def test_a_search_the_reducer_ended_is_left_alone(world):
    # GIVEN a search whose two shards finished and whose reducer ended it
    search_id, _ = _start(world)
    _shard_finished(world, search_id, 0)
    _shard_finished(world, search_id, 1)
    assert world["reducer"].on_shard_done(search_id) is not None
    # WHEN the sweeper runs past the deadline
    report = world["sweeper"].sweep(world["now"] + DEADLINE_S * 1000 + 1)
    # THEN it ends nothing; the complete answer stands and 112 heard once
    assert report.finalised == []
    answer = world["service"].get(OWNER, search_id)
    assert answer.status == SearchStatus.DONE and not answer.partial and answer.shards_done == 2
    assert answer.shards_failed == 0
    assert len(_dispatched(world["aws"])) == 1
    assert running_searches(world["aws"]).listed() == []


def test_a_late_reducer_and_the_sweeper_cannot_both_win(world):
    # GIVEN the sweeper has read a running search with one shard in (its snapshot)
    search_id, _ = _start(world)
    _shard_finished(world, search_id, 0)
    snapshot = world["reducer"].load(search_id)
    assert snapshot is not None and snapshot.missing == 1
    # WHEN the last shard arrives and the reducer ends the search first
    _shard_finished(world, search_id, 1)
    complete = world["reducer"].on_shard_done(search_id)
    assert complete is not None and not complete.partial
    # THEN the sweeper's finalise from its stale snapshot loses: no second message, no overwritten answer
    assert world["reducer"].finalise(snapshot, shortfall="did not finish within 30 minutes") is None
    assert [m["partial"] for m in _dispatched(world["aws"])] == [False]
    answer = world["service"].get(OWNER, search_id)
    assert not answer.partial and answer.shards_done == 2 and answer.reason is None


def test_sweeping_twice_sends_once(world):
    # GIVEN a search past its deadline with one shard in
    search_id, _ = _start(world)
    _shard_finished(world, search_id, 1)
    after = world["now"] + DEADLINE_S * 1000 + 1
    # WHEN the schedule is delivered twice (at-least-once) and a late reducer notification comes in too
    first = world["sweeper"].sweep(after)
    second = world["sweeper"].sweep(after)
    late = world["reducer"].on_shard_done(search_id)
    # THEN only the first ends it and 112 heard once
    assert [a.search_id for a in first.finalised] == [search_id]
    assert second.finalised == [] and late is None
    assert [m["search_id"] for m in _dispatched(world["aws"])] == [search_id]


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _dispatch_queue_gone(aws: Any) -> Any:
    """Delete the agency-dispatch queue (sends to 112 now fail, like a crash between the winning write and the
    send); returns a function that brings it back."""
    sqs = aws.client("sqs")
    name = aws.catalog.queue("agency-dispatch").name
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    return lambda: sqs.create_queue(QueueName=name)


def _reducer_at(world: dict[str, Any], clock: _Clock) -> SearchReducer:
    aws = world["aws"]
    return SearchReducer(aws.store("media"), search_records(aws), build_agency_dispatch(aws),
                         running=running_searches(aws), clock=clock)


def test_a_result_whose_send_was_interrupted_reaches_112_on_the_next_notification(world):
    # GIVEN a search whose shards all finished, and a reducer that wins the write but cannot send to 112
    search_id, _ = _start(world)
    _shard_finished(world, search_id, 0)
    _shard_finished(world, search_id, 1)
    clock = _Clock(world["now"] + 30_000)
    reducer = _reducer_at(world, clock)
    restore = _dispatch_queue_gone(world["aws"])
    with pytest.raises(AppError):
        reducer.on_shard_done(search_id)
    restore()
    # THEN the search reads as done (the write won) but nothing was announced and it is still indexed
    assert world["service"].get(OWNER, search_id).status == SearchStatus.DONE
    assert [e.search_id for e in running_searches(world["aws"]).listed()] == [search_id]
    # WHEN the notification is redelivered within the grace period THEN nothing is sent yet (a winner may be sending)
    assert reducer.on_shard_done(search_id) is None and _dispatched(world["aws"]) == []
    # WHEN it is redelivered after the grace period
    clock.now += ANNOUNCE_GRACE_MS
    reducer.on_shard_done(search_id)
    # THEN the stored answer reaches 112 once, the record notes it, and the index entry is gone
    sent = _dispatched(world["aws"])
    assert [(m["search_id"], m["status"], m["shards_done"]) for m in sent] == [(search_id, "done", 2)]
    assert "dispatched_ms" in search_records(world["aws"]).get(search_id, None)
    assert running_searches(world["aws"]).listed() == []
    reducer.on_shard_done(search_id)
    assert _dispatched(world["aws"]) == []


def test_the_sweeper_announces_a_result_whose_finaliser_died(world):
    # GIVEN a search ended by a reducer that died before sending (its notification is never redelivered)
    search_id, _ = _start(world)
    _shard_finished(world, search_id, 0)
    _shard_finished(world, search_id, 1)
    restore = _dispatch_queue_gone(world["aws"])
    with pytest.raises(AppError):
        _reducer_at(world, _Clock(world["now"])).on_shard_done(search_id)
    restore()
    # WHEN the sweeper runs after the grace period
    report = world["sweeper"].sweep(world["now"] + 2 * ANNOUNCE_GRACE_MS)
    # THEN it ends nothing new, but the answer reaches 112 once and the index entry is dropped
    assert report.finalised == [] and report.errors == []
    assert [m["search_id"] for m in _dispatched(world["aws"])] == [search_id]
    assert running_searches(world["aws"]).listed() == []
    world["sweeper"].sweep(world["now"] + 3 * ANNOUNCE_GRACE_MS)
    assert _dispatched(world["aws"]) == []
