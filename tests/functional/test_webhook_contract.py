"""The published webhook contract (openapi.json ``webhooks``) against real deliveries: each kind of body an agency
receives is produced by its own path (SOS, evidence follow-up, disaster report, link bundle, search answer), POSTed
by the agency-dispatch consumer to a receiver on loopback, and checked there as an integrator would check it
(tests/webhook_contract_support.py): signature by the documented scheme, declared headers, body against the
schema (exactly one payload model matches)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from agency_support import Receiver, sqs_records, start_receiver
from conftest import scheduled_event
from webhook_contract_support import Delivery, assert_per_contract, body_errors, matching_payloads, signature_valid
from xray_api_support import call

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import Location, instant
from chalicelib.models.device import Device, GuardianContact
from chalicelib.models.dispatch import AgencyTarget, DisasterReport
from chalicelib.models.footage import FootageSegment
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.search import Box, ShardResult, Sighting
from chalicelib.models.sos import SosRequest
from chalicelib.models.trip import PositionBatch, TripStart
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog, segment_key
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.search.shard import done_key, shard_key
from chalicelib.settings import get_settings
from chalicelib.wiring.saferet import build_safe_return
from chalicelib.wiring.search import running_searches, search_records
from functions.agency_dispatch import handler as delivery
from functions.search_sweeper import handler as sweeper
from functions.sos_evidence import handler as evidence
from local.gps_tracks import offset, walk
from local.keys import ensure_signing_key
from local.lambda_runtime import LambdaContext as RuntimeContext

WEBHOOK = "agency-dispatch"
GWANGHWAMUN = (37.5759, 126.9768)  # Jongno-gu
POLICE_RANGE = "127.0.0.2/32"
LambdaContext = partial(RuntimeContext, function_name="gt-test-webhook-contract", memory_limit_in_mb=256)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class World:
    aws: Any
    services: Any
    police: Receiver
    room: Receiver

    def deliver(self) -> None:
        """The agency-dispatch consumer over what SQS holds now."""
        records = sqs_records(self.aws, "agency-dispatch")
        assert records, "nothing was queued for the agencies"
        assert delivery.lambda_handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}

    def sos(self, incident_id: str, cancel_window_s: int = 0) -> Any:
        request = SosRequest(location=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]), kind="crime",  # type: ignore[arg-type]
                             cancel_window_s=cancel_window_s)
        return self.services.sos.create("app-alice", incident_id, request, now_ms())

    def upload(self, incident_id: str, ext: str = "jpg") -> str:
        key = f"sos/{incident_id}/{now_ms()}-0a1b2c3d.{ext}"
        self.aws.store("media").put(key, b"\xff\xd8\xff\xe0 photo", content_type="image/jpeg")
        return key


@pytest.fixture
def world(aws, monkeypatch, tmp_path) -> Iterator[World]:
    key_id, _, _ = ensure_signing_key(tmp_path)  # evidence links are signed edge URLs
    monkeypatch.setenv("SIGNING_KEY_SECRET", str(tmp_path / "cloudfront-signing-key.pem"))
    monkeypatch.setenv("CLOUDFRONT_KEY_PAIR_ID", key_id)
    get_settings.cache_clear()
    context.reset_platform()
    for cached in (delivery.runtime, evidence.follow_ups, sweeper.sweeper):
        cached.cache_clear()
    for queue in ("agency-dispatch", "sos-evidence"):
        aws.client("sqs").purge_queue(QueueUrl=aws.queue(queue).url)
    services = build_safe_return(aws)
    police, room = start_receiver(), start_receiver()
    # each agency holds only what registering its webhook showed it once
    police.secret = services.agencies.register(AgencyTarget.POLICE, police.url, principal_id="police-112",
                                               cidr=POLICE_RANGE).secret
    room.secret = services.agencies.register(AgencyTarget.DISASTER_ROOM, room.url,
                                             principal_id="disaster-room").secret
    yield World(aws, services, police, room)
    for receiver in (police, room):
        assert receiver.server is not None
        receiver.server.shutdown()
    for cached in (delivery.runtime, evidence.follow_ups, sweeper.sweeper):
        cached.cache_clear()
    context.reset_platform()
    get_settings.cache_clear()


def received(receiver: Receiver, model: str) -> dict[str, Any]:
    """The one POST the receiver got, checked against the contract; exactly ``model`` of the alternatives matches."""
    [post] = receiver.posts
    body = assert_per_contract(WEBHOOK, post, receiver.secret)
    assert matching_payloads(WEBHOOK, body) == [model]
    assert post.header("X-GT-Delivery-Round") == "1"
    return body


def test_an_sos_with_its_evidence_links_is_delivered_as_published(world):
    # GIVEN an SOS inside its cancel window, and a photo the phone uploaded in it
    incident = world.sos("inc-00000000000c0a01", cancel_window_s=30)
    key = world.upload(incident.incident_id)
    # WHEN the window closes and the dispatch is delivered
    world.services.sos.escalate(incident.incident_id, incident.cancel_deadline_ms)
    world.deliver()
    # THEN police 112 got a Dispatch112 as published, with the evidence link added at delivery
    body = received(world.police, "Dispatch112")
    assert body["incident_id"] == incident.incident_id and [link["key"] for link in body["evidence"]] == [key]
    assert world.police.posts[0].header("X-GT-Dispatch-Id") == incident.incident_id


def test_an_sos_during_a_walk_home_carries_the_walk_as_published(world):
    # GIVEN Alice walking home with her registered phone, her fixes recorded
    started = now_ms()
    device = Device(device_id="dev-00000000000000c1", owner_id="app-alice", platform="ios", created_ms=started,
                    guardians=[GuardianContact(name="엄마", phone="+821011112222")])
    OwnedRecords(world.aws.table("records"), "DEVICE").create(device.device_id, "app-alice",
                                                               device.model_dump(mode="json"), created_ms=started)
    home = offset(GWANGHWAMUN, 600, 0)
    trip = world.services.trips.start("app-alice", "trip-00000000000000c1", TripStart(
        device_id=device.device_id, origin=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]),
        destination=Location(lat=home[0], lon=home[1])), started)
    world.services.trips.add_positions("app-alice", trip.trip_id, PositionBatch(
        positions=walk([GWANGHWAMUN, home], start_ms=started - 60_000, seconds=60)), now_ms())
    # WHEN she presses SOS on the way and it goes to 112 at once
    incident = world.services.sos.create("app-alice", "inc-00000000000c0a06", SosRequest(
        location=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]), kind="crime",  # type: ignore[arg-type]
        device_id=device.device_id, trip_id=trip.trip_id, cancel_window_s=0), now_ms())
    world.deliver()
    # THEN the Dispatch112 police receive carries her walk (route ends, last fix) as the contract publishes it
    body = received(world.police, "Dispatch112")
    assert body["incident_id"] == incident.incident_id
    assert body["trip"]["trip_id"] == trip.trip_id and body["trip"]["last_fix"] is not None


def test_an_evidence_follow_up_with_its_link_is_delivered_as_published(world, aws):
    # GIVEN an SOS already delivered to police 112
    incident = world.sos("inc-00000000000c0a02")
    world.deliver()
    world.police.posts.clear()
    # WHEN the phone uploads a photo afterwards (S3 notifies the evidence queue) and the follow-up is delivered
    key = world.upload(incident.incident_id)
    notices = [r for r in sqs_records(aws, "sos-evidence") if "s3:TestEvent" not in r["body"]]
    assert evidence.lambda_handler({"Records": notices}, LambdaContext()) == {"batchItemFailures": []}
    world.deliver()
    # THEN it is an EvidenceFollowUp as published, links included
    body = received(world.police, "EvidenceFollowUp")
    assert body["evidence_keys"] == [key] and [link["key"] for link in body["evidence"]] == [key]


def test_a_disaster_report_is_delivered_as_published(world):
    # WHEN an operator reports a flood and it is delivered to the disaster room
    report = DisasterReport(event_type="flood", location=Location(lat=37.5133, lon=127.1001), note="침수")
    dispatch = world.services.disasters.report("op-songpa", None, report, now_ms())
    world.deliver()
    # THEN the room got a DisasterDispatch as published
    body = received(world.room, "DisasterDispatch")
    assert body["event_id"] == dispatch.event_id and world.police.posts == []


def test_an_operators_link_bundle_is_delivered_as_published(world, aws):
    # GIVEN police 112 as an agency principal with its range, cameras near an SOS, and an operator handling it
    create_principal(PrincipalKind.AGENCY, "Seoul police 112", principal_id="police-112", cidrs=(POLICE_RANGE,),
                     attributes={"agency_kind": "police"}, resources=aws)
    _, operator = create_principal(PrincipalKind.OPERATOR, "Jongno operator", principal_id="op-jongno",
                                   attributes={"district": "JN"}, resources=aws)
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=aws.settings.camera_index_key)
    cameras = [f"JN-{n}" for n in range(3)]
    registry.load_catalog([Camera(camera_id=c, kind=CameraKind.CRIME_PREVENTION, district="Jongno-gu",
                                  lat=GWANGHWAMUN[0] + n * 0.0005, lon=GWANGHWAMUN[1]) for n, c in enumerate(cameras)])
    start = now_ms() - 600_000
    footage = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings)
    segments = [FootageSegment(camera_id=c, start_ms=start, end_ms=start + 60_000, key=segment_key(c, start), fps=10,
                               width=768, height=576, bytes=1) for c in cameras]
    aws.table("footage").put_many([{**s.model_dump(), "expires_at": footage.expires_at(s.end_ms)} for s in segments])
    incident = world.sos("inc-00000000000c0a03")
    world.deliver()
    world.police.posts.clear()
    # WHEN the operator pushes the recorded minute to 112 and the bundle is delivered
    window = {"start": instant(start).isoformat(), "end": instant(start + 60_000).isoformat()}
    status, _, grant = call("POST", f"/v1/incidents/{incident.incident_id}/link-bundles", operator,
                            resource="/v1/incidents/{incident_id}/link-bundles",
                            path_parameters={"incident_id": incident.incident_id},
                            body=json.dumps({"agency": "112", "mode": "recorded", "window": window,
                                             "purpose": "CRIME-RESPONSE"}).encode(),
                            headers=[("Content-Type", "application/json")])
    assert status == 201, grant
    world.deliver()
    # THEN police 112 got the VideoLinkGrant as published
    body = received(world.police, "VideoLinkGrant")
    assert body["request_id"] == grant["request_id"] and len(body["links"]) == len(grant["links"]) > 0


def test_a_missing_person_search_answer_is_delivered_as_published(world, aws):
    # GIVEN a search whose batch job was lost, with one of its two shards finished (a person seen twice on a
    # camera), past its deadline
    search_id, t0 = "srch-" + "c0" * 16, now_ms() - 3_600_000
    deadline = t0 + 1_800_000
    media = aws.store("media")
    camera = {"camera_id": "JN-0", "lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1], "distance_m": 120.0,
              "reachable_from_ms": t0, "footage_seconds": 30.0}
    plan = {"search_id": search_id, "cameras": [camera], "excluded": {}, "shards": [[], []], "window_start_ms": t0,
            "window_end_ms": t0 + 600_000, "max_speed_mps": 1.6}
    seen = [Sighting(camera_id="JN-0", time_ms=t0 + 60_000 + n * 500, box=Box(x1=10, y1=20, x2=60, y2=180),
                     score=0.8, color=0.8, upper="red", lower="black") for n in range(2)]
    media.put(f"searches/{search_id}/plan.json", json.dumps(plan).encode(), content_type="application/json")
    search_records(aws).create(search_id, "police-112", {"status": "running", "shards": 2, "footage_seconds": "60",
                                                          "deadline_ms": deadline, "job_id": "job-expired"},
                               created_ms=t0)
    running_searches(aws).add(search_id, deadline)
    shard = ShardResult(search_id=search_id, index=0, sightings=seen, footage_seconds=30, frames_decoded=300,
                        frames_searched=60, people_detected=0, detector="hog", embedder="color-histogram",
                        elapsed_s=1.0)
    media.put(shard_key(search_id, 0), shard.model_dump_json().encode(), content_type="application/json")
    media.put(done_key(search_id, 0), b"{}", content_type="application/json")
    # WHEN the sweeper ends it and the answer is delivered to 112
    ended = sweeper.lambda_handler(scheduled_event("schedule/search_sweeper.json", deadline + 60_000),
                                   LambdaContext(function_name="search-sweeper"))
    assert ended == {"finalised": [search_id], "errors": []}
    world.deliver()
    # THEN police 112 got a SearchAnswer as published
    body = received(world.police, "SearchAnswer")
    assert body["search_id"] == search_id and body["partial"] is True
    assert [hit["camera_id"] for hit in body["hits"]] == [stop["camera_id"] for stop in body["route"]] == ["JN-0"]


def test_the_check_refuses_what_the_contract_does_not_promise(world):
    """The receiver's check is not vacuous: a key the contract does not name, a missing one, a wrong type, a
    changed byte or another secret each fail it."""
    world.sos("inc-00000000000c0a04")
    world.deliver()
    [post] = world.police.posts
    body = json.loads(post.body)
    assert body_errors(WEBHOOK, body) == []
    assert body_errors(WEBHOOK, {**body, "priority": "high"}) != []
    assert body_errors(WEBHOOK, {k: v for k, v in body.items() if k != "incident_id"}) != []
    assert body_errors(WEBHOOK, {**body, "escalated_ms": str(body["escalated_ms"])}) != []
    assert matching_payloads(WEBHOOK, {**body, "priority": "high"}) == []
    assert signature_valid(world.police.secret, post)
    assert not signature_valid(world.police.secret, Delivery(headers=post.headers, body=post.body + b" "))
    assert not signature_valid(world.room.secret, post)
