"""Every trigger kind, with the event shapes AWS documents (events/*/aws_doc_*.json, copied from AWS's
documentation, see events/README.md) through every handler, against the same handler fed by the emulator's own
events (moto's S3 → SQS notification completed by local/s3_notifications.py, the pump's SQS records, the
scheduler's EventBridge events): the outcome is the same."""

from __future__ import annotations

import copy
import importlib
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import pytest
from agency_support import sos_dispatches
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from conftest import load_event
from monitor_support import MISSING_FOOTAGE, VTEST, YOLOX, jpeg_of, lawn_rules, vtest_frames
from moto.s3 import notifications
from xray_support import png_bytes, synthetic_chest

from chalicelib.catalog import build_catalog
from chalicelib.models.common import Location
from chalicelib.models.sos import SosRequest
from chalicelib.models.xray import StudyCreate, StudyStatus
from chalicelib.services.xray.studies import XrayStudies
from chalicelib.wiring.saferet import build_safe_return
from local import s3_notifications
from local.gps_tracks import CITY_HALL
from local.lambda_runtime import LambdaContext
from local.pump import _record
from local.scheduler import scheduled_event

REGION = "ap-northeast-2"


@pytest.fixture
def emulator_notifications(aws, monkeypatch):
    """moto's S3 → SQS notifications as the emulator process sends them (installed for this test only)."""
    monkeypatch.setattr(notifications, "_get_s3_event", notifications._get_s3_event)
    s3_notifications.install()
    return aws


def _clear_caches(module: Any) -> None:
    for value in vars(module).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def _handler(module_name: str) -> Any:
    """A handler module with its per-container caches emptied (they would hold another test's clients)."""
    module = importlib.import_module(module_name)
    _clear_caches(module)
    return module


def _emulator_event(aws: Any, queue: str) -> dict[str, Any]:
    """What the local pump delivers from the queue now: the emulator's messages as Lambda SQS records."""
    sqs, url = aws.client("sqs"), aws.queue(queue).url
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                       MessageAttributeNames=["All"]).get("Messages", []):
        if json.loads(message["Body"]).get("Event") != "s3:TestEvent":
            records.append(_record(message, arn, REGION))
    return {"Records": records}


def _documented_s3(template: str, aws: Any, bucket: str, key: str) -> dict[str, Any]:
    """The AWS-documented S3-in-SQS sample naming a real object: bucket, key, size, eTag and versionId
    replaced by the object's; every other field as documented."""
    event: dict[str, Any] = copy.deepcopy(load_event(template))
    body = json.loads(event["Records"][0]["body"])
    s3 = body["Records"][0]["s3"]
    head = aws.client("s3").head_object(Bucket=bucket, Key=key)
    s3["bucket"].update({"name": bucket, "arn": f"arn:aws:s3:::{bucket}"})
    s3["object"].update({"key": quote_plus(key, safe="/"), "size": head["ContentLength"],
                         "eTag": head["ETag"].strip('"'), "versionId": head["VersionId"]})
    event["Records"][0]["body"] = json.dumps(body)
    return event


def test_documented_s3_keys_decode_to_the_object_names():
    body = json.loads(load_event("s3_sqs/aws_doc_monitor_still.json")["Records"][0]["body"])
    assert unquote_plus(body["Records"][0]["s3"]["object"]["key"]) == "monitor/CAM-LAWN/1763800000000-정문 카메라.jpg"


def test_xray_reader_reads_the_documented_and_the_emulators_notification_alike(emulator_notifications):
    aws = emulator_notifications
    reader = _handler("functions.xray_reader.handler")
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    image = png_bytes(synthetic_chest(256, seed=4))
    # GIVEN two studies of one image: the emulator notifies the first upload; the second comes in AWS's shape
    first = studies.create("hc-1", StudyCreate(filename="image.png"), now_ms=int(time.time() * 1000))
    aws.store("xray").put(first.upload.key, image)
    from_emulator = _emulator_event(aws, "xray-uploads")
    second = studies.create("hc-1", StudyCreate(filename="image.png"), now_ms=int(time.time() * 1000))
    aws.store("xray").put(second.upload.key, image)
    documented = _documented_s3("s3_sqs/aws_doc_xray_upload.json", aws, aws.store("xray").name, second.upload.key)
    _emulator_event(aws, "xray-uploads")  # the second upload's own notification, not used
    # WHEN the reader gets each
    context = LambdaContext(function_name="xray-reader")
    assert len(from_emulator["Records"]) == 1
    assert reader.lambda_handler(from_emulator, context) == {"batchItemFailures": []}
    assert reader.lambda_handler(documented, context) == {"batchItemFailures": []}
    # THEN both readings are the same, and each records the object's real version id (the emulator sends it now)
    a, b = studies.get(first.study_id), studies.get(second.study_id)
    assert a.status is b.status is StudyStatus.DONE
    assert a.reading is not None and b.reading is not None
    assert [f.score for f in a.reading.findings] == [f.score for f in b.reading.findings]
    assert a.reading.triage == b.reading.triage
    for study, created in ((a, first), (b, second)):
        version = aws.client("s3").head_object(Bucket=aws.store("xray").name, Key=created.upload.key)["VersionId"]
        assert study.source is not None and study.source.version_id == version


def test_search_reducer_names_the_same_search_from_both_notifications(emulator_notifications):
    aws = emulator_notifications
    reducer = _handler("functions.search_reducer.handler")
    key = "searches/5f0c6e1a2b3c4d5e6f708192a3b4c5d6/shards/3/done.json"
    aws.store("media").put(key, b"{}")
    from_emulator = _emulator_event(aws, "search-shards-done")
    documented = _documented_s3("s3_sqs/aws_doc_shard_done.json", aws, aws.store("media").name, key)
    assert len(from_emulator["Records"]) == 1
    named = [reducer.searches_of(SQSRecord(e["Records"][0])) for e in (from_emulator, documented)]
    assert named[0] == named[1] == ["5f0c6e1a2b3c4d5e6f708192a3b4c5d6"]
    # AND the handler acknowledges both (an unknown search is logged, not retried)
    context = LambdaContext(function_name="search-reducer")
    assert reducer.lambda_handler(from_emulator, context) == reducer.lambda_handler(documented, context) == {
        "batchItemFailures": []}


def test_sos_escalation_handles_the_documented_and_the_pumps_sqs_record_alike(aws):
    escalation = _handler("functions.sos_escalation.handler")
    services = build_safe_return(aws)
    past = time.time_ns() // 1_000_000 - 11_000
    request = SosRequest(location=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]))
    first = services.sos.create("app-1", "inc-00000000000000f1", request, past)
    second = services.sos.create("app-1", "inc-00000000000000f2", request, past)
    # GIVEN the first escalation message through the queue (as the pump delivers it), the second in AWS's shape
    aws.client("sqs").send_message(QueueUrl=aws.queue("sos-escalation").url,
                                   MessageBody=json.dumps({"incident_id": first.incident_id,
                                                           "cancel_deadline_ms": first.cancel_deadline_ms}),
                                   MessageAttributes={"kind": {"DataType": "String", "StringValue": "sos"}})
    from_pump = _emulator_event(aws, "sos-escalation")
    documented = copy.deepcopy(load_event("sqs/aws_doc_message.json"))
    documented["Records"][0]["body"] = json.dumps({"incident_id": second.incident_id,
                                                   "cancel_deadline_ms": second.cancel_deadline_ms})
    # WHEN each is handled THEN each escalates its incident to 112 once
    context = LambdaContext(function_name="sos-escalation")
    assert escalation.lambda_handler(from_pump, context) == escalation.lambda_handler(documented, context) == {
        "batchItemFailures": []}
    dispatched = sorted(d["incident_id"] for d in sos_dispatches(aws))
    assert dispatched == sorted([first.incident_id, second.incident_id])


CATALOG = build_catalog("test")


@pytest.mark.parametrize("logical", sorted(CATALOG.schedules))
def test_every_schedule_handler_gives_the_same_result_for_the_documented_and_the_schedulers_event(aws, logical):
    spec = CATALOG.schedules[logical]
    module = _handler(spec.handler.rsplit(".", 1)[0])
    now = datetime.now(UTC).replace(microsecond=0)
    ours = scheduled_event(spec.name, REGION, now)
    documented = copy.deepcopy(load_event("schedule/aws_doc_scheduled_event.json"))
    documented.update({"time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": REGION,
                       "resources": [f"arn:aws:events:{REGION}:123456789012:rule/{spec.name}"]})
    parse(event=documented, model=EventBridgeModel)
    context = LambdaContext(function_name=logical)
    handler = getattr(module, spec.handler.rsplit(".", 1)[1])
    assert handler(documented, context) == handler(ours, context)


def test_the_documented_batch_state_change_is_an_eventbridge_event_nothing_consumes():
    # No function subscribes to Batch state changes (the search sweeper follows jobs with DescribeJobs); the
    # documented sample still parses as the EventBridge event a future rule would deliver.
    parsed = parse(event=load_event("batch/aws_doc_job_state_change.json"), model=EventBridgeModel)
    assert parsed.detail_type == "Batch Job State Change" and parsed.model_dump()["detail"]["status"] == "RUNNABLE"
    assert not [s for s in CATALOG.schedules.values() if "batch" in s.handler]


@pytest.mark.shared
@pytest.mark.skipif(not (VTEST.is_file() and YOLOX.is_file()), reason=MISSING_FOOTAGE)
def test_selective_monitor_analyses_a_documented_korean_key_as_the_emulators_notification(emulator_notifications,
                                                                                         monkeypatch):
    from chalicelib.models.selective_monitor import CameraRules
    from chalicelib.services.selective_monitor import CameraStateStore
    from chalicelib.video.detect import build_detector
    from chalicelib.wiring.selective_monitor import build_monitoring
    from functions.selective_monitor import runtime

    aws = emulator_notifications
    monitor = _handler("functions.selective_monitor.handler")
    detector = build_detector("yolox", YOLOX, threads=2)
    monkeypatch.setattr(runtime, "load_detector", lambda models: detector)
    t0 = 1_763_800_000_000
    for camera in ("CAM-LAWN", "CAM-GATE"):
        build_monitoring(aws).rules.put(camera, CameraRules.model_validate(lawn_rules()), by="operator-1", now_ms=t0)
    still = jpeg_of(dict(vtest_frames(1, start=530, stop=531))[530])
    # GIVEN the same still from two cameras, names with a space and Korean characters: the emulator notifies one,
    # the other arrives in AWS's documented shape (its key as documented, URL-encoded)
    aws.store("media").put(f"monitor/CAM-GATE/{t0}-정문 카메라.jpg", still)
    from_emulator = _emulator_event(aws, "monitor-frames")
    documented_key = f"monitor/CAM-LAWN/{t0}-정문 카메라.jpg"
    aws.store("media").put(documented_key, still)
    documented = _documented_s3("s3_sqs/aws_doc_monitor_still.json", aws, aws.store("media").name, documented_key)
    _emulator_event(aws, "monitor-frames")
    # WHEN the monitor gets each
    context = LambdaContext(function_name="selective-monitor")
    assert len(from_emulator["Records"]) == 1
    assert monitor.lambda_handler(from_emulator, context) == monitor.lambda_handler(documented, context) == {
        "batchItemFailures": []}
    # THEN both stills were analysed at the time their names carry, with the same events
    states = CameraStateStore(aws.table("records"))
    for camera in ("CAM-LAWN", "CAM-GATE"):
        state, _ = states.load(camera)
        assert (state.frames, state.last_frame_ms) == (1, t0)
    events = build_monitoring(aws).events.queue(now_ms=t0 + 3_600_000)
    by_camera = {camera: sorted((e.rule_id, e.kind.value, round(e.score, 6)) for e in events if e.camera_id == camera)
                 for camera in ("CAM-LAWN", "CAM-GATE")}
    assert by_camera["CAM-LAWN"] == by_camera["CAM-GATE"]
