"""The selective-monitor Lambda with S3-via-SQS events under moto: real clips cut from vtest.avi,
the shared detector, events with snapshots, state kept between invocations, idempotency and
partial batch failures."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from monitor_support import MISSING_FOOTAGE, VTEST, YOLOX, clip_bytes, jpeg_of, lawn_rules, s3_sqs_event, upload, vtest_frames

from chalicelib.models.selective_monitor import CameraRules, EventStatus
from chalicelib.services.selective_monitor import CameraStateStore
from chalicelib.services.selective_monitor.media import sample_clip
from chalicelib.video.detect import build_detector
from chalicelib.wiring.selective_monitor import build_monitoring
from functions.selective_monitor import handler, runtime
from local.lambda_runtime import LambdaContext

pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not (VTEST.is_file() and YOLOX.is_file()), reason=MISSING_FOOTAGE)]
CAMERA = "CAM-LAWN"
T0 = 1_763_800_000_000  # the clip of frames 490..560 starts at this time


@pytest.fixture(scope="module")
def detector():
    return build_detector("yolox", YOLOX, threads=2)


@pytest.fixture
def monitor(aws, detector, monkeypatch):
    """The handler with its runtime built on the moto resources (the shared detector injected once)."""
    handler.runtime.cache_clear()
    monkeypatch.setattr(runtime, "load_detector", lambda models: detector)
    build_monitoring(aws).rules.put(CAMERA, CameraRules.model_validate(lawn_rules()), by="operator-1", now_ms=T0)
    yield handler
    handler.runtime.cache_clear()


def invoke(event):
    return handler.lambda_handler(event, LambdaContext(function_name="selective-monitor"))


def queue(aws):
    return build_monitoring(aws).events.queue(now_ms=T0 + 3_600_000)


def emf_metrics(out: str) -> dict[str, float]:
    """The metric values of the EMF documents the handler printed."""
    values: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = json.loads(line)
            for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = doc[metric["Name"]]
                values[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return values


def test_a_clip_of_people_walking_onto_the_lawn_raises_one_event_with_a_snapshot(monitor, aws, capsys):
    # GIVEN a 7 s clip (frames 490-560) in which a couple walks onto the lawn
    obj = upload(aws, f"monitor/{CAMERA}/{T0}-clip.mp4", clip_bytes(490, 560))

    # WHEN the notification arrives through SQS
    response = invoke(s3_sqs_event([obj]))

    # THEN the batch succeeds and one zone-intrusion event is queued, ~1.5 s into the clip
    assert response == {"batchItemFailures": []}
    events = queue(aws)
    assert [(e.rule_id, e.kind.value, e.status) for e in events] == [("lawn", "zone_intrusion", EventStatus.OPEN)]
    event = events[0]
    assert T0 + 1000 <= event.t_ms <= T0 + 3000
    assert event.camera_id == CAMERA and event.source_key == obj["key"]
    assert 0.5 < event.score <= 1.0 and event.boxes
    assert all(box.y2 > 0.6 for box in event.boxes)  # the people are low in the frame, on the lawn
    # AND a JPEG snapshot with the boxes drawn is stored outside the monitored prefix
    snapshot = aws.store("media").get(event.snapshot_key)
    image = cv2.imdecode(np.frombuffer(snapshot, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    assert image.shape == (576, 768, 3)
    assert not event.snapshot_key.startswith("monitor/")
    # AND the clip of the moment (up to 4 s either side, cut from the upload) is stored beside it, at 10 fps
    assert event.clip_key is not None and not event.clip_key.startswith("monitor/")
    clip = list(sample_clip(aws.store("media").get(event.clip_key), fps=10))
    offset = event.t_ms - T0
    assert len(clip) == min(offset, 4000) // 100 + min(6900 - offset, 4000) // 100 + 1
    # AND the camera's state was stored: 7 s of camera-time at 2 fps, part of it surfaced
    state, version = CameraStateStore(aws.table("records")).load(CAMERA)
    assert version == 1 and state.frames == 14
    assert state.observed_ms == 6500 and 0 < state.surfaced_ms <= state.observed_ms
    # AND the invocation published its metrics (Powertools EMF)
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["FramesProcessed"] == 14
    assert metrics["EventsRaised"] == 1
    assert metrics["SurfacedShare"] == pytest.approx(100 * state.surfaced_ms / state.observed_ms)


def test_a_still_older_than_the_cameras_last_frame_is_skipped(monitor, aws):
    frames = dict(vtest_frames(5, start=510, stop=516))
    newer = upload(aws, f"monitor/{CAMERA}/{T0 + 1000}.jpg", jpeg_of(frames[515]))
    older = upload(aws, f"monitor/{CAMERA}/{T0}.jpg", jpeg_of(frames[510]))
    invoke(s3_sqs_event([newer]))
    invoke(s3_sqs_event([older]))  # arrives late: the tracker has moved on
    state, version = CameraStateStore(aws.table("records")).load(CAMERA)
    assert (state.frames, version, state.last_frame_ms) == (1, 1, T0 + 1000)


def test_state_carries_over_between_invocations_so_loitering_is_measured_across_clips(monitor, aws):
    # GIVEN the lawn scene cut into consecutive 5 s clips, each its own upload and invocation
    for start in range(490, 740, 50):
        obj = upload(aws, f"monitor/{CAMERA}/{T0 + (start - 490) * 100}-c.mp4", clip_bytes(start, start + 50))
        assert invoke(s3_sqs_event([obj])) == {"batchItemFailures": []}

    # THEN the woman who stays on the lawn for over 15 s raises a loitering event although no single
    # clip is 15 s long (the tracker state travelled between invocations)
    kinds = sorted(e.kind.value for e in queue(aws))
    assert kinds.count("loitering") == 1
    assert kinds.count("zone_intrusion") >= 1
    state, version = CameraStateStore(aws.table("records")).load(CAMERA)
    assert version == 5 and state.observed_ms == 24_500


def test_a_redelivered_notification_is_not_analysed_twice(monitor, aws):
    obj = upload(aws, f"monitor/{CAMERA}/{T0}-clip.mp4", clip_bytes(490, 530))
    invoke(s3_sqs_event([obj]))
    first = CameraStateStore(aws.table("records")).load(CAMERA)

    invoke(s3_sqs_event([obj], receive_count=2))

    assert CameraStateStore(aws.table("records")).load(CAMERA)[1] == first[1] == 1
    assert len(queue(aws)) == 1


def test_still_frames_from_a_camera_are_analysed_too(monitor, aws):
    # GIVEN three JPEG stills 0.5 s apart (frames 510, 515, 520) uploaded one by one
    for index, frame in vtest_frames(5, start=510, stop=521):
        obj = upload(aws, f"monitor/{CAMERA}/{T0 + index * 100}.jpg", jpeg_of(frame))
        assert invoke(s3_sqs_event([obj])) == {"batchItemFailures": []}
    # THEN the intrusion is raised from the second still on (a person needs two sightings)
    events = queue(aws)
    assert [(e.kind.value, e.t_ms) for e in events] == [("zone_intrusion", T0 + 51_500)]


def test_bad_objects_are_acknowledged_and_unparseable_records_fail_alone(monitor, aws):
    # GIVEN a good still, a corrupt clip, a key outside the scheme, a camera without rules and a broken record
    _, frame = next(vtest_frames(1, start=510, stop=511))
    good = upload(aws, f"monitor/{CAMERA}/{T0}.jpg", jpeg_of(frame))
    corrupt = upload(aws, f"monitor/{CAMERA}/{T0 + 1000}.mp4", b"\x00garbage" * 100)
    misnamed = upload(aws, f"monitor/{CAMERA}/latest.jpg", jpeg_of(frame))
    unruled = upload(aws, f"monitor/CAM-NO-RULES/{T0}.jpg", jpeg_of(frame))
    event = s3_sqs_event([good, corrupt, misnamed, unruled])
    event["Records"].append({**event["Records"][0], "messageId": "broken", "body": "{not json"})

    # WHEN the batch is handled
    response = invoke(event)

    # THEN only the broken record is reported for retry; the unusable objects are acknowledged
    assert response == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert CameraStateStore(aws.table("records")).load(CAMERA)[0].frames == 1
    assert CameraStateStore(aws.table("records")).load("CAM-NO-RULES")[1] == 0


def test_the_sample_event_parses_into_the_object_it_names():
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from conftest import load_event

    record = SQSRecord(load_event("s3_sqs/monitor_clip.json")["Records"][0])
    assert runtime.uploads_of(record) == [{"bucket": "gt-local-media",
                                           "key": "monitor/DEMO-CITYHALL-1/1763802000000-clip.mp4",
                                           "etag": "9b2cf535f27731c974343645a3985328"}]
    assert json.loads(record.body)["Records"][0]["s3"]["configurationId"] == "monitor-frames"


def test_the_detector_comes_from_the_model_registry_or_falls_back_to_hog(aws):
    from chalicelib.video import models as video_models

    # GIVEN no detector in the models bucket and no shared models: the classical detector, labelled as such
    assert runtime.load_detector(aws.store("models"), shared=None).name == "hog"
    # WHEN the video models are registered in the bucket (the cloud path) THEN its YOLOX is used, with a dynamic input
    video_models.register_video_models(aws.store("models"), YOLOX.parent)
    detector = runtime.load_detector(aws.store("models"), shared=None)
    assert detector.name == "yolox" and detector.dynamic  # type: ignore[attr-defined]
    assert "person" in detector.labels
