"""A disaster-type event reported by an operator over the API reaches the disaster situation room's webhook on
loopback through the same delivery path as an SOS (queue, consumer, signature, receipt), audited."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

import pytest
from agency_support import sqs_records, start_receiver
from xray_api_support import call

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.dispatch import AgencyTarget, DeliveryStatus, DispatchAck
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from functions.agency_dispatch import handler as delivery
from local.lambda_runtime import LambdaContext as RuntimeContext

JAMSIL = {"lat": 37.5133, "lon": 127.1001, "accuracy_m": 30.0}  # Songpa-gu


LambdaContext = partial(RuntimeContext, function_name="gt-test-agency-dispatch", memory_limit_in_mb=256)


def queued(aws: Any) -> list[dict[str, Any]]:
    return sqs_records(aws, "agency-dispatch")


@pytest.fixture
def world(aws):
    context.reset_platform()
    delivery.runtime.cache_clear()
    aws.client("sqs").purge_queue(QueueUrl=aws.queue("agency-dispatch").url)
    _, operator = create_principal(PrincipalKind.OPERATOR, "Songpa operator", principal_id="op-songpa",
                                   attributes={"district": "SP"}, resources=aws)
    room = start_receiver()
    room.secret = context.platform().saferet.agencies.register(AgencyTarget.DISASTER_ROOM, room.url,
                                                               principal_id="disaster-room").secret
    yield operator, room
    assert room.server is not None
    room.server.shutdown()
    delivery.runtime.cache_clear()
    context.reset_platform()


def test_an_operator_reported_flood_reaches_the_disaster_room_signed_and_is_acknowledged(aws, world):
    operator, room = world
    # WHEN a Songpa operator reports a flood
    status, _, reported = call("POST", "/v1/disaster-events", operator, body=json.dumps(
        {"event_type": "flood", "location": JAMSIL, "note": "잠실 지하차도 침수"}).encode(),
        headers=[("Content-Type", "application/json")])
    assert status == 201, reported
    assert reported["event_id"].startswith("dis-") and reported["agency"] == "disaster-room"
    assert reported["district"] == "SP" and len(reported["cameras"]) <= 5
    # AND the dispatch consumer runs
    assert delivery.lambda_handler({"Records": queued(aws)}, LambdaContext()) == {"batchItemFailures": []}
    # THEN the disaster room received it, signed (its verifier passed), with a Korean line in KST
    assert room.bad_signatures == 0
    [got] = room.received
    body = got["body"]
    assert got["dispatch_id"] == reported["event_id"] and body["type"] == "disaster"
    assert body["event_type"] == "flood" and body["location"] == JAMSIL and body["reported_by"] == "op-songpa"
    assert "침수" in body["summary"] and "송파구" in body["summary"] and "KST" in body["summary"]
    assert body["occurred_at"].endswith("Z") or "+" in body["occurred_at"]
    # AND it is held open until the disaster room acknowledges it, like every dispatch
    agencies = context.platform().saferet.agencies
    assert agencies.get(reported["event_id"]).status is DeliveryStatus.DELIVERED
    acked = agencies.ack(reported["event_id"], "disaster-room", DispatchAck(receipt_id="DSR-2026-7"),
                         time.time_ns() // 1_000_000)
    assert acked.status is DeliveryStatus.ACKNOWLEDGED
    # AND the report is audited with the operator as actor
    since_ms = int((time.time() - 3600) * 1000)
    [audit] = [r for r in AuditLog(aws.table("audit")).records(since_ms=since_ms) if r.action == "disaster.reported"]
    assert audit.actor == "op-songpa" and audit.subject == reported["event_id"]
    assert audit.details["agency"] == "disaster-room"


def test_a_non_disaster_type_is_refused(aws, world):
    operator, _ = world
    status, _, body = call("POST", "/v1/disaster-events", operator, body=json.dumps(
        {"event_type": "fight", "location": JAMSIL}).encode(), headers=[("Content-Type", "application/json")])
    assert status == 422 and body["error"]["code"] == "validation_failed"
    assert queued(aws) == []
