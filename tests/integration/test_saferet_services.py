"""Trips, alerts and SOS services over moto: storage, notifications, the escalation state machine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from agency_support import sos_dispatches

from chalicelib.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from chalicelib.models.alert import AlertKind, AlertStatus
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import Location
from chalicelib.models.device import Device, GuardianContact
from chalicelib.models.sos import EvidenceRequest, IncidentStatus, SosRequest
from chalicelib.models.trip import PositionBatch, TripStart
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.saferet.request_guard import IdempotencyKeys, RateLimiter
from chalicelib.wiring.saferet import SafeReturn, build_safe_return
from local.capture import capture_topic, drain
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, along, as_uploaded, offset, walk

T0 = 1_763_800_000_000
ALICE, BOB = "app-alice", "app-bob"


@dataclass
class World:
    resources: Any
    services: SafeReturn
    device_id: str
    sms_url: str
    center_url: str

    def sms(self) -> list[dict[str, Any]]:
        return drain(self.resources, self.sms_url)

    def dispatches(self) -> list[dict[str, Any]]:
        return sos_dispatches(self.resources)


@pytest.fixture
def world(aws) -> World:
    cameras = [Camera(camera_id=f"CAM-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                      lat=CITY_HALL[0] + i * 0.0015, lon=CITY_HALL[1] + 0.0004) for i in range(10)]
    registry = CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=aws.settings.camera_index_key)
    registry.load_catalog(cameras)
    device = Device(device_id="dev-00000000000000a1", owner_id=ALICE, platform="ios", created_ms=T0,
                    guardians=[GuardianContact(name="Mom", phone="+821011112222"),
                               GuardianContact(name="Dad", phone="+821033334444")])
    OwnedRecords(aws.table("records"), "DEVICE").create(device.device_id, ALICE, device.model_dump(mode="json"),
                                                         created_ms=T0)
    sms = capture_topic(aws, "guardian-sms", "capture-sms")
    center = capture_topic(aws, "control-center", "capture-center")
    return World(aws, build_safe_return(aws, registry), device.device_id, sms, center)


def start(world: World, trip_id: str = "trip-00000000000000b1", route: bool = True):
    body = TripStart(device_id=world.device_id, origin=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]),
                     destination=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]),
                     route=[Location(lat=a, lon=b) for a, b in HOME_ROUTE] if route else None)
    return world.services.trips.start(ALICE, trip_id, body, T0)


# ---------------------------------------------------------------- trips

def test_trip_start_and_arrival_text_every_guardian(world):
    # GIVEN a trip without an expected arrival
    trip = start(world)
    # THEN the arrival is computed from walking speed, and both guardians got the start message
    assert 12 * 60_000 < trip.expected_arrival_ms - T0 < 17 * 60_000
    started = world.sms()
    assert sorted(m["phone"] for m in started) == ["+821011112222", "+821033334444"]
    assert {m["kind"] for m in started} == {"trip-started"}
    assert world.services.trips.active_trip_ids() == [trip.trip_id]
    # WHEN the walker arrives
    arrived = world.services.trips.arrive(ALICE, trip.trip_id, T0 + 14 * 60_000)
    # THEN the trip is closed, no longer watched, and the guardians are told
    assert arrived.status.value == "arrived"
    assert [m["kind"] for m in world.sms()] == ["trip-arrived", "trip-arrived"]
    assert world.services.trips.active_trip_ids() == []
    with pytest.raises(Conflict):
        world.services.trips.add_positions(ALICE, trip.trip_id, PositionBatch(positions=walk(
            HOME_ROUTE, start_ms=T0 + 15 * 60_000, seconds=10)), T0 + 15 * 60_000)


def test_another_owner_can_neither_read_nor_use_a_trip_or_device(world):
    trip = start(world)
    with pytest.raises(NotFound):
        world.services.trips.get(trip.trip_id, BOB)
    with pytest.raises(NotFound):
        world.services.trips.arrive(BOB, trip.trip_id, T0)
    body = TripStart(device_id=world.device_id, origin=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]),
                     destination=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]))
    with pytest.raises(NotFound):
        world.services.trips.start(BOB, "trip-00000000000000b2", body, T0)


def test_deviating_walk_raises_one_alert_with_cameras_for_center_and_guardians(world):
    # GIVEN a trip, and a walker who leaves the route after 400 m; fixes uploaded in shuffled batches
    trip = start(world)
    world.sms()
    turn = along(HOME_ROUTE, 400)
    track = walk([CITY_HALL, HOME_ROUTE[1], turn, offset(turn, 0, 400)], start_ms=T0, seconds=700)
    batches = [as_uploaded(track[i:i + 20], seed=i) for i in range(0, len(track), 20)]
    # WHEN the batches arrive
    raised = []
    for n, batch in enumerate(batches):
        reply = world.services.trips.add_positions(ALICE, trip.trip_id, PositionBatch(positions=batch),
                                                   T0 + (n + 1) * 100_000)
        raised += reply.alerts
    # THEN exactly one off-route alert, listed for the center with the last position and cameras
    assert raised == [f"{trip.trip_id}.off-route"]
    alert = world.services.alerts.get(raised[0])
    assert alert.kind is AlertKind.OFF_ROUTE
    assert alert.last_position is not None
    assert alert.cameras
    distances = [c.distance_m for c in alert.cameras]
    assert distances == sorted(distances)
    assert world.services.trips.get(trip.trip_id, ALICE).alerts == raised
    assert world.services.trips.get(trip.trip_id, ALICE).last_fix.t_ms == track[-1].t_ms
    center = drain(world.resources, world.center_url)
    assert [m["alert_id"] for m in center] == raised
    assert {m["kind"] for m in world.sms()} == {"trip-off-route"}


def test_positions_from_the_far_future_or_before_the_trip_are_refused(world):
    trip = start(world)
    future = walk(HOME_ROUTE, start_ms=T0 + 3_600_000, seconds=10)
    with pytest.raises(ValidationFailed, match="future"):
        world.services.trips.add_positions(ALICE, trip.trip_id, PositionBatch(positions=future), T0)
    old = walk(HOME_ROUTE, start_ms=T0 - 3_600_000, seconds=10)
    with pytest.raises(ValidationFailed, match="before"):
        world.services.trips.add_positions(ALICE, trip.trip_id, PositionBatch(positions=old), T0)


def test_watchdog_check_raises_silent_and_overdue_once(world):
    # GIVEN a trip that sent one batch and then went quiet
    trip = start(world)
    world.services.trips.add_positions(ALICE, trip.trip_id, PositionBatch(positions=walk(
        HOME_ROUTE, start_ms=T0, seconds=60)), T0 + 60_000)
    # WHEN the watchdog looks 4 minutes later THEN nothing; at 7 minutes THEN silent
    assert world.services.trips.check(trip.trip_id, T0 + 4 * 60_000) == []
    assert [a.kind for a in world.services.trips.check(trip.trip_id, T0 + 7 * 60_000)] == [AlertKind.SILENT]
    # AND long after the expected arrival THEN overdue, and silent is not raised again
    late = trip.expected_arrival_ms + 11 * 60_000
    assert [a.kind for a in world.services.trips.check(trip.trip_id, late)] == [AlertKind.OVERDUE]
    assert world.services.trips.check(trip.trip_id, late + 60_000) == []


# ---------------------------------------------------------------- alerts

def test_operator_acknowledges_an_alert_once(world):
    alert = world.services.alerts.raise_alert("x.silent", AlertKind.SILENT, subject_owner_id=ALICE, reason="quiet",
                                              now_ms=T0)
    assert alert is not None
    assert world.services.alerts.raise_alert("x.silent", AlertKind.SILENT, subject_owner_id=ALICE,
                                             reason="quiet", now_ms=T0 + 1) is None
    acked = world.services.alerts.ack("x.silent", "operator-1", T0 + 5)
    assert acked.status is AlertStatus.ACKNOWLEDGED
    assert acked.acked_by == "operator-1"
    assert [a.alert_id for a in world.services.alerts.recent(status=AlertStatus.OPEN)] == []
    assert [a.alert_id for a in world.services.alerts.recent(status=AlertStatus.ACKNOWLEDGED)] == ["x.silent"]
    with pytest.raises(NotFound):
        world.services.alerts.ack("nope", "operator-1", T0)


def test_an_operator_resolves_an_alert_once_it_leaves_the_queue_and_the_resolution_is_audited(world):
    alerts = world.services.alerts
    alerts.raise_alert("y.overdue", AlertKind.OVERDUE, subject_owner_id=ALICE, reason="late", now_ms=T0)
    alerts.raise_alert("z.silent", AlertKind.SILENT, subject_owner_id=ALICE, reason="quiet", now_ms=T0 + 1)
    # WHEN an operator resolves the open alert with a note
    resolved = alerts.resolve("y.overdue", "operator-2", T0 + 60_000, note="home safe", source_ip="127.0.0.2")
    # THEN it is resolved by that operator at that instant (RFC 3339, UTC offset), acknowledged on the way
    assert resolved.status is AlertStatus.RESOLVED and resolved.resolved_by == "operator-2"
    assert resolved.resolved_at is not None and resolved.resolved_at.utcoffset() is not None
    assert int(resolved.resolved_at.timestamp() * 1000) == T0 + 60_000
    assert resolved.resolution_note == "home safe" and resolved.acked_by == "operator-2"
    # AND it left the queue (the default listing) but is listed as resolved, as stored
    assert [a.alert_id for a in alerts.recent()] == ["z.silent"]
    assert alerts.recent(status=AlertStatus.RESOLVED) == [resolved] == [alerts.get("y.overdue")]
    # AND resolving again (another note, another operator) answers the first resolution; acknowledging is a no-op
    again = alerts.resolve("y.overdue", "operator-3", T0 + 90_000, note="other", source_ip="127.0.0.3")
    assert again == resolved
    assert alerts.ack("y.overdue", "operator-3", T0 + 95_000) == resolved
    # AND exactly one audit record names the operator, the address and the note
    audit = AuditLog(world.resources.table("audit"))
    records = [r for r in audit.records(since_ms=int(time.time() * 1000) - 60_000) if r.action == "alert.resolved"]
    assert [(r.actor, r.subject, r.source_ip, r.details["note"]) for r in records] == [
        ("operator-2", "y.overdue", "127.0.0.2", "home safe")]
    with pytest.raises(NotFound):
        alerts.resolve("nope", "operator-2", T0)


# ---------------------------------------------------------------- SOS

def sos(world: World, incident_id: str = "inc-00000000000000c1", **kw: Any):
    request = SosRequest(location=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]), device_id=world.device_id, **kw)
    return world.services.sos.create(ALICE, incident_id, request, T0)


def test_sos_answers_with_the_five_nearest_cameras_and_a_ten_second_deadline(world):
    incident = sos(world)
    assert incident.status is IncidentStatus.PENDING
    assert incident.cancel_deadline_ms == T0 + 10_000
    assert [c.camera.camera_id for c in incident.cameras] == [f"CAM-{i}" for i in range(5)]
    # the control center hears of it at once; nothing has gone to 112 yet
    center = drain(world.resources, world.center_url)
    assert [m["kind"] for m in center] == ["sos"]
    assert len(center[0]["cameras"]) == 5
    assert world.dispatches() == []
    assert world.services.sos.due(T0 + 9_999) == []
    assert world.services.sos.due(T0 + 10_000) == [incident.incident_id]


def test_cancel_inside_the_window_keeps_the_record_and_never_escalates(world):
    incident = sos(world)
    cancelled = world.services.sos.cancel(ALICE, incident.incident_id, T0 + 9_000)
    assert cancelled.status is IncidentStatus.CANCELLED
    # WHEN the delayed message and the watchdog come later THEN nothing is dispatched
    assert world.services.sos.escalate(incident.incident_id, T0 + 10_000) is None
    assert world.services.sos.due(T0 + 60_000) == []
    assert world.dispatches() == []
    assert world.services.sos.get(incident.incident_id, ALICE).status is IncidentStatus.CANCELLED
    assert [i.incident_id for i in world.services.sos.recent(status=IncidentStatus.CANCELLED)] == [incident.incident_id]


def test_cancel_after_the_window_is_refused_and_help_is_dispatched(world):
    incident = sos(world)
    with pytest.raises(Conflict, match="escalated"):
        world.services.sos.cancel(ALICE, incident.incident_id, T0 + 10_001)
    dispatched = world.dispatches()
    assert [d["incident_id"] for d in dispatched] == [incident.incident_id]
    assert world.services.sos.get(incident.incident_id, ALICE).status is IncidentStatus.ESCALATED


def test_escalation_happens_exactly_once_and_tells_everyone(world):
    # GIVEN an SOS made during a trip
    trip = start(world)
    world.sms()
    incident = sos(world, trip_id=trip.trip_id)
    # WHEN escalation is attempted three times (duplicate delivery + watchdog)
    first = world.services.sos.escalate(incident.incident_id, T0 + 10_000)
    again = [world.services.sos.escalate(incident.incident_id, T0 + 10_000 + d) for d in (5, 60_000)]
    # THEN one 112 message with location, cameras and trip context
    assert first is not None
    assert first.dispatch_message_id
    assert again == [None, None]
    dispatched = world.dispatches()
    assert len(dispatched) == 1
    assert dispatched[0]["trip"]["trip_id"] == trip.trip_id
    assert len(dispatched[0]["cameras"]) == 5
    assert dispatched[0]["location"]["lat"] == pytest.approx(CITY_HALL[0])
    # AND one escalated alert, one message per guardian
    kinds = [m["kind"] for m in drain(world.resources, world.center_url)]
    assert kinds.count("sos-escalated") == 1
    assert [m["kind"] for m in world.sms()] == ["sos-escalated", "sos-escalated"]


def test_a_dispatch_that_failed_half_way_is_retried_after_the_claim_lease(world):
    # GIVEN an SOS whose first escalation claimed it but could not reach the dispatch queue
    incident = sos(world)
    real_url = world.resources.queue("agency-dispatch").url
    world.resources.queue("agency-dispatch").url = real_url + "-gone"
    with pytest.raises(Exception, match="agency-dispatch-gone"):
        world.services.sos.escalate(incident.incident_id, T0 + 10_000)
    world.resources.queue("agency-dispatch").url = real_url
    # WHEN a redelivery comes inside the lease THEN it stays hands-off; after the lease THEN it dispatches
    assert world.services.sos.escalate(incident.incident_id, T0 + 20_000) is None
    done = world.services.sos.escalate(incident.incident_id, T0 + 41_000)
    assert done is not None
    assert done.dispatched_ms == T0 + 41_000
    assert len(world.dispatches()) == 1


def test_window_zero_escalates_in_the_request(world):
    incident = sos(world, cancel_window_s=0)
    assert incident.status is IncidentStatus.ESCALATED
    assert [d["incident_id"] for d in world.dispatches()] == [incident.incident_id]


def test_a_longer_window_than_configured_is_not_granted(world):
    incident = sos(world, cancel_window_s=600)
    assert incident.cancel_deadline_ms == T0 + 10_000


def test_sos_on_another_owners_trip_or_device_is_404(world):
    trip = start(world)
    with pytest.raises(NotFound):
        world.services.sos.create(BOB, "inc-00000000000000c9", SosRequest(
            location=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]), trip_id=trip.trip_id), T0)
    with pytest.raises(NotFound):
        world.services.sos.create(BOB, "inc-00000000000000ca", SosRequest(
            location=Location(lat=CITY_HALL[0], lon=CITY_HALL[1]), device_id=world.device_id), T0)
    incident = sos(world)
    with pytest.raises(NotFound):
        world.services.sos.cancel(BOB, incident.incident_id, T0 + 1)


# ---------------------------------------------------------------- request guards

def test_idempotency_key_returns_the_first_id_and_refuses_another_body(aws):
    keys = IdempotencyKeys(aws.table("records"))
    assert keys.lookup("sos", ALICE, "k-1", "h1") is None
    assert keys.claim("sos", ALICE, "k-1", "inc-a", "h1", T0) == ("inc-a", False)
    assert keys.claim("sos", ALICE, "k-1", "inc-b", "h1", T0) == ("inc-a", True)
    assert keys.lookup("sos", ALICE, "k-1", "h1") == "inc-a"
    assert keys.lookup("sos", BOB, "k-1", "h1") is None  # keys are per caller
    with pytest.raises(ValidationFailed):
        keys.lookup("sos", ALICE, "k-1", "h2")


def test_rate_limit_counts_per_device_and_window(aws):
    limiter = RateLimiter(aws.table("records"), limit=3, window_s=60)
    at = 1_763_800_040_000  # 20 s into a minute window
    assert [limiter.hit(ALICE, "api", at) for _ in range(3)] == [2, 1, 0]
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit(ALICE, "api", at)
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "40"
    assert limiter.hit(BOB, "api", at) == 2  # another device has its own budget
    assert limiter.hit(ALICE, "api", at + 40_000) == 2  # the next window starts afresh


def test_watchdog_check_raises_stationary_for_a_walker_who_stopped_on_the_way(world):
    # GIVEN a walker who walked 3 minutes and then stood still for 11 minutes, uploading every minute
    trip = start(world)
    spot = along(HOME_ROUTE, 180 * 1.2)
    track = walk(HOME_ROUTE, start_ms=T0, seconds=180) + [
        f.model_copy(update={"t_ms": f.t_ms + 185_000}) for f in walk([spot, spot], start_ms=T0, seconds=660,
                                                                      speed_mps=0.0, seed=5)]
    for i in range(0, len(track), 12):
        world.services.trips.add_positions(ALICE, trip.trip_id, PositionBatch(positions=as_uploaded(track[i:i + 12])),
                                           track[min(i + 11, len(track) - 1)].t_ms + 1_000)
    # WHEN the watchdog looks (the phone is still reporting, the trip is not yet overdue)
    raised = world.services.trips.check(trip.trip_id, track[-1].t_ms + 2_000)
    # THEN a stationary alert at the spot where the walker stopped, with cameras around it
    assert [a.kind for a in raised] == [AlertKind.STATIONARY]
    assert raised[0].last_position is not None
    assert abs(raised[0].last_position.lat - spot[0]) < 0.0003
    assert raised[0].cameras


def test_watchdog_judges_a_walking_trip_without_reading_its_fixes(world):
    # GIVEN a walker 8 minutes along the route, uploading every minute (shuffled, some fixes twice)
    trip = start(world)
    track = walk(HOME_ROUTE, start_ms=T0, seconds=8 * 60)
    for i in range(0, len(track), 12):
        world.services.trips.add_positions(ALICE, trip.trip_id, PositionBatch(positions=as_uploaded(track[i:i + 12])),
                                           track[min(i + 11, len(track) - 1)].t_ms + 1_000)
    queried: list[str] = []
    world.resources._dynamodb.meta.client.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: queried.append(params["TableName"]))
    # WHEN the watchdog looks
    assert world.services.trips.check(trip.trip_id, track[-1].t_ms + 2_000) == []
    # THEN it judged without reading the track: the trip surely moved inside the stationary window
    assert world.resources.table("positions").name not in queried
    # AND every fix is stored once in the positions table, none among the records; the owner sees no bookkeeping
    assert world.services.trips.fixes(trip.trip_id) == track
    assert not [i for i in world.resources.table("records").scan() if str(i.get("sk", "")).startswith("fix#")]
    assert "movement" not in world.services.trips.get(trip.trip_id, ALICE).model_dump()


def test_sos_evidence_upload_is_presigned_size_capped_and_owner_only(world):
    incident = sos(world)
    photo = world.services.sos.evidence_upload(ALICE, incident.incident_id, EvidenceRequest(content_type="image/jpeg"),
                                               T0 + 1)
    video = world.services.sos.evidence_upload(ALICE, incident.incident_id, EvidenceRequest(content_type="video/mp4"),
                                               T0 + 2)
    assert photo.key.startswith(f"sos/{incident.incident_id}/") and photo.key.endswith(".jpg")
    assert photo.fields["key"] == photo.key
    assert photo.fields["Content-Type"] == "image/jpeg"
    assert (photo.max_bytes, video.max_bytes) == (10_000_000, 100_000_000)
    with pytest.raises(NotFound):
        world.services.sos.evidence_upload(BOB, incident.incident_id, EvidenceRequest(content_type="image/png"), T0)
    # the 112 message tells the police where the phone's evidence lands
    world.services.sos.escalate(incident.incident_id, T0 + 10_000)
    assert world.dispatches()[0]["evidence_prefix"] == f"sos/{incident.incident_id}/"


def test_rate_limit_holds_across_containers_with_stale_guesses(aws):
    # GIVEN two API containers counting the same device against a limit of 3
    first, second = (RateLimiter(aws.table("records"), limit=3, window_s=60) for _ in range(2))
    at = 1_763_800_040_000
    # WHEN the first counts two, the second one, and the first (with a stale guess of 2) tries again
    assert [first.hit(ALICE, "api", at), first.hit(ALICE, "api", at)] == [2, 1]
    assert second.hit(ALICE, "api", at) == 0
    # THEN the shared counter refuses it
    with pytest.raises(TooManyRequests):
        first.hit(ALICE, "api", at)
    assert aws.table("records").get({"pk": f"RATE#api#{ALICE}#{at // 60_000}", "sk": "guard"})["count"] == 3
