"""Agency delivery with receipts: the agency-dispatch consumer against a real webhook on loopback."""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from agency_support import Receiver, sqs_records, start_receiver
from conftest import load_event

from chalicelib.errors import Conflict, NotFound
from chalicelib.models.alert import AlertKind
from chalicelib.models.common import Location
from chalicelib.models.dispatch import AgencyTarget, DeliveryStatus, DispatchAck
from chalicelib.models.sos import SosRequest
from chalicelib.wiring.saferet import build_safe_return
from functions.agency_dispatch import handler as delivery
from functions.dispatch_receipts import handler as receipts
from local.lambda_runtime import LambdaContext as RuntimeContext

OWNER = "app-alice"
GWANGHWAMUN = (37.5759, 126.9768)  # in Jongno-gu
LOTTE_WORLD_TOWER = (37.5126, 127.1025)  # in Songpa-gu
HONGIK_STATION = (37.5572, 126.9245)  # in Mapo-gu


LambdaContext = partial(RuntimeContext, function_name="gt-test-agency-dispatch", memory_limit_in_mb=256)


@dataclass
class World:
    aws: Any
    services: Any
    police: Receiver
    fire: Receiver

    def receive(self) -> list[dict[str, Any]]:
        """What SQS hands the consumer now: real messages (real receipt handles) in the Lambda event shape."""
        return sqs_records(self.aws, "agency-dispatch")

    def deliver(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = delivery.lambda_handler({"Records": records}, LambdaContext())
        return result

    def sos(self, incident_id: str, where: tuple[float, float], kind: str, *, ago_s: int = 0) -> Any:
        request = SosRequest(location=Location(lat=where[0], lon=where[1]), kind=kind, cancel_window_s=0)  # type: ignore[arg-type]
        return self.services.sos.create(OWNER, incident_id, request, now_ms() - ago_s * 1000)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def world(aws) -> Iterator[World]:
    delivery.runtime.cache_clear()
    receipts.agencies.cache_clear()
    services = build_safe_return(aws)
    # each test counts exactly its own deliveries: nothing another test left in the worker's moto may reach it
    aws.client("sqs").purge_queue(QueueUrl=aws.queue("agency-dispatch").url)
    police, fire = start_receiver(), start_receiver()
    # each agency holds only what registration showed it once
    police.secret = services.agencies.register(AgencyTarget.POLICE, police.url, principal_id="police-112").secret
    fire.secret = services.agencies.register(AgencyTarget.FIRE, fire.url, principal_id="fire-119").secret
    yield World(aws, services, police, fire)
    for receiver in (police, fire):
        assert receiver.server is not None
        receiver.server.shutdown()
    delivery.runtime.cache_clear()
    receipts.agencies.cache_clear()


def test_a_dispatch_arrives_signed_and_the_agency_acknowledges_it(world):
    # GIVEN a crime SOS with no cancel window
    incident = world.sos("inc-0000000000000a01", GWANGHWAMUN, "crime")
    # WHEN the consumer runs the queued delivery
    assert world.deliver(world.receive()) == {"batchItemFailures": []}
    # THEN police 112 received it once, with a signature their own verifier accepts, naming the district
    assert world.police.bad_signatures == 0 and world.fire.received == []
    [got] = world.police.received
    assert got["dispatch_id"] == incident.incident_id and got["round"] == "1"
    assert got["body"]["agency"] == "112" and got["body"]["kind"] == "crime"
    assert got["body"]["district"] == {"code": "JN", "name": "Jongno-gu"}
    assert world.services.agencies.get(incident.incident_id).status is DeliveryStatus.DELIVERED
    # WHEN police acknowledge with their case number (twice: a retry of the same receipt is harmless)
    ack = DispatchAck(receipt_id="SMPA-2026-118842", officer_id="kim-1234")
    first = world.services.agencies.ack(incident.incident_id, "police-112", ack, now_ms())
    again = world.services.agencies.ack(incident.incident_id, "police-112", ack, now_ms())
    # THEN the receipt is recorded and the dispatch is closed
    assert first == again
    assert first.status is DeliveryStatus.ACKNOWLEDGED and first.receipt_id == "SMPA-2026-118842"
    # AND nobody else can acknowledge it, nor replace the receipt
    with pytest.raises(NotFound):
        world.services.agencies.ack(incident.incident_id, "fire-119", ack, now_ms())
    with pytest.raises(Conflict):
        world.services.agencies.ack(incident.incident_id, "police-112", DispatchAck(receipt_id="other"), now_ms())


def test_an_agency_that_acknowledges_before_answering_the_post_keeps_its_receipt(world):
    # GIVEN police 112's system acknowledges each dispatch before it even answers the webhook POST
    acks: list[DeliveryStatus] = []
    receipt = DispatchAck(receipt_id="SMPA-FAST-1")
    world.police.on_receipt = lambda dispatch_id: acks.append(
        world.services.agencies.ack(dispatch_id, "police-112", receipt, now_ms()).status)
    incident = world.sos("inc-0000000000000a09", GWANGHWAMUN, "crime")
    # WHEN the consumer delivers (its "delivered" write now races the receipt)
    assert world.deliver(world.receive()) == {"batchItemFailures": []}
    # THEN the receipt stands: the delivery write neither fails the record nor overwrites the acknowledgement
    assert acks == [DeliveryStatus.ACKNOWLEDGED]
    record = world.services.agencies.get(incident.incident_id)
    assert record.status is DeliveryStatus.ACKNOWLEDGED and record.receipt_id == "SMPA-FAST-1"


def test_a_forged_signature_is_refused_by_the_receiver(world):
    # GIVEN the receiver holds a secret that is not the one the platform signs with
    world.police.secret = secrets.token_hex(32)
    world.sos("inc-0000000000000a02", GWANGHWAMUN, "other")
    # WHEN delivered THEN the receiver refuses it and the record is left for retry
    records = world.receive()
    assert world.deliver(records) == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert world.police.bad_signatures == 1 and world.police.received == []


def test_an_agency_that_is_down_gets_the_dispatch_after_recovery_exactly_once(world):
    # GIVEN police 112's system is down
    world.police.up = False
    incident = world.sos("inc-0000000000000a03", LOTTE_WORLD_TOWER, "crime")
    records = world.receive()
    # WHEN the consumer tries
    tried = time.monotonic()
    result = world.deliver(records)
    # THEN only that record fails, and SQS holds it back (backoff) instead of handing it straight back
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert world.police.refused == 1 and world.police.received == []
    back = world.receive()
    assert back == [] or time.monotonic() - tried >= delivery.backoff_s(1)  # a stalled (loaded) worker may pass it
    record = world.services.agencies.get(incident.incident_id)
    assert record.status is DeliveryStatus.QUEUED and record.last_error == "webhook answered 503"
    # WHEN the agency recovers and the message comes back (the same record, as SQS redelivers it)
    world.police.up = True
    assert world.deliver(records) == {"batchItemFailures": []}
    # AND SQS delivers it once more (at-least-once)
    assert world.deliver(records) == {"batchItemFailures": []}
    # THEN the agency received it exactly once
    assert [r["dispatch_id"] for r in world.police.received] == [incident.incident_id]
    assert world.police.duplicates == 0
    assert world.services.agencies.get(incident.incident_id).status is DeliveryStatus.DELIVERED


def test_an_unacknowledged_dispatch_raises_the_urgent_alert_and_is_sent_again(world):
    # GIVEN a dispatch delivered 5 minutes ago that nobody acknowledged (the deadline is 2 minutes)
    incident = world.sos("inc-0000000000000a04", HONGIK_STATION, "crime", ago_s=300)
    world.deliver(world.receive())
    # WHEN the receipts schedule runs, twice
    first = receipts.lambda_handler(load_event("schedule/aws_doc_scheduled_event.json"),
                                    LambdaContext(function_name="gt-test-dispatch-receipts"))
    second = receipts.lambda_handler(load_event("schedule/aws_doc_scheduled_event.json"),
                                     LambdaContext(function_name="gt-test-dispatch-receipts"))
    # THEN one urgent alert reaches the control center, for the district where it happened, in Korean
    assert first == {"resent": 1} and second == {"resent": 0}
    [alert] = [a for a in world.services.alerts.recent() if a.kind is AlertKind.DISPATCH_UNACKNOWLEDGED]
    assert alert.incident_id == incident.incident_id and alert.district == "MP"
    assert "미확인" in alert.reason and "경찰(112)" in alert.reason
    # AND the dispatch goes out again as round 2 (the receiver de-duplicates on the dispatch id)
    assert world.deliver(world.receive()) == {"batchItemFailures": []}
    assert world.police.duplicates == 1
    assert world.services.agencies.get(incident.incident_id).round == 2


@pytest.mark.parametrize(("kind", "where", "agency", "district"), [
    ("fire", LOTTE_WORLD_TOWER, "119", "SP"),
    ("medical", HONGIK_STATION, "119", "MP"),
    ("crime", GWANGHWAMUN, "112", "JN"),
    ("fall", LOTTE_WORLD_TOWER, "112", "SP"),
    ("other", HONGIK_STATION, "112", "MP"),
])
def test_each_kind_reaches_its_agency_tagged_with_its_district(world, kind, where, agency, district):
    incident = world.sos(f"inc-{kind.encode().hex():0>16}", where, kind)  # one id per kind
    assert world.deliver(world.receive()) == {"batchItemFailures": []}
    receiver, other = (world.fire, world.police) if agency == "119" else (world.police, world.fire)
    [got] = receiver.received
    assert other.received == []
    assert got["body"]["incident_id"] == incident.incident_id and got["body"]["agency"] == agency
    assert got["body"]["district"]["code"] == district == incident.district.code
    # the control center's alert for it carries the district too (operators filter by it)
    assert {a.district for a in world.services.alerts.recent(district=district)} == {district}
    assert world.services.sos.recent(district=district)[0].incident_id == incident.incident_id


def test_a_malformed_dispatch_message_is_dropped(world):
    record = copy.deepcopy(load_event("sqs/plain_message.json")["Records"][0])
    record["body"] = json.dumps({"not": "a dispatch"})
    assert world.deliver([record]) == {"batchItemFailures": []}


def test_agency_secrets_are_derived_shown_once_and_rotated_through_the_cli(world, aws, capsys):
    # GIVEN police 112 registered (the fixture) WHEN the registry is read back
    stored = json.dumps(list(aws.table("records").scan()), default=str)
    # THEN no secret is stored anywhere, only its version
    assert world.police.secret not in stored and world.fire.secret not in stored
    assert world.services.agencies.endpoint(AgencyTarget.POLICE).key_version == 1
    # WHEN the admin rotates police 112's secret with the CLI
    from chalicelib import cli
    assert cli.main(["agency", "rotate", "--target", "112"]) == 0
    printed = capsys.readouterr().out
    new_secret = printed.split("give it to the agency): ")[1].split()[0]
    assert new_secret != world.police.secret and "key version 2" in printed
    # THEN a dispatch signed now fails the old secret at the receiver
    world.sos("inc-0000000000000a11", GWANGHWAMUN, "crime")
    records = world.receive()
    assert world.deliver(records)["batchItemFailures"] == [{"itemIdentifier": records[0]["messageId"]}]
    assert world.police.bad_signatures == 1
    # AND verifies with the new one (the same message, redelivered by SQS)
    world.police.secret = new_secret
    assert world.deliver(records) == {"batchItemFailures": []}
    assert [r["dispatch_id"] for r in world.police.received] == ["inc-0000000000000a11"]
    assert new_secret not in json.dumps(list(aws.table("records").scan()), default=str)
    # AND the rotation is audited without the secret
    from chalicelib.services.audit import AuditLog
    rotated = [r for r in AuditLog(aws.table("audit")).records(since_ms=now_ms() - 60_000)
               if r.action == "agency.webhook.rotated"]
    assert [r.details["key_version"] for r in rotated] == [2] and new_secret not in json.dumps(rotated[0].details)
