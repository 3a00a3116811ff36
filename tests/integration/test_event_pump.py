"""The event pump behaves like Lambda's SQS event source mapping with ReportBatchItemFailures."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from local.pump import EventPump, QueueBinding


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", region_name="ap-northeast-2")


def make_queue(sqs, name, *, max_receives=2, visibility=1):
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


def bodies(sqs, url):
    """Everything visible on a queue now (received and made visible again)."""
    found = []
    reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0)
    for message in reply.get("Messages", []):
        found.append(message["Body"])
    return sorted(found)


def test_the_handler_gets_the_exact_lambda_sqs_event(sqs):
    # GIVEN a queue with one message carrying an attribute
    url, arn, _ = make_queue(sqs, "shape")
    sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "greeting"}})
    seen = []
    pump = EventPump(sqs, [], region="ap-northeast-2")
    binding = QueueBinding("shape-fn", url, arn, lambda event, ctx: seen.append((event, ctx)))
    # WHEN the pump polls
    result = pump.poll_once(binding, wait_seconds=0)
    # THEN the handler got Lambda's record shape and the message is gone
    event, context = seen[0]
    record = event["Records"][0]
    assert set(record) == {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                           "eventSource", "eventSourceARN", "awsRegion"}
    assert record["body"] == "hello"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["kind"]["stringValue"] == "greeting"
    assert context.function_name == "shape-fn"
    assert context.get_remaining_time_in_millis() > 0
    assert result.succeeded == 1
    assert bodies(sqs, url) == []


def test_batches_hold_at_most_ten_records(sqs):
    url, arn, _ = make_queue(sqs, "batches")
    for i in range(25):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sizes = []
    pump = EventPump(sqs, [], region="ap-northeast-2")
    binding = QueueBinding("batch-fn", url, arn, lambda event, ctx: sizes.append(len(event["Records"])))
    while sum(sizes) < 25:
        assert pump.poll_once(binding, wait_seconds=0).received > 0
    assert max(sizes) <= 10
    assert sum(sizes) == 25


def test_partial_failure_redelivers_only_the_failed_message(sqs):
    # GIVEN three messages and a handler that reports "b" as failed
    url, arn, _ = make_queue(sqs, "partial", max_receives=5)
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    deliveries: list[str] = []

    def handler(event, context):
        deliveries.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "b"]}

    pump = EventPump(sqs, [], region="ap-northeast-2")
    binding = QueueBinding("partial-fn", url, arn, handler)
    while len(deliveries) < 3:
        pump.poll_once(binding, wait_seconds=0)
    # WHEN the visibility timeout passes and the pump polls again
    time.sleep(1.2)
    pump.poll_once(binding, wait_seconds=0)
    # THEN only "b" came back, with its receive count raised
    assert sorted(deliveries) == ["a", "b", "b", "c"]


def test_poison_message_reaches_the_dlq_after_max_receives(sqs):
    url, arn, dlq = make_queue(sqs, "poison", max_receives=2)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    counts = []

    def handler(event, context):
        counts.append(event["Records"][0]["attributes"]["ApproximateReceiveCount"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    pump = EventPump(sqs, [], region="ap-northeast-2")
    binding = QueueBinding("poison-fn", url, arn, handler)
    for _ in range(4):
        pump.poll_once(binding, wait_seconds=0)
        time.sleep(1.1)
    assert counts == ["1", "2"]
    assert bodies(sqs, url) == []
    assert bodies(sqs, dlq) == ["poison"]


def test_a_handler_crash_loses_nothing(sqs):
    url, arn, _ = make_queue(sqs, "crash", max_receives=5)
    for body in ("x", "y"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    calls = []

    def handler(event, context):
        calls.append(sorted(r["body"] for r in event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("container died")

    pump = EventPump(sqs, [], region="ap-northeast-2")
    binding = QueueBinding("crash-fn", url, arn, handler)
    first = pump.poll_once(binding, wait_seconds=0)
    assert first.crashed
    time.sleep(1.2)
    delivered: list[str] = []
    while len(delivered) < 2:
        pump.poll_once(binding, wait_seconds=0)
        delivered = sorted(b for batch in calls[1:] for b in batch)
    assert delivered == ["x", "y"]
    assert bodies(sqs, url) == []


def test_s3_test_events_are_dropped_without_calling_the_handler(sqs):
    url, arn, _ = make_queue(sqs, "s3test")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                                                           "Bucket": "b"}))
    called = []
    pump = EventPump(sqs, [], region="ap-northeast-2")
    result = pump.poll_once(QueueBinding("s3-fn", url, arn, lambda e, c: called.append(e)), wait_seconds=0)
    assert called == []
    assert result.ignored == 1
    assert bodies(sqs, url) == []


def test_the_running_pump_drives_s3_notifications_to_the_handler(aws):
    # GIVEN the provisioned catalog: media bucket "monitor/" uploads notify the monitor-frames queue
    sqs = aws.client("sqs")
    spec = aws.catalog.queue("monitor-frames")
    url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    keys: list[str] = []
    pump = EventPump(sqs, [QueueBinding("monitor", url, arn, lambda e, c: keys.extend(
        json.loads(r["body"])["Records"][0]["s3"]["object"]["key"] for r in e["Records"]))],
        region="ap-northeast-2", wait_seconds=0)
    # WHEN an object lands under the prefix while the pump runs
    pump.start()
    try:
        aws.store("media").put("monitor/cam-1/frame 1.jpg", b"\xff\xd8")
        aws.store("media").put("elsewhere/ignored.jpg", b"\xff\xd8")
        deadline = time.monotonic() + 10
        while not keys and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pump.stop()
    # THEN exactly the matching key arrived, URL-encoded (moto also encodes "/"; handlers unquote_plus)
    assert [unquote_plus(k) for k in keys] == ["monitor/cam-1/frame 1.jpg"]


def test_duplicate_delivery_hands_a_handled_message_over_again_as_sqs_would(sqs):
    # GIVEN a pump that delivers every handled message twice (the faults switch, at its extreme)
    from local.faults import DuplicateDelivery

    url, arn, _ = make_queue(sqs, "twice", visibility=30)
    sqs.send_message(QueueUrl=url, MessageBody="once")
    seen = []
    pump = EventPump(sqs, [], region="ap-northeast-2", duplicates=DuplicateDelivery(0.999, seed=3))
    binding = QueueBinding("twice-fn", url, arn, lambda event, ctx: seen.extend(event["Records"]))
    # WHEN it polls twice
    pump.poll_once(binding, wait_seconds=0)
    pump.poll_once(binding, wait_seconds=0)
    # THEN the same message (same id, a new receipt handle, one more receive) came twice, and is still queued
    assert [r["messageId"] for r in seen] == [seen[0]["messageId"]] * 2
    assert seen[0]["receiptHandle"] != seen[1]["receiptHandle"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in seen] == ["1", "2"]
    assert pump.duplicated == 2


def test_a_paused_pump_finishes_the_batch_in_hand_and_hands_over_no_other_until_resumed(sqs):
    # GIVEN a running pump whose handler is busy with a batch
    url, arn, _ = make_queue(sqs, "aside", visibility=30)
    busy, release, paused, resume = (threading.Event() for _ in range(4))
    seen: list[str] = []

    def handler(event, context):
        seen.extend(r["body"] for r in event["Records"])
        busy.set()
        release.wait(10)

    pump = EventPump(sqs, [QueueBinding("aside-fn", url, arn, handler)], region="ap-northeast-2", wait_seconds=0)
    sqs.send_message(QueueUrl=url, MessageBody="first")
    pump.start()

    def set_aside():
        with pump.paused():
            paused.set()
            resume.wait(10)

    try:
        assert busy.wait(10)
        # WHEN something beside it asks for a pause
        threading.Thread(target=set_aside, daemon=True).start()
        # THEN the pause waits for the batch in hand
        assert not paused.wait(0.3)
        release.set()
        assert paused.wait(10)
        # AND a message sent during the pause reaches no handler, however often the pump polls
        sqs.send_message(QueueUrl=url, MessageBody="second")
        time.sleep(1.0)
        assert seen == ["first"]
        # WHEN the pause ends THEN it is handed over
        resume.set()
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen == ["first", "second"]
    finally:
        release.set()
        resume.set()
        pump.stop()
