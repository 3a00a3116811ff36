"""The reducer handler reads the search id from the S3-via-SQS done-marker notification."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from conftest import load_event

from functions.search_reducer.handler import searches_of


def test_done_marker_notification_names_its_search():
    # GIVEN the sample notification (key URL-encoded, as S3 → SQS delivers it)
    record = SQSRecord(load_event("s3_sqs/search_shard_done.json")["Records"][0])
    # THEN the search id is decoded from searches/<id>/shards/<n>/done.json
    assert searches_of(record) == ["5f0c6e1a2b3c4d5e6f708192a3b4c5d6"]


def test_test_event_and_foreign_keys_name_no_search():
    assert searches_of(SQSRecord(load_event("s3_sqs/test_event.json")["Records"][0])) == []
    event = load_event("s3_sqs/search_shard_done.json")["Records"][0]
    event = {**event, "body": event["body"].replace("searches%2F5f0c", "elsewhere%2F5f0c")}
    assert searches_of(SQSRecord(event)) == []
