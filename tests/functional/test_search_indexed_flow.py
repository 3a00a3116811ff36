"""Searches over indexed footage on moto: answered from the index at once when it covers the whole cone; a
cone with unindexed cameras decodes only those (shards, in process) and says how much each path covered."""

from __future__ import annotations

import time

import pytest
from search_support import (
    MODELS,
    VIDEO,
    InlineBatchExecutor,
    answers_dispatched_to_112,
    crop,
    iou,
    people,
    png_base64,
    sampled_frames,
    write_clip,
)

from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import Location, instant
from chalicelib.models.search import LastSeen, SearchRequest, SearchStatus
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.search_index.records import INDEX_PREFIX
from chalicelib.wiring.search import build_search_service, build_segment_indexing
from local.lambda_runtime import LambdaContext
from local.pump import _record

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not VIDEO.exists() or not MODELS.exists(),
                                 reason="needs ../shared/data/video/vtest.avi and ../shared/models")]

FIRST_FRAME, FRAMES = 200, 60  # a 6 s cut in which B walks across
LAT, LON = 37.5665, 126.9780


@pytest.fixture
def world(aws, tmp_path):
    """NEAR (here) and NEXT (111 m north) recorded the clip after the person was last seen, 10 minutes ago."""
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=aws.settings.camera_index_key)
    registry.load_catalog([Camera(camera_id=c, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=lat, lon=LON)
                           for c, lat in (("NEAR", LAT), ("NEXT", LAT + 0.001))])
    executor = InlineBatchExecutor()
    _forget_handler_caches()
    seen = int(time.time() * 1000) - 600_000
    footage = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings, preset="ultrafast")
    clip = write_clip(tmp_path / "clip.avi", FIRST_FRAME, FRAMES)
    starts = {"NEAR": seen + 5_000, "NEXT": seen + 90_000}
    segments = {cid: footage.ingest(cid, clip, start_ms=start) for cid, start in starts.items()}
    yield {"service": build_search_service(aws, registry, executor=executor), "executor": executor, "aws": aws,
           "seen_ms": seen, "starts": starts, "segments": segments}
    _forget_handler_caches()


def _forget_handler_caches() -> None:
    from functions.search_reducer.handler import reducer
    from functions.search_shard.handler import runner

    reducer.cache_clear()
    runner.cache_clear()


def _index(world, camera_id: str) -> None:
    indexing = build_segment_indexing(world["aws"])
    for segment in world["segments"][camera_id]:
        indexing.run(camera_id, segment.start_ms, segment.key, segment_end_ms=segment.end_ms)


def _request(world) -> SearchRequest:
    b = people()["B"]
    frame = next(f for f in sampled_frames(2.0) if round(f.time_ms / 100) == 230)
    return SearchRequest(photos=[png_base64(crop(frame.image, b.boxes[230]))],
                         last_seen=LastSeen(location=Location(lat=LAT, lon=LON), at=instant(world["seen_ms"])), window_minutes=5,
                         camera_ids=["NEAR", "NEXT"], max_speed_mps=1.6, top_k=10)


def _is_b(world, track) -> bool:
    frame = FIRST_FRAME + round((track.best.time_ms - world["starts"][track.camera_id]) / 100)
    truth = people()["B"].boxes.get(frame - frame % 5)
    box = track.best.box
    return truth is not None and iou(truth, (box.x1, box.y1, box.x2, box.y2)) > 0.4


def _dispatched(aws) -> list[dict[str, object]]:
    return answers_dispatched_to_112(aws)


def test_a_cone_the_index_covers_is_answered_at_once_without_decoding(world):
    # GIVEN both cameras' footage indexed at ingest
    _index(world, "NEAR")
    _index(world, "NEXT")
    # WHEN the search starts
    answer = world["service"].start("police-112", _request(world))
    # THEN it is done at once: nothing was submitted to decode, the index covered the whole cone
    assert answer.status == SearchStatus.DONE and answer.shards_total == 0 and world["executor"].jobs == {}
    coverage = answer.coverage
    assert coverage is not None and coverage.decoded_seconds == 0 and coverage.indexed_seconds > 0
    assert coverage.indexed_cameras == ["NEAR", "NEXT"] and coverage.unindexed_cameras == []
    assert coverage.index_model is not None and coverage.index_model.startswith("osnet@")
    # AND B is the best hit, with a thumbnail link to the index's own thumbnail beside the footage
    best = answer.hits[0]
    assert _is_b(world, best), best
    assert best.best.thumbnail_key.startswith(f"{INDEX_PREFIX}/thumbs/") and best.best.thumbnail_url
    assert world["aws"].store("footage").get(best.best.thumbnail_key)[:3] == b"\xff\xd8\xff"
    assert [stop.camera_id for stop in answer.route] == ["NEAR", "NEXT"]
    # AND the answer went to 112 once, and reads back the same
    assert [m["search_id"] for m in _dispatched(world["aws"])] == [answer.search_id]
    again = world["service"].get("police-112", answer.search_id)
    assert again.coverage == coverage and [h.best.time_ms for h in again.hits] == [h.best.time_ms for h in answer.hits]


def test_unindexed_cameras_fall_back_to_decoding_and_the_coverage_says_so(world):
    from functions.search_reducer.handler import lambda_handler

    # GIVEN only NEAR indexed (NEXT's indexing is off)
    _index(world, "NEAR")
    service, aws = world["service"], world["aws"]
    # WHEN the search starts
    started = service.start("police-112", _request(world))
    # THEN only NEXT's footage goes to shards, and the answer says which path covered what
    assert started.status == SearchStatus.RUNNING and started.shards_total >= 1
    coverage = started.coverage
    assert coverage is not None and coverage.unindexed_cameras == ["NEXT"] and coverage.indexed_cameras == ["NEAR"]
    assert coverage.indexed_seconds > 0 and coverage.decoded_seconds == pytest.approx(started.footage_seconds_total)
    # WHEN the shards' done notifications reach the reducer
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.catalog.queue("search-shards-done").name)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    records = [_record(m, "arn:aws:sqs:ap-northeast-2:123456789012:q", "ap-northeast-2") for m in messages
               if "TestEvent" not in m["Body"]]
    lambda_handler({"Records": records}, LambdaContext(function_name="search_reducer"))
    # THEN the answer merges both paths: B on NEAR from the index, on NEXT from the decoded shards
    done = service.get("police-112", started.search_id)
    assert done.status == SearchStatus.DONE and done.coverage == coverage
    b_hits = {h.camera_id: h for h in done.hits if _is_b(world, h)}
    assert set(b_hits) == {"NEAR", "NEXT"}, [(h.camera_id, h.score) for h in done.hits]
    assert b_hits["NEAR"].best.thumbnail_key.startswith(f"{INDEX_PREFIX}/")
    assert b_hits["NEXT"].best.thumbnail_key.startswith(f"searches/{started.search_id}/")
    assert [stop.camera_id for stop in done.route] == ["NEAR", "NEXT"]
