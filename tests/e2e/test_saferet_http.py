"""Safe-return app and SOS over real HTTP on the local platform: trips, alerts, SOS escalation
through the event pump, idempotency keys, rate limits, validation and cross-device 404s."""

from __future__ import annotations

import io
import time

import pytest
import requests
from PIL import Image

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.settings import get_settings
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
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=get_settings().camera_index_key).load_catalog(cameras)
    sms = capture_topic(resources, "guardian-sms", "e2e-saferet-sms")
    return {"resources": resources, "tokens": tokens, "sms": sms, "api": local_platform.api_url}


def client(world, who):
    return session_from(token=world["tokens"][who])


def url(world, path):
    return f"{world['api']}{path}"


def device(world, who):
    reply = client(world, who).post(url(world, "/v1/devices"), json={
        "platform": "android", "guardians": [{"name": "Mom", "phone": "+821055556666"}]})
    assert reply.status_code == 201, reply.text
    return reply.json()["device_id"]


def trip_body(device_id):
    return {"device_id": device_id, "origin": HERE, "destination": {"lat": GWANGHWAMUN[0], "lon": GWANGHWAMUN[1]},
            "route": [list(p) for p in HOME_ROUTE]}


def fixes_json(fixes):
    return [f.model_dump() for f in fixes]


def dispatched(world, incident_id, timeout_s=10.0, linger_s=2.0):
    """The 112 messages for ``incident_id`` on the dispatch queue: waits up to the timeout for the
    first, then ``linger_s`` more for any duplicate."""
    queue = world["resources"].queue("dispatch-112").url
    found, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found += [m for m in drain(world["resources"], queue, wait_s=1) if m["incident_id"] == incident_id]
        if found:
            deadline = min(deadline, time.monotonic() + linger_s)
    return found


def test_a_walk_home_that_deviates_alerts_the_center_and_the_guardian(world):
    alice, operator = client(world, "sr-alice"), client(world, "sr-operator")
    # GIVEN a registered device and a trip along the planned route
    started = alice.post(url(world, "/v1/trips"), json=trip_body(device(world, "sr-alice")))
    assert started.status_code == 201, started.text
    trip = started.json()
    assert trip["status"] == "active"
    assert trip["expected_arrival_ms"] > trip["started_ms"]
    # WHEN the phone uploads a track that leaves the route, in shuffled batches with repeats
    # (time-compressed to a run at 6 m/s so it fits the clock-skew allowance of a real-time test)
    turn = along(HOME_ROUTE, 400)
    track = walk([CITY_HALL, HOME_ROUTE[1], turn, offset(turn, 0, 400)], start_ms=trip["started_ms"], seconds=110,
                 every_s=2, speed_mps=6.0)
    trip_url = url(world, f"/v1/trips/{trip['trip_id']}")
    alerts = []
    for i in range(0, len(track), 10):
        reply = alice.post(f"{trip_url}/positions", json={"positions": fixes_json(as_uploaded(track[i:i + 10]))})
        assert reply.status_code == 200, reply.text
        alerts += reply.json()["alerts"]
    # THEN one off-route alert, visible to the operator with cameras and the last position
    assert alerts == [f"{trip['trip_id']}.off-route"]
    listed = operator.get(url(world, "/v1/alerts"), params={"status": "open"}).json()["alerts"]
    alert = next(a for a in listed if a["alert_id"] == alerts[0])
    assert alert["kind"] == "off-route"
    assert alert["last_position"]["t_ms"] <= track[-1].t_ms
    assert 1 <= len(alert["cameras"]) <= 5
    acked = operator.post(url(world, f"/v1/alerts/{alerts[0]}/ack"))
    assert acked.status_code == 200
    assert acked.json()["acked_by"] == "sr-operator"
    # AND arrival closes the trip; the guardian heard of start, deviation and arrival
    arrived = alice.post(f"{trip_url}/arrive")
    assert arrived.status_code == 200
    assert alice.get(trip_url).json()["status"] == "arrived"
    kinds = [m["kind"] for m in drain(world["resources"], world["sms"], wait_s=1) if m.get("trip_id") == trip["trip_id"]]
    assert sorted(kinds) == ["trip-arrived", "trip-off-route", "trip-started"]


def test_an_sos_nobody_cancels_reaches_112_by_itself(world):
    alice, operator = client(world, "sr-alice"), client(world, "sr-operator")
    # GIVEN an SOS with a one-second cancel window
    started = time.monotonic()
    reply = alice.post(url(world, "/v1/sos"), json={**HERE, "kind": "shake", "cancel_window_s": 1})
    # THEN the answer is immediate, with the five nearest cameras and the deadline
    assert reply.status_code == 201, reply.text
    incident = reply.json()
    assert incident["status"] == "pending"
    assert incident["cancel_deadline_ms"] - incident["created_ms"] == 1000
    distances = [c["distance_m"] for c in incident["cameras"]]
    assert len(distances) == 5
    assert distances == sorted(distances)
    # WHEN nobody calls anything THEN the delayed message + pump dispatch it to 112 exactly once
    messages = dispatched(world, incident["incident_id"])
    assert len(messages) == 1
    assert messages[0]["trigger"] == "shake" and messages[0]["kind"] == "other"  # a legacy trigger kind
    assert messages[0]["agency"] == "112" and messages[0]["district"]["code"] == "JG"  # City Hall: Jung-gu
    assert len(messages[0]["cameras"]) == 5
    assert time.monotonic() - started < 10
    status = alice.get(url(world, f"/v1/sos/{incident['incident_id']}")).json()
    assert status["status"] == "escalated"
    assert status["dispatched_ms"] >= incident["cancel_deadline_ms"]
    escalated = operator.get(url(world, "/v1/incidents"), params={"status": "escalated"}).json()["incidents"]
    assert incident["incident_id"] in [i["incident_id"] for i in escalated]
    late = alice.post(url(world, f"/v1/sos/{incident['incident_id']}/cancel"))
    assert late.status_code == 409


def test_an_sos_cancelled_inside_the_window_stays_on_record_and_never_dispatches(world):
    alice, operator = client(world, "sr-alice"), client(world, "sr-operator")
    incident = alice.post(url(world, "/v1/sos"), json={**HERE, "cancel_window_s": 2}).json()
    cancelled = alice.post(url(world, f"/v1/sos/{incident['incident_id']}/cancel"))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert dispatched(world, incident["incident_id"], timeout_s=4) == []  # window 2 s + pump
    listed = operator.get(url(world, "/v1/incidents"), params={"status": "cancelled"}).json()["incidents"]
    assert incident["incident_id"] in [i["incident_id"] for i in listed]


def test_a_retried_request_never_makes_two_incidents_or_trips(world):
    bob, operator = client(world, "sr-bob"), client(world, "sr-operator")
    body = {**HERE, "kind": "button"}
    first = bob.post(url(world, "/v1/sos"), json=body, headers={"Idempotency-Key": "sos-bob-1"})
    again = bob.post(url(world, "/v1/sos"), json=body, headers={"Idempotency-Key": "sos-bob-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["incident_id"] == again.json()["incident_id"]
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == ("false", "true")
    other = bob.post(url(world, "/v1/sos"), json={**body, "kind": "voice"}, headers={"Idempotency-Key": "sos-bob-1"})
    assert other.status_code == 422
    mine = [i for i in operator.get(url(world, "/v1/incidents")).json()["incidents"] if i["owner_id"] == "sr-bob"]
    assert len(mine) == 1
    bob.post(url(world, f"/v1/sos/{first.json()['incident_id']}/cancel"))
    # the same for trips
    trip = trip_body(device(world, "sr-bob"))
    t1 = bob.post(url(world, "/v1/trips"), json=trip, headers={"Idempotency-Key": "trip-bob-1"})
    t2 = bob.post(url(world, "/v1/trips"), json=trip, headers={"Idempotency-Key": "trip-bob-1"})
    assert t1.status_code == t2.status_code == 201
    assert t1.json() == t2.json()
    bad_key = bob.post(url(world, "/v1/trips"), json=trip, headers={"Idempotency-Key": "no spaces allowed"})
    assert bad_key.status_code == 422


def test_another_device_gets_404_for_trips_and_incidents(world):
    alice, bob = client(world, "sr-alice"), client(world, "sr-bob")
    trip = alice.post(url(world, "/v1/trips"), json=trip_body(device(world, "sr-alice"))).json()
    incident = alice.post(url(world, "/v1/sos"), json={**HERE, "trip_id": trip["trip_id"]}).json()
    fixes = fixes_json(walk(HOME_ROUTE, start_ms=int(time.time() * 1000) - 10_000, seconds=5))
    for method, path, kwargs in (("get", f"/v1/trips/{trip['trip_id']}", {}),
                                 ("post", f"/v1/trips/{trip['trip_id']}/positions", {"json": {"positions": fixes}}),
                                 ("post", f"/v1/trips/{trip['trip_id']}/arrive", {}),
                                 ("get", f"/v1/sos/{incident['incident_id']}", {}),
                                 ("post", f"/v1/sos/{incident['incident_id']}/cancel", {}),
                                 ("post", "/v1/sos", {"json": {**HERE, "trip_id": trip["trip_id"]}})):
        reply = getattr(bob, method)(url(world, path), **kwargs)
        assert reply.status_code == 404, (path, reply.text)
        assert reply.json()["error"]["code"] == "not_found"
    # the owner still can, and an operator may not use the app's routes
    assert alice.post(url(world, f"/v1/sos/{incident['incident_id']}/cancel")).json()["status"] == "cancelled"
    assert client(world, "sr-operator").get(url(world, f"/v1/trips/{trip['trip_id']}")).status_code == 403
    assert alice.get(url(world, "/v1/alerts")).status_code == 403


def test_too_many_sos_from_one_device_is_429_with_retry_after(world):
    carol = client(world, "sr-carol")
    made = []
    for _ in range(12):
        reply = carol.post(url(world, "/v1/sos"), json={**HERE, "cancel_window_s": 30})
        if reply.status_code != 201:
            break
        made.append(reply.json()["incident_id"])
    assert len(made) == 10
    assert reply.status_code == 429
    assert reply.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(reply.headers["Retry-After"]) <= 60
    # another device is unaffected
    assert client(world, "sr-dave").post(url(world, "/v1/sos"), json={**HERE, "cancel_window_s": 30}).status_code == 201
    for incident_id in made:
        assert carol.post(url(world, f"/v1/sos/{incident_id}/cancel")).status_code == 200


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/sos", {"lat": 91.0, "lon": 126.9}, 422),
    ("/v1/sos", {"lat": 37.5, "lon": 126.9, "kind": "telepathy"}, 422),
    ("/v1/sos", {"lat": 37.5, "lon": 126.9, "cancel_window_s": -1}, 422),
    ("/v1/sos", {"lat": 37.5}, 422),
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": {"lat": 37.57, "lon": 200}}, 422),
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": HERE, "route": [[37.5, 126.9]]}, 422),
    ("/v1/trips", {"device_id": "dev-00", "origin": HERE, "destination": HERE,
                   "expected_arrival_ms": 4_102_444_800_000}, 404),  # validated, then: no such device
])
def test_bad_safe_return_input_is_4xx(world, path, body, status):
    reply = client(world, "sr-dave").post(url(world, path), json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"]["message"]


def test_positions_are_validated_strictly(world):
    dave = client(world, "sr-dave")
    trip = dave.post(url(world, "/v1/trips"), json=trip_body(device(world, "sr-dave"))).json()
    positions = url(world, f"/v1/trips/{trip['trip_id']}/positions")
    now = int(time.time() * 1000)
    future = dave.post(positions, json={"positions": fixes_json(walk(HOME_ROUTE, start_ms=now + 86_400_000, seconds=5))})
    assert future.status_code == 422
    assert "future" in future.json()["error"]["message"]
    bad_accuracy = dave.post(positions, json={"positions": [{"t_ms": now, "lat": 37.5, "lon": 126.9, "accuracy_m": -3}]})
    assert bad_accuracy.status_code == 422
    too_many = dave.post(positions, json={"positions": [{"t_ms": now, "lat": 37.5, "lon": 126.9}] * 501})
    assert too_many.status_code == 422
    huge = dave.post(positions, data=b'{"positions": [' + b" " * 1_100_000 + b"]}",
                     headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    ok = dave.post(positions, json={"positions": fixes_json(walk(HOME_ROUTE, start_ms=now - 5_000, seconds=5))})
    assert ok.status_code == 200
    assert ok.json()["accepted"] == 2


def test_a_protected_person_leaving_a_safe_zone_gives_the_center_a_search_ready_alert(world):
    alice, bob, operator = client(world, "sr-alice"), client(world, "sr-bob"), client(world, "sr-operator")
    home = offset(CITY_HALL, 300, 300)
    # GIVEN a guardian registers her father with a safe zone around home, and uploads his photo
    created = alice.post(url(world, "/v1/protected"), json={
        "name": "Father", "kind": "dementia", "description": "navy jacket",
        "zones": [{"name": "home", "center": {"lat": home[0], "lon": home[1]}, "radius_m": 120}]})
    assert created.status_code == 201, created.text
    person, upload = created.json()["person"], created.json()["photo_upload"]
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 96), (40, 60, 120)).save(jpeg, format="JPEG")
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("photo.jpg", jpeg.getvalue())},
                           timeout=10)
    assert posted.status_code in (200, 204), posted.text
    assert world["resources"].store("media").head(person["photo_key"]).size == len(jpeg.getvalue())
    # WHEN his wearable reports him walking away from home
    now = int(time.time() * 1000)
    track = walk([home, offset(home, 0, 500)], start_ms=now - 400_000, seconds=390)
    reply = alice.post(url(world, f"/v1/protected/{person['person_id']}/positions"),
                       json={"positions": fixes_json(as_uploaded(track))})
    # THEN one zone-exit alert whose search seed has the photo and the last-seen place and time
    assert reply.status_code == 200, reply.text
    alerts = reply.json()["alerts"]
    assert [a["kind"] for a in alerts] == ["zone-exit"]
    listed = operator.get(url(world, "/v1/alerts")).json()["alerts"]
    seen = next(a for a in listed if a["alert_id"] == alerts[0]["alert_id"])
    assert seen["search"]["photo_key"] == person["photo_key"]
    assert seen["search"]["last_seen"]["t_ms"] == track[-1].t_ms
    assert 1 <= len(seen["cameras"]) <= 5
    # AND nobody else can see or feed him
    assert bob.get(url(world, f"/v1/protected/{person['person_id']}")).status_code == 404
    assert bob.post(url(world, f"/v1/protected/{person['person_id']}/positions"),
                    json={"positions": fixes_json(track[:2])}).status_code == 404


def test_the_phone_uploads_sos_evidence_through_a_presigned_post(world):
    alice, bob = client(world, "sr-alice"), client(world, "sr-bob")
    incident = alice.post(url(world, "/v1/sos"), json={**HERE, "cancel_window_s": 30}).json()
    evidence_url = url(world, f"/v1/sos/{incident['incident_id']}/evidence")
    grant = alice.post(evidence_url, json={"content_type": "image/jpeg"})
    assert grant.status_code == 201, grant.text
    upload = grant.json()
    jpeg = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(jpeg, format="JPEG")
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("e.jpg", jpeg.getvalue())}, timeout=10)
    assert posted.status_code in (200, 204), posted.text
    assert world["resources"].store("media").head(upload["key"]).size == len(jpeg.getvalue())
    assert alice.post(evidence_url, json={"content_type": "application/zip"}).status_code == 422
    assert bob.post(evidence_url, json={"content_type": "image/jpeg"}).status_code == 404
    alice.post(url(world, f"/v1/sos/{incident['incident_id']}/cancel"))
