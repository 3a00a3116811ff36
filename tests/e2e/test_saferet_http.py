"""Safe-return app and SOS over real HTTP on the local platform: trips, alerts, SOS escalation
through the event pump, idempotency keys, rate limits, validation and cross-device 404s.

The app's calls go through the typed client generated from openapi.json (golden_time_api_client), as a
client team's would; hostile input (values the typed models cannot even express) goes through raw HTTP."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from http import HTTPStatus

import pytest
import requests
from agency_support import dispatch_payloads
from client_support import authenticated
from golden_time_api_client import AuthenticatedClient
from golden_time_api_client.api.alerts import ack_alert, list_alerts
from golden_time_api_client.api.devices import register_device
from golden_time_api_client.api.protected import get_person, person_positions, register_person
from golden_time_api_client.api.sos import cancel_sos, get_sos, list_incidents, report_sos, sos_evidence
from golden_time_api_client.api.trips import add_positions, arrive, get_trip, start_trip
from golden_time_api_client.models import (
    DeviceRegistration,
    Error,
    EvidenceRequest,
    GuardianContact,
    ListAlertsStatusType0,
    ListIncidentsStatusType0,
    Location,
    PersonKind,
    Position,
    PositionReport,
    ProtectedPositions,
    ProtectedRegistration,
    SafeZone,
    SosRequest,
    SosTrigger,
    TripStart,
)
from PIL import Image

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import epoch_ms, instant
from chalicelib.models.principal import PrincipalKind
from chalicelib.settings import get_settings
from chalicelib.wiring.cameras import build_camera_registry
from local.capture import capture_topic, drain
from local.gps_tracks import CITY_HALL, GWANGHWAMUN, HOME_ROUTE, along, as_uploaded, offset, walk
from local.http_client import session_from

pytestmark = pytest.mark.e2e
HERE = {"lat": CITY_HALL[0], "lon": CITY_HALL[1]}
PEOPLE = ("sr-alice", "sr-bob", "sr-carol", "sr-dave")


@pytest.fixture(scope="module")
def world(local_platform):
    resources = Resources(get_settings())
    tokens = {}
    for pid in PEOPLE:
        _, tokens[pid] = create_principal(PrincipalKind.APP, pid, principal_id=pid, resources=resources)
    _, tokens["sr-operator"] = create_principal(PrincipalKind.OPERATOR, "sr-operator", principal_id="sr-operator",
                                                resources=resources)
    # the same cameras the other end-to-end module loads, so the shared platform stays consistent
    cameras = [Camera(camera_id=f"E2E-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                      lat=37.5665 + i * 0.001, lon=126.9780) for i in range(8)]
    build_camera_registry(resources).load_catalog(cameras)
    sms = capture_topic(resources, "guardian-sms", "e2e-saferet-sms")
    return {"resources": resources, "tokens": tokens, "sms": sms, "api": local_platform.api_url}


def api(world, who) -> AuthenticatedClient:
    """The generated client (tests/client_support.py), authenticated as ``who``, from 127.0.0.1."""
    client: AuthenticatedClient = authenticated(world["api"], world["tokens"][who])
    return client


def client(world, who):
    """Raw HTTP, for input the typed client cannot express."""
    return session_from(token=world["tokens"][who])


def url(world, path):
    return f"{world['api']}{path}"


def here() -> Location:
    return Location(lat=HERE["lat"], lon=HERE["lon"])


def sos_at_here(**fields) -> SosRequest:
    return SosRequest(location=here(), **fields)


def device(world, who):
    reply = register_device.sync_detailed(client=api(world, who), body=DeviceRegistration(
        platform="android", guardians=[GuardianContact(name="Mom", phone="+821055556666")]))
    assert reply.status_code == HTTPStatus.CREATED, reply.content
    return reply.parsed.device_id


def trip_start(device_id) -> TripStart:
    return TripStart(device_id=device_id, origin=here(), destination=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]),
                     route=[Location(lat=lat, lon=lon) for lat, lon in HOME_ROUTE])


def fixes(track) -> list[Position]:
    return [Position.from_dict(fix) for fix in fixes_json(track)]


def fixes_json(track):
    """Fixes as the API takes them: an RFC 3339 time (KST) and a location object."""
    return [{"at": instant(f.t_ms).isoformat(), "location": {"lat": f.lat, "lon": f.lon, "accuracy_m": f.accuracy_m}}
            for f in track]


def dispatched(world, incident_id, timeout_s=10.0):
    """The SOS dispatch recorded for ``incident_id`` (one per incident: its id is the dispatch id), waiting up
    to the timeout."""
    return dispatch_payloads(world["resources"], incident_id, timeout_s)


def test_a_walk_home_that_deviates_alerts_the_center_and_the_guardian(world):
    alice, operator = api(world, "sr-alice"), api(world, "sr-operator")
    # GIVEN a registered device and a trip along the planned route
    started = start_trip.sync_detailed(client=alice, body=trip_start(device(world, "sr-alice")))
    assert started.status_code == HTTPStatus.CREATED, started.content
    trip = started.parsed
    assert trip.status.value == "active"
    assert trip.expected_arrival_at > trip.started_at
    assert trip.started_at.utcoffset() == timedelta(hours=9)  # shown in KST
    # WHEN the phone uploads a track that leaves the route, in shuffled batches with repeats
    # (time-compressed to a run at 6 m/s so it fits the clock-skew allowance of a real-time test)
    turn = along(HOME_ROUTE, 400)
    track = walk([CITY_HALL, HOME_ROUTE[1], turn, offset(turn, 0, 400)], start_ms=epoch_ms(trip.started_at), seconds=110,
                 every_s=2, speed_mps=6.0)
    alerts = []
    for i in range(0, len(track), 10):
        accepted = add_positions.sync(trip.trip_id, client=alice,
                                      body=PositionReport(positions=fixes(as_uploaded(track[i:i + 10]))))
        alerts += accepted.alerts
    # THEN one off-route alert, visible to the operator with cameras and the last position
    assert alerts == [f"{trip.trip_id}.off-route"]
    listed = list_alerts.sync(client=operator, status=ListAlertsStatusType0.OPEN).alerts
    alert = next(a for a in listed if a.alert_id == alerts[0])
    assert alert.kind.value == "off-route"
    assert epoch_ms(alert.last_position.at) <= track[-1].t_ms
    assert 1 <= len(alert.cameras) <= 5
    acked = ack_alert.sync_detailed(alerts[0], client=operator)
    assert acked.status_code == HTTPStatus.OK
    assert acked.parsed.acked_by == "sr-operator"
    # AND arrival closes the trip; the guardian heard of start, deviation and arrival
    assert arrive.sync_detailed(trip.trip_id, client=alice).status_code == HTTPStatus.OK
    assert get_trip.sync(trip.trip_id, client=alice).status.value == "arrived"
    kinds = [m["kind"] for m in drain(world["resources"], world["sms"], wait_s=1) if m.get("trip_id") == trip.trip_id]
    assert sorted(kinds) == ["trip-arrived", "trip-off-route", "trip-started"]


def test_an_sos_nobody_cancels_reaches_112_by_itself(world):
    alice, operator = api(world, "sr-alice"), api(world, "sr-operator")
    # GIVEN an SOS with a one-second cancel window, raised by shaking the phone
    started = time.monotonic()
    reply = report_sos.sync_detailed(client=alice, body=sos_at_here(trigger=SosTrigger.SHAKE, cancel_window_s=1))
    # THEN the answer is immediate, with the five nearest cameras and the deadline
    assert reply.status_code == HTTPStatus.CREATED, reply.content
    incident = reply.parsed
    assert incident.status.value == "pending"
    assert incident.cancel_deadline_at - incident.created_at == timedelta(seconds=1)
    # AND a citizen sees no internal names: the cameras' stream and footage prefix stay inside
    assert b"recording_prefix" not in reply.content and b"stream_name" not in reply.content
    assert b"owner_id" not in reply.content and b"dispatch_message_id" not in reply.content
    distances = [c.distance_m for c in incident.cameras]
    assert len(distances) == 5
    assert distances == sorted(distances)
    # WHEN nobody calls anything THEN the delayed message + pump dispatch it to 112 exactly once
    messages = dispatched(world, incident.incident_id)
    assert len(messages) == 1
    assert messages[0]["trigger"] == "shake" and messages[0]["kind"] == "other"
    assert messages[0]["agency"] == "112" and messages[0]["district"]["code"] == "JG"  # City Hall: Jung-gu
    assert len(messages[0]["cameras"]) == 5
    assert time.monotonic() - started < 10
    status = get_sos.sync(incident.incident_id, client=alice)
    assert status.status.value == "escalated"
    assert status.dispatched_at >= incident.cancel_deadline_at
    # (the worker's platform is shared: other tests' incidents, some stamped later, fill the default page)
    escalated = list_incidents.sync(client=operator, status=ListIncidentsStatusType0.ESCALATED, district="JG",
                                    limit=500).incidents
    assert incident.incident_id in [i.incident_id for i in escalated]
    assert all(i.status.value == "escalated" for i in escalated)
    late = cancel_sos.sync_detailed(incident.incident_id, client=alice)
    assert late.status_code == HTTPStatus.CONFLICT and isinstance(late.parsed, Error)


def test_an_sos_cancelled_inside_the_window_stays_on_record_and_never_dispatches(world):
    alice, operator = api(world, "sr-alice"), api(world, "sr-operator")
    incident = report_sos.sync(client=alice, body=sos_at_here(cancel_window_s=2))
    cancelled = cancel_sos.sync_detailed(incident.incident_id, client=alice)
    assert cancelled.status_code == HTTPStatus.OK
    assert cancelled.parsed.status.value == "cancelled"
    assert dispatched(world, incident.incident_id, timeout_s=4) == []  # window 2 s + pump
    listed = list_incidents.sync(client=operator, status=ListIncidentsStatusType0.CANCELLED).incidents
    assert incident.incident_id in [i.incident_id for i in listed]


def test_a_retried_request_never_makes_two_incidents_or_trips(world):
    bob, operator = api(world, "sr-bob"), api(world, "sr-operator")
    body = sos_at_here(trigger=SosTrigger.BUTTON)
    first = report_sos.sync_detailed(client=bob, body=body, idempotency_key="sos-bob-1")
    again = report_sos.sync_detailed(client=bob, body=body, idempotency_key="sos-bob-1")
    assert first.status_code == again.status_code == HTTPStatus.CREATED
    assert first.parsed.incident_id == again.parsed.incident_id
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == ("false", "true")
    other = report_sos.sync_detailed(client=bob, body=sos_at_here(trigger=SosTrigger.VOICE), idempotency_key="sos-bob-1")
    assert other.status_code == HTTPStatus.UNPROCESSABLE_ENTITY and isinstance(other.parsed, Error)
    mine = [i for i in list_incidents.sync(client=operator).incidents if i.owner_id == "sr-bob"]
    assert len(mine) == 1
    cancel_sos.sync_detailed(first.parsed.incident_id, client=bob)
    # the same for trips
    trip = trip_start(device(world, "sr-bob"))
    t1 = start_trip.sync_detailed(client=bob, body=trip, idempotency_key="trip-bob-1")
    t2 = start_trip.sync_detailed(client=bob, body=trip, idempotency_key="trip-bob-1")
    assert t1.status_code == t2.status_code == HTTPStatus.CREATED
    assert t1.parsed.to_dict() == t2.parsed.to_dict()
    bad_key = start_trip.sync_detailed(client=bob, body=trip, idempotency_key="no spaces allowed")
    assert bad_key.status_code == HTTPStatus.UNPROCESSABLE_ENTITY


def test_another_device_gets_404_for_trips_and_incidents(world):
    alice, bob = api(world, "sr-alice"), api(world, "sr-bob")
    trip = start_trip.sync(client=alice, body=trip_start(device(world, "sr-alice")))
    incident = report_sos.sync(client=alice, body=sos_at_here(trip_id=trip.trip_id))
    track = fixes(walk(HOME_ROUTE, start_ms=int(time.time() * 1000) - 10_000, seconds=5))
    for name, call in (
            ("get trip", lambda: get_trip.sync_detailed(trip.trip_id, client=bob)),
            ("positions", lambda: add_positions.sync_detailed(trip.trip_id, client=bob, body=PositionReport(positions=track))),
            ("arrive", lambda: arrive.sync_detailed(trip.trip_id, client=bob)),
            ("get sos", lambda: get_sos.sync_detailed(incident.incident_id, client=bob)),
            ("cancel", lambda: cancel_sos.sync_detailed(incident.incident_id, client=bob)),
            ("sos on their trip", lambda: report_sos.sync_detailed(client=bob, body=sos_at_here(trip_id=trip.trip_id)))):
        reply = call()
        assert reply.status_code == HTTPStatus.NOT_FOUND, (name, reply.content)
        assert isinstance(reply.parsed, Error) and reply.parsed.error.code == "not_found"
    # the owner still can, and an operator may not use the app's routes
    assert cancel_sos.sync(incident.incident_id, client=alice).status.value == "cancelled"
    assert get_trip.sync_detailed(trip.trip_id, client=api(world, "sr-operator")).status_code == HTTPStatus.FORBIDDEN
    assert list_alerts.sync_detailed(client=alice).status_code == HTTPStatus.FORBIDDEN


def test_too_many_sos_from_one_device_is_429_with_retry_after(world):
    carol = api(world, "sr-carol")
    made = []
    for _ in range(12):
        reply = report_sos.sync_detailed(client=carol, body=sos_at_here(cancel_window_s=30))
        if reply.status_code != HTTPStatus.CREATED:
            break
        made.append(reply.parsed.incident_id)
    assert len(made) == 10
    assert reply.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert reply.parsed.error.code == "rate_limited"
    assert 1 <= int(reply.headers["Retry-After"]) <= 60  # the header the contract declares
    # another device is unaffected
    other = report_sos.sync_detailed(client=api(world, "sr-dave"), body=sos_at_here(cancel_window_s=30))
    assert other.status_code == HTTPStatus.CREATED
    for incident_id in made:
        assert cancel_sos.sync_detailed(incident_id, client=carol).status_code == HTTPStatus.OK


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/sos", {"location": {"lat": 91.0, "lon": 126.9}}, 422),
    ("/v1/sos", {"location": HERE, "cancel_window_s": -1}, 422),
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": {"lat": 37.57, "lon": 200}}, 422),
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": HERE, "route": [HERE]}, 422),
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": HERE,
                   "expected_arrival": "2100-01-01T09:00:00+09:00"}, 404),  # validated, then: no such device
])
def test_bad_safe_return_values_are_4xx(world, path, body, status):
    dave = api(world, "sr-dave")
    reply = report_sos.sync_detailed(client=dave, body=SosRequest.from_dict(body)) if path == "/v1/sos" else \
        start_trip.sync_detailed(client=dave, body=TripStart.from_dict(body))
    assert reply.status_code == status, reply.content
    assert isinstance(reply.parsed, Error) and reply.parsed.error.message


# Raw HTTP on purpose: shapes the typed models cannot express (a kind outside the enum, a missing coordinate,
# former shapes and fields, a time without its offset).
@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/sos", {"location": HERE, "kind": "telepathy"}, 422),
    ("/v1/sos", {"location": {"lat": 37.5}}, 422),
    ("/v1/sos", {"lat": 37.5, "lon": 126.9}, 422),  # the former flat coordinates
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": HERE,
                   "route": [[37.5, 126.9], [37.6, 126.9]]}, 422),  # points are location objects
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": HERE,
                   "expected_arrival_ms": 4_102_444_800_000}, 422),  # epoch ms: no longer a field
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": HERE,
                   "expected_arrival": "2100-01-01T09:00:00"}, 422),  # no offset
])
def test_bad_safe_return_input_is_4xx(world, path, body, status):
    reply = client(world, "sr-dave").post(url(world, path), json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["message"]


def test_positions_are_validated_strictly(world):
    dave = api(world, "sr-dave")
    trip = start_trip.sync(client=dave, body=trip_start(device(world, "sr-dave")))
    now = int(time.time() * 1000)
    future = add_positions.sync_detailed(trip.trip_id, client=dave, body=PositionReport(
        positions=fixes(walk(HOME_ROUTE, start_ms=now + 86_400_000, seconds=5))))
    assert future.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "future" in future.parsed.error.message
    at = instant(now).isoformat()
    bad_accuracy = add_positions.sync_detailed(trip.trip_id, client=dave, body=PositionReport.from_dict({"positions": [
        {"at": at, "location": {"lat": 37.5, "lon": 126.9, "accuracy_m": -3}}]}))
    assert bad_accuracy.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    too_many = add_positions.sync_detailed(trip.trip_id, client=dave, body=PositionReport.from_dict(
        {"positions": [{"at": at, "location": {"lat": 37.5, "lon": 126.9}}] * 501}))
    assert too_many.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    # raw HTTP on purpose: a body padded past the size limit with whitespace
    huge = client(world, "sr-dave").post(url(world, f"/v1/trips/{trip.trip_id}/positions"),
                                         data=b'{"positions": [' + b" " * 1_100_000 + b"]}",
                                         headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    ok = add_positions.sync_detailed(trip.trip_id, client=dave, body=PositionReport(
        positions=fixes(walk(HOME_ROUTE, start_ms=now - 5_000, seconds=5))))
    assert ok.status_code == HTTPStatus.OK
    assert ok.parsed.accepted == 2


def test_a_protected_person_leaving_a_safe_zone_gives_the_center_a_search_ready_alert(world):
    alice, bob, operator = api(world, "sr-alice"), api(world, "sr-bob"), api(world, "sr-operator")
    home = offset(CITY_HALL, 300, 300)
    # GIVEN a guardian registers her father with a safe zone around home, and uploads his photo
    created = register_person.sync_detailed(client=alice, body=ProtectedRegistration(
        name="Father", kind=PersonKind.DEMENTIA, description="navy jacket",
        zones=[SafeZone(name="home", center=Location(lat=home[0], lon=home[1]), radius_m=120)]))
    assert created.status_code == HTTPStatus.CREATED, created.content
    person, upload = created.parsed.person, created.parsed.photo_upload
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 96), (40, 60, 120)).save(jpeg, format="JPEG")
    posted = requests.post(upload.url, data=upload.fields.to_dict(), files={"file": ("photo.jpg", jpeg.getvalue())},
                           timeout=10)
    assert posted.status_code in (200, 204), posted.text
    assert world["resources"].store("media").head(upload.key).size == len(jpeg.getvalue())
    assert b"photo_key" not in created.content and b"owner_id" not in created.content  # stays inside
    # WHEN his wearable reports him walking away from home
    now = int(time.time() * 1000)
    track = walk([home, offset(home, 0, 500)], start_ms=now - 400_000, seconds=390)
    reply = person_positions.sync_detailed(person.person_id, client=alice,
                                           body=ProtectedPositions(positions=fixes(as_uploaded(track))))
    # THEN one zone-exit alert whose search seed has the photo and the last-seen place and time
    assert reply.status_code == HTTPStatus.OK, reply.content
    alerts = reply.parsed.alerts
    assert [a.kind.value for a in alerts] == ["zone-exit"]
    listed = list_alerts.sync(client=operator).alerts
    seen = next(a for a in listed if a.alert_id == alerts[0].alert_id)
    assert seen.search.person_id == person.person_id and seen.search.name == "Father"
    assert epoch_ms(seen.search.last_seen.at) == track[-1].t_ms
    assert 1 <= len(seen.cameras) <= 5
    # AND nobody else can see or feed him
    assert get_person.sync_detailed(person.person_id, client=bob).status_code == HTTPStatus.NOT_FOUND
    fed = person_positions.sync_detailed(person.person_id, client=bob, body=ProtectedPositions(positions=fixes(track[:2])))
    assert fed.status_code == HTTPStatus.NOT_FOUND


def test_the_phone_uploads_sos_evidence_through_a_presigned_post(world):
    alice, bob = api(world, "sr-alice"), api(world, "sr-bob")
    incident = report_sos.sync(client=alice, body=sos_at_here(cancel_window_s=30))
    grant = sos_evidence.sync_detailed(incident.incident_id, client=alice, body=EvidenceRequest(content_type="image/jpeg"))
    assert grant.status_code == HTTPStatus.CREATED, grant.content
    upload = grant.parsed
    jpeg = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(jpeg, format="JPEG")
    posted = requests.post(upload.url, data=upload.fields.to_dict(), files={"file": ("e.jpg", jpeg.getvalue())},
                           timeout=10)
    assert posted.status_code in (200, 204), posted.text
    assert world["resources"].store("media").head(upload.key).size == len(jpeg.getvalue())
    refused = sos_evidence.sync_detailed(incident.incident_id, client=alice,
                                         body=EvidenceRequest(content_type="application/zip"))
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    theirs = sos_evidence.sync_detailed(incident.incident_id, client=bob, body=EvidenceRequest(content_type="image/jpeg"))
    assert theirs.status_code == HTTPStatus.NOT_FOUND
    cancel_sos.sync_detailed(incident.incident_id, client=alice)
