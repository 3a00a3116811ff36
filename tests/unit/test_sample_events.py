"""Every sample event in events/ has the shape AWS delivers, as Powertools' parser models define it.

The local platform builds its events the same way, so the pump's and the scheduler's events are
checked against the same models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    EventBridgeModel,
    S3Model,
    SqsModel,
)

from local.pump import _record
from local.scheduler import scheduled_event

EVENTS = Path(__file__).resolve().parents[2] / "events"
MODEL_FOR: dict[str, Any] = {"sqs": SqsModel, "s3_sqs": SqsModel, "schedule": EventBridgeModel, "batch": EventBridgeModel,
             "apigw": APIGatewayProxyEventModel}


def sample_events() -> list[Path]:
    return sorted(EVENTS.glob("*/*.json"))


def test_every_trigger_kind_has_a_sample():
    assert {p.parent.name for p in sample_events()} == set(MODEL_FOR)


@pytest.mark.parametrize("path", sample_events(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_parses_with_the_powertools_model(path):
    parse(event=json.loads(path.read_text()), model=MODEL_FOR[path.parent.name])


def test_s3_notifications_inside_sqs_samples_are_real_s3_events():
    for path in (EVENTS / "s3_sqs").glob("*.json"):
        body = json.loads(json.loads(path.read_text())["Records"][0]["body"])
        if body.get("Event") == "s3:TestEvent":
            continue
        parse(event=body, model=S3Model)


def test_the_pump_builds_records_the_sqs_model_accepts():
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "{}", "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
               "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1763800000000",
                              "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1763800000001"},
               "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "sos"}}}
    event = {"Records": [_record(message, "arn:aws:sqs:ap-northeast-2:123456789012:q", "ap-northeast-2")]}
    parsed = parse(event=event, model=SqsModel)
    assert parsed.Records[0].attributes.ApproximateReceiveCount == "2"
    assert parsed.Records[0].messageAttributes["kind"].stringValue == "sos"


def test_the_scheduler_builds_events_the_eventbridge_model_accepts():
    parsed = parse(event=scheduled_event("gt-local-footage-retention", "ap-northeast-2"), model=EventBridgeModel)
    assert parsed.detail_type == "Scheduled Event"


def test_the_local_gateway_builds_proxy_events_with_the_callers_address():
    from app import app
    from local.gateway import ApiGateway

    gateway = ApiGateway(app, port=0)
    try:
        event = gateway.build_event("GET", "/v1/devices/dev-1?x=1&x=2", {"Authorization": "Bearer t"}, None, "127.0.0.3")
    finally:
        gateway.stop()
    parsed = parse(event=event, model=APIGatewayProxyEventModel)
    assert str(parsed.requestContext.identity.sourceIp) in {"127.0.0.3", "127.0.0.3/32"}  # an IPvAnyNetwork field
    assert parsed.pathParameters == {"device_id": "dev-1"}
    assert parsed.multiValueQueryStringParameters == {"x": ["1", "2"]}
    assert parsed.resource == "/v1/devices/{device_id}"
