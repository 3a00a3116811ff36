"""The SOS escalation consumer and the trip watchdog, invoked with sample events under moto."""

from __future__ import annotations

import copy
import json
import time
from functools import partial
from typing import Any

import pytest
from agency_support import sos_dispatches
from conftest import load_event

from chalicelib.models.common import Location
from chalicelib.models.device import Device
from chalicelib.models.sos import IncidentStatus, SosRequest
from chalicelib.models.trip import TripStart
from chalicelib.services.owned import OwnedRecords
from chalicelib.wiring.saferet import build_safe_return
from functions.sos_escalation import handler as escalation
from functions.trip_watchdog import handler as watchdog
from local.gps_tracks import CITY_HALL, GWANGHWAMUN
from local.lambda_runtime import LambdaContext as RuntimeContext

OWNER = "app-alice"


LambdaContext = partial(RuntimeContext, function_name="gt-test-sos-escalation", memory_limit_in_mb=256)


@pytest.fixture
def handlers(aws):
    """The handlers' per-container services rebuilt inside this test's moto."""
    escalation.sos_service.cache_clear()
    watchdog.safe_return.cache_clear()
    yield build_safe_return(aws)
    escalation.sos_service.cache_clear()
    watchdog.safe_return.cache_clear()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def sos_event(*incident_ids: str) -> dict[str, Any]:
    template = load_event("sqs/sos_escalation.json")["Records"][0]
    records = []
    for n, incident_id in enumerate(incident_ids):
        record = copy.deepcopy(template)
        record["messageId"] = f"msg-{n}"
        record["body"] = json.dumps({"incident_id": incident_id, "cancel_deadline_ms": 0}) \
            if incident_id != "garbage" else "{not json"
        records.append(record)
    return {"Records": records}


def report(services, incident_id: str, *, ago_s: int):
    """An SOS made ``ago_s`` seconds ago with the default 10 s window."""
    request = SosRequest(location=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]))
    return services.sos.create(OWNER, incident_id, request, now_ms() - ago_s * 1000)


def test_duplicate_delivery_dispatches_to_112_exactly_once(handlers, aws):
    # GIVEN an SOS whose cancel window closed
    incident = report(handlers, "inc-00000000000000d1", ago_s=11)
    event = sos_event(incident.incident_id)
    # WHEN the same escalation message is delivered twice
    first = escalation.lambda_handler(event, LambdaContext())
    second = escalation.lambda_handler(event, LambdaContext())
    # THEN both succeed and exactly one 112 message exists
    assert first == second == {"batchItemFailures": []}
    dispatched = sos_dispatches(aws)
    assert [d["incident_id"] for d in dispatched] == [incident.incident_id]
    assert handlers.sos.get(incident.incident_id, OWNER).status is IncidentStatus.ESCALATED


def test_a_cancelled_sos_and_a_malformed_message_are_acknowledged_without_dispatch(handlers, aws):
    incident = report(handlers, "inc-00000000000000d2", ago_s=5)
    handlers.sos.cancel(OWNER, incident.incident_id, now_ms())
    result = escalation.lambda_handler(sos_event(incident.incident_id, "garbage"), LambdaContext())
    assert result == {"batchItemFailures": []}
    assert sos_dispatches(aws) == []


def test_a_transient_failure_fails_only_its_record(handlers, aws):
    # GIVEN two due incidents, and a dispatch queue that disappears before the batch runs
    good = report(handlers, "inc-00000000000000d3", ago_s=11)
    handlers.sos.cancel(OWNER, good.incident_id, now_ms() - 10_500)  # cancelled in time
    bad = report(handlers, "inc-00000000000000d4", ago_s=11)
    escalation.sos_service()  # the warm container already holds the queue's URL
    sqs = aws.client("sqs")
    sqs.delete_queue(QueueUrl=aws.queue("agency-dispatch").url)
    # WHEN the batch is processed
    result = escalation.lambda_handler(sos_event(good.incident_id, bad.incident_id), LambdaContext())
    # THEN only the record that could not dispatch is reported for retry
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    claimed = handlers.sos.get(bad.incident_id, OWNER)
    assert claimed.status is IncidentStatus.ESCALATED
    assert claimed.dispatched_ms is None  # claimed, not yet dispatched: the redelivery will finish it


def test_watchdog_escalates_overdue_sos_and_alerts_on_silent_trips_once(handlers, aws):
    # GIVEN an SOS past its window whose delayed message never came, and a trip silent for 6 minutes
    incident = report(handlers, "inc-00000000000000d5", ago_s=30)
    device = Device(device_id="dev-00000000000000e1", owner_id=OWNER, platform="android", guardians=[],
                    created_ms=now_ms())
    OwnedRecords(aws.table("records"), "DEVICE").create(device.device_id, OWNER, device.model_dump(mode="json"),
                                                         created_ms=device.created_ms)
    trip = handlers.trips.start(OWNER, "trip-00000000000000e1", TripStart(
        device_id=device.device_id, origin=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]),
        destination=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1])), now_ms() - 6 * 60_000)
    event = load_event("schedule/trip_watchdog.json")
    # WHEN the schedule fires twice
    first = watchdog.lambda_handler(event, LambdaContext(function_name="gt-test-trip-watchdog"))
    second = watchdog.lambda_handler(event, LambdaContext(function_name="gt-test-trip-watchdog"))
    # THEN one escalation, one silent alert, nothing new the second time
    assert first == {"trips": 1, "alerts": 1, "escalated": 1, "errors": 0}
    assert second == {"trips": 1, "alerts": 0, "escalated": 0, "errors": 0}
    assert [d["incident_id"] for d in sos_dispatches(aws)] == [incident.incident_id]
    assert [a.alert_id for a in handlers.alerts.recent() if a.trip_id] == [f"{trip.trip_id}.silent"]
