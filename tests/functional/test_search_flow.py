"""The search end to end on moto: plan → shards (the real handler, in process) → S3 → SQS → reducer
handler → result and 112 dispatch; plus the bad inputs the API must refuse."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
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

from chalicelib.errors import ValidationFailed
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import Location, instant
from chalicelib.models.search import LastSeen, SearchRequest, SearchStatus
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.search.service import PhotoRejected
from chalicelib.wiring.search import build_search_service
from local.lambda_runtime import LambdaContext
from local.pump import _record

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not VIDEO.exists() or not MODELS.exists(),
                                 reason="needs ../shared/data/video/vtest.avi and ../shared/models")]

FIRST_FRAME, FRAMES = 200, 60  # a 6 s cut in which B walks across
LAT, LON = 37.5665, 126.9780


def _camera(cid: str, lat: float, lon: float) -> Camera:
    return Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=lat, lon=lon)


@pytest.fixture
def world(aws):
    """Three cameras: here, 111 m north, 5.5 km north; the person was last seen here 10 minutes ago."""
    settings = aws.settings
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=settings.camera_index_key)
    registry.load_catalog([_camera("NEAR", LAT, LON), _camera("NEXT", LAT + 0.001, LON),
                           _camera("FAR", LAT + 0.05, LON)])
    executor = InlineBatchExecutor()
    _forget_handler_caches()
    yield {"service": build_search_service(aws, registry, executor=executor), "executor": executor, "aws": aws,
           "seen_ms": int(time.time() * 1000) - 600_000}
    _forget_handler_caches()  # the handlers' warm-container caches hold this test's moto clients


def _forget_handler_caches() -> None:
    from functions.search_reducer.handler import reducer
    from functions.search_shard.handler import runner

    reducer.cache_clear()
    runner.cache_clear()


def _record_footage(world, tmp_path) -> dict[str, int]:
    """The clip recorded on every camera: on NEXT 90 s after the sighting (reachable after ~70 s)."""
    aws = world["aws"]
    footage = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings,
                                           preset="ultrafast")
    clip = write_clip(tmp_path / "clip.avi", FIRST_FRAME, FRAMES)
    seen = world["seen_ms"]
    starts = {"NEAR": seen + 5_000, "NEXT": seen + 90_000, "FAR": seen + 60_000}
    for cid, start in starts.items():
        footage.ingest(cid, clip, start_ms=start)
    return starts


def _photo_of_b() -> str:
    b = people()["B"]
    frame = next(f for f in sampled_frames(2.0) if round(f.time_ms / 100) == 230)
    return png_base64(crop(frame.image, b.boxes[230]))


def _deliver_done_notifications(aws) -> list[dict[str, Any]]:
    """What the pump does: the queue's messages as one Lambda SQS event, to the reducer handler."""
    from functions.search_reducer.handler import lambda_handler

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.catalog.queue("search-shards-done").name)["QueueUrl"]
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        messages.extend(got)
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    records = [_record(m, "arn:aws:sqs:ap-northeast-2:123456789012:q", "ap-northeast-2") for m in messages
               if "TestEvent" not in m["Body"]]
    event = {"Records": records}
    lambda_handler(event, LambdaContext(function_name="search_reducer"))
    return records


def _dispatched(aws) -> list[dict[str, Any]]:
    return answers_dispatched_to_112(aws)


def test_photo_search_finds_the_person_on_reachable_cameras_and_reports_once(world, tmp_path):
    service, aws = world["service"], world["aws"]
    starts = _record_footage(world, tmp_path)
    # GIVEN a photo of B and the last-seen point at camera NEAR, 10 minutes ago, walking at most 1.6 m/s
    request = SearchRequest(photos=[_photo_of_b()],
                            last_seen=LastSeen(location=Location(lat=LAT, lon=LON), at=instant(world["seen_ms"])),
                            window_minutes=5, camera_ids=["NEAR", "NEXT", "FAR"], max_speed_mps=1.6, top_k=10)
    # WHEN the search starts (its shards run in process, as the local pool would run them)
    started = service.start("police-112", request)
    # THEN FAR (5.5 km: an hour's walk) is not searched, the others are, and every shard has finished
    assert sorted(started.cameras) == ["NEAR", "NEXT"]
    assert "not reachable" in started.excluded["FAR"]
    running = service.get("police-112", started.search_id)
    assert running.status == SearchStatus.RUNNING and running.shards_done == running.shards_total >= 1
    assert running.footage_seconds_done == running.footage_seconds_total > 0

    # WHEN the shard-done notifications reach the reducer (S3 → SQS → handler)
    records = _deliver_done_notifications(aws)
    assert len(records) == running.shards_total
    done = service.get("police-112", started.search_id)
    # THEN the search is done, B is the best hit with a thumbnail link, and the route walks NEAR → NEXT
    assert done.status == SearchStatus.DONE and done.hits, done
    best = done.hits[0]
    frame = FIRST_FRAME + round((best.best.time_ms - starts[best.camera_id]) / 100)
    truth = people()["B"].boxes[frame - frame % 5]
    assert iou(truth, (best.best.box.x1, best.best.box.y1, best.best.box.x2, best.best.box.y2)) > 0.4
    assert best.best.thumbnail_url and best.best.thumbnail_key.startswith(f"searches/{started.search_id}/thumbs/")
    assert aws.store("media").get(best.best.thumbnail_key)[:3] == b"\xff\xd8\xff"
    assert [stop.camera_id for stop in done.route] == ["NEAR", "NEXT"]
    assert done.embedder == "osnet" and done.detector == "yolox"
    # AND the result went to the 112 queue exactly once, even when a notification is delivered again
    from functions.search_reducer.handler import lambda_handler

    lambda_handler({"Records": records[:1]}, LambdaContext(function_name="search_reducer"))
    sent = _dispatched(aws)
    assert [m["search_id"] for m in sent] == [started.search_id]
    # AND another principal cannot read it
    with pytest.raises(Exception, match="no search"):
        service.get("operator-1", started.search_id)


def test_no_camera_in_reach_is_done_at_once_with_the_reason(world):
    service = world["service"]
    # GIVEN a last-seen point 30 km away from every camera
    request = SearchRequest(upper_color="red",
                            last_seen=LastSeen(location=Location(lat=LAT - 0.3, lon=LON), at=instant(world["seen_ms"])),
                            window_minutes=10)
    answer = service.start("operator-1", request)
    # THEN nothing is submitted and the answer says why
    assert answer.status == SearchStatus.DONE and answer.hits == [] and answer.shards_total == 0
    assert "no cameras" in (answer.reason or "")
    assert service.get("operator-1", answer.search_id).reason == answer.reason
    assert world["executor"].jobs == {}


@pytest.mark.parametrize(("photo", "reason"), [
    ("bm90IGFuIGltYWdl", "not a JPEG or PNG"),            # base64 of "not an image"
    ("%%%", "not valid base64"),
    (png_base64(np.full((200, 120, 3), 128, np.uint8)), "no person found"),
])
def test_bad_photo_is_refused_with_the_reason(world, photo, reason):
    request = SearchRequest(photos=[photo], last_seen=LastSeen(location=Location(lat=LAT, lon=LON), at=instant(world["seen_ms"])))
    with pytest.raises(PhotoRejected, match=reason) as caught:
        world["service"].start("operator-1", request)
    assert caught.value.status == 422


def test_window_beyond_retention_is_refused(world):
    old = world["seen_ms"] - 31 * 86_400_000
    request = SearchRequest(upper_color="red", last_seen=LastSeen(location=Location(lat=LAT, lon=LON), at=instant(old)))
    with pytest.raises(ValidationFailed, match="retention"):
        world["service"].start("operator-1", request)
