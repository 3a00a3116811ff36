"""boto3 adapters against moto."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from chalicelib.errors import ConditionFailed, ObjectMissing


def test_object_store_round_trip_range_head_and_listing(aws):
    store = aws.store("media")
    store.put("a/one.bin", bytes(range(256)), content_type="application/x-test", metadata={"owner": "hc-1"})
    assert store.get("a/one.bin") == bytes(range(256))
    assert store.get_range("a/one.bin", 10, 19) == bytes(range(10, 20))
    info = store.head("a/one.bin")
    assert (info.size, info.content_type) == (256, "application/x-test")
    store.put("a/two.bin", b"2")
    store.put("b/three.bin", b"3")
    assert sorted(store.keys("a/")) == ["a/one.bin", "a/two.bin"]
    store.delete("a/one.bin")
    with pytest.raises(ObjectMissing):
        store.get("a/one.bin")
    with pytest.raises(ObjectMissing):
        store.head("nope")


def test_presigned_post_carries_the_size_cap_and_key(aws):
    post = aws.store("xray").presigned_post("uploads/hc-1/s1.dcm", max_bytes=50_000_000, expires_s=300)
    policy = json.loads(__import__("base64").b64decode(post.fields["policy"]))
    assert ["content-length-range", 1, 50_000_000] in policy["conditions"]
    assert {"key": "uploads/hc-1/s1.dcm"} in policy["conditions"]
    assert post.fields["key"] == "uploads/hc-1/s1.dcm"


def test_presigned_get_url_is_built_for_the_bucket(aws):
    url = aws.store("media").presigned_get("reports/r.json", expires_s=60)
    assert "gt-test-media" in url
    assert "X-Amz-Signature" in url
    assert urlparse(url).path.endswith("/reports/r.json")


def test_queue_send_delivers_body_and_attributes(aws):
    queue = aws.queue("agency-dispatch")
    message_id = queue.send('{"incident": "i-1"}', attributes={"kind": "sos"})
    got = aws.client("sqs").receive_message(QueueUrl=queue.url, MessageAttributeNames=["All"])["Messages"][0]
    assert got["MessageId"] == message_id
    assert got["Body"] == '{"incident": "i-1"}'
    assert got["MessageAttributes"]["kind"]["StringValue"] == "sos"


def test_table_conditional_writes_and_queries(aws):
    table = aws.table("footage")
    table.put({"camera_id": "c1", "start_ms": 1000, "end_ms": 11000, "ratio": 0.5}, if_absent=True)
    with pytest.raises(ConditionFailed):
        table.put({"camera_id": "c1", "start_ms": 1000}, if_absent=True)
    table.put_many([{"camera_id": "c1", "start_ms": t, "end_ms": t + 10_000} for t in (11000, 21000, 31000)])
    rows = table.query("camera_id", "c1", sort_between=(10_000, 25_000))
    assert [r["start_ms"] for r in rows] == [11000, 21000]
    assert table.get({"camera_id": "c1", "start_ms": 1000})["ratio"] == 0.5
    assert [r["start_ms"] for r in table.query("camera_id", "c1", descending=True, limit=2)] == [31000, 21000]
    table.delete({"camera_id": "c1", "start_ms": 1000})
    assert table.get({"camera_id": "c1", "start_ms": 1000}) is None


def test_table_expect_guards_state_transitions(aws):
    table = aws.table("records")
    table.put({"pk": "SOS#1", "sk": "record", "state": "pending", "owner_id": "o", "created_ms": 1})
    table.put({"pk": "SOS#1", "sk": "record", "state": "escalated", "owner_id": "o", "created_ms": 1},
              expect={"state": "pending"})
    with pytest.raises(ConditionFailed):
        table.put({"pk": "SOS#1", "sk": "record", "state": "cancelled", "owner_id": "o", "created_ms": 1},
                  expect={"state": "pending"})
    assert table.get({"pk": "SOS#1", "sk": "record"})["state"] == "escalated"


def test_notifier_publishes_to_a_topic_with_a_subscriber(aws):
    sqs = aws.client("sqs")
    capture = sqs.create_queue(QueueName="capture")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = aws.topic("guardian-sms")
    aws.client("sns").subscribe(TopicArn=topic.arn, Protocol="sqs", Endpoint=capture_arn)
    topic.publish("arrived home", subject="Safe return", attributes={"trip": "t-1"})
    body = json.loads(sqs.receive_message(QueueUrl=capture)["Messages"][0]["Body"])
    assert body["Message"] == "arrived home"
    assert body["TopicArn"] == topic.arn
