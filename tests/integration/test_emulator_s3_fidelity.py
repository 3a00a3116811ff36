"""The emulator process behaves as S3 where correctness depends on it: presigned POST conditions are enforced
at upload time, and S3 → SQS notifications carry the fields S3 sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model

from chalicelib.adapters.s3 import S3ObjectStore
from chalicelib.catalog import build_catalog
from local.emulator import Emulator, provision
from local.s3_post_policy import PolicyRefusal, check_post

CATALOG = build_catalog("fidelity")
REGION = "ap-northeast-2"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    server = Emulator(port=0, state_dir=tmp_path_factory.mktemp("emulator"))
    server.start()
    clients = {name: boto3.client(name, endpoint_url=server.endpoint_url, region_name=REGION)
               for name in ("s3", "sqs", "dynamodb", "sns")}
    provision(CATALOG, region=REGION, **clients)
    yield clients
    server.stop()


def _post(post: Any, data: bytes, **override: str) -> requests.Response:
    return requests.post(post.url, data={**post.fields, **override}, files={"file": ("image.dcm", data)}, timeout=60)


def test_an_upload_over_the_presigned_size_cap_is_refused_at_upload_time(emulator):
    # GIVEN the X-ray study's presigned POST, capped at 50 MB
    store = S3ObjectStore(emulator["s3"], CATALOG.bucket("xray"))
    post = store.presigned_post("uploads/hc-1/s-1/image.dcm", max_bytes=50 * MB, expires_s=300)
    # WHEN a 60 MB file is posted THEN the emulator refuses it as S3 does, and stores nothing
    refused = _post(post, b"\0" * (60 * MB))
    assert refused.status_code == 400 and "<Code>EntityTooLarge</Code>" in refused.text
    assert "MaxSizeAllowed>52428800<" in refused.text
    assert emulator["s3"].list_objects_v2(Bucket=CATALOG.bucket("xray"), Prefix="uploads/hc-1/s-1/")["KeyCount"] == 0
    # AND a file within the cap is accepted
    assert _post(post, b"\1" * 1024).status_code == 204


def test_a_post_that_changes_the_key_or_content_type_is_refused(emulator):
    store = S3ObjectStore(emulator["s3"], CATALOG.bucket("media"))
    post = store.presigned_post("sos/d-1/clip.mp4", max_bytes=MB, expires_s=300, content_type="video/mp4")
    other_key = _post(post, b"x", key="sos/d-2/clip.mp4")
    assert other_key.status_code == 403 and "Policy Condition failed" in other_key.text
    other_type = _post(post, b"x", **{"Content-Type": "text/html"})
    assert other_type.status_code == 403 and "Policy Condition failed" in other_type.text
    extra = _post(post, b"x", acl="public-read")
    assert extra.status_code == 403 and "Extra input fields: acl" in extra.text
    assert _post(post, b"x").status_code == 204


def test_an_expired_policy_is_refused():
    import base64

    policy = base64.b64encode(json.dumps({"expiration": "2020-01-01T00:00:00Z", "conditions": []}).encode()).decode()
    with pytest.raises(PolicyRefusal) as refusal:
        check_post(policy, {}, "b", 1, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert refusal.value.status == 403 and "expired" in refusal.value.message
    fresh = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ok = base64.b64encode(json.dumps({"expiration": fresh, "conditions": [["starts-with", "$key", "a/"]]}).encode())
    check_post(ok.decode(), {"key": "a/b"}, "b", 1)


def test_s3_to_sqs_notifications_carry_the_fields_s3_sends(emulator):
    # GIVEN an object with a space and Korean characters in its key, put into the versioned X-ray bucket
    key = "uploads/hc-1/s-2/흉부 영상.dcm"
    put = emulator["s3"].put_object(Bucket=CATALOG.bucket("xray"), Key=key, Body=b"DICM")
    queue_url = emulator["sqs"].get_queue_url(QueueName=CATALOG.queue("xray-uploads").name)["QueueUrl"]
    # WHEN the notification arrives on the queue (after the s3:TestEvent)
    records: list[dict[str, Any]] = []
    for _ in range(5):
        for message in emulator["sqs"].receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                       WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(message["Body"])
            records += [r for r in body.get("Records", []) if unquote_plus(r["s3"]["object"]["key"]) == key]
        if records:
            break
    # THEN it is a complete S3 event: the object's real version id, a sequencer, eTag, identity and request data
    assert len(records) == 1
    record = records[0]
    parse(event={"Records": [record]}, model=S3Model)
    obj = record["s3"]["object"]
    assert obj["versionId"] == put["VersionId"]
    assert obj["eTag"] == put["ETag"].strip('"') and obj["size"] == 4
    assert int(obj["sequencer"], 16) > 0
    assert obj["key"] == "uploads/hc-1/s-2/%ED%9D%89%EB%B6%80+%EC%98%81%EC%83%81.dcm"  # URL-encoded, as S3 sends
    assert record["userIdentity"]["principalId"] and record["requestParameters"]["sourceIPAddress"]
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert record["eventTime"].endswith("Z")
