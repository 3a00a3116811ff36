"""The one S3-via-SQS reader, on the AWS documentation's event shapes (events/s3_sqs/)."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from conftest import load_event

from chalicelib.s3_events import S3ObjectRef, s3_objects


def test_the_documented_notification_names_its_object():
    record = SQSRecord(load_event("s3_sqs/aws_doc_xray_upload.json")["Records"][0])
    assert s3_objects(record) == [S3ObjectRef(bucket="amzn-s3-demo-bucket", key="uploads/hc-1/xr-0000000000000000/image.png",
                                              etag="d41d8cd98f00b204e9800998ecf8427e",
                                              version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko", size=1024)]


def test_keys_arrive_url_encoded_and_are_decoded():
    raw = load_event("s3_sqs/aws_doc_xray_upload.json")["Records"][0]
    body = json.loads(raw["body"])
    body["Records"][0]["s3"]["object"]["key"] = "monitor/CAM-1/1763800000000-%EC%A0%95%EB%AC%B8+cam.jpg"
    body["Records"][0]["s3"]["object"]["eTag"] = '"quoted"'
    (found,) = s3_objects(SQSRecord({**raw, "body": json.dumps(body)}))
    assert (found.key, found.etag) == ("monitor/CAM-1/1763800000000-정문 cam.jpg", "quoted")


def test_the_test_event_names_nothing_and_a_foreign_body_is_refused():
    assert s3_objects(SQSRecord(load_event("s3_sqs/test_event.json")["Records"][0])) == []
    foreign = {**load_event("s3_sqs/test_event.json")["Records"][0], "body": json.dumps({"hello": "world"})}
    with pytest.raises(ValueError, match="not an S3 event notification"):
        s3_objects(SQSRecord(foreign))
