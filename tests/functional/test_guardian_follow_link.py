"""A guardian's live-follow link: in the trip-started SMS (Korean, KST), it answers the walk's live position
and status through the API until arrival, and stops at arrival, at its expiry, and for any altered token."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import pytest
from xray_api_support import call

from chalicelib.api import context
from chalicelib.models.common import GeoPoint
from chalicelib.models.device import Device, GuardianContact
from chalicelib.models.trip import PositionBatch, PositionFix, TripStart
from chalicelib.services.owned import OwnedRecords
from local.capture import capture_topic, drain

OWNER = "app-alice"
CITY_HALL = (37.5665, 126.9780)
HOME = (37.5700, 126.9820)
DEVICE = "dev-00000000000000c1"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def follow(token: str) -> tuple[int, Any]:
    status, _, body = call("GET", f"/v1/follow/{token}", "", resource="/v1/follow/{token}",
                           path_parameters={"token": token})
    return status, body


@pytest.fixture
def saferet(aws):
    context.reset_platform()
    device = Device(device_id=DEVICE, owner_id=OWNER, platform="ios", created_ms=now_ms(),
                    guardians=[GuardianContact(name="엄마", phone="+821011112222")])
    OwnedRecords(aws.table("records"), "DEVICE").create(DEVICE, OWNER, device.model_dump(mode="json"),
                                                         created_ms=now_ms())
    yield context.platform().saferet
    context.reset_platform()


def test_the_guardian_follows_the_walk_live_until_arrival(aws, saferet):
    sms = capture_topic(aws, "guardian-sms", "capture-follow-sms")
    # GIVEN Alice starts a walk home
    trip = saferet.trips.start(OWNER, "trip-00000000000000c1", TripStart(
        device_id=DEVICE, origin=GeoPoint(lat=CITY_HALL[0], lon=CITY_HALL[1]),
        destination=GeoPoint(lat=HOME[0], lon=HOME[1])), now_ms())
    # THEN her guardian's SMS, in Korean with KST, carries the live-follow link
    [text] = [m for m in drain(aws, sms) if m["kind"] == "trip-started"]
    assert "실시간 위치" in text["text"] and "KST" in text["text"]
    url = re.search(r"https?://\S+", text["text"])
    assert url is not None and url.group(0) == text["follow_url"]
    token = urlparse(url.group(0)).path.rsplit("/", 1)[1]
    # WHEN the guardian opens it before the first fix THEN the walk is on, position not yet known
    status, view = follow(token)
    assert status == 200, view
    assert view["trip_id"] == trip.trip_id and view["status"] == "active" and view["position"] is None
    assert view["destination"] == {"lat": HOME[0], "lon": HOME[1], "accuracy_m": None}
    assert view["expected_arrival_at"].endswith("+09:00") and "KST" in view["text"]
    # WHEN the phone reports positions THEN the link shows the newest, as a location object with its time
    t = now_ms()
    saferet.trips.add_positions(OWNER, trip.trip_id, PositionBatch(positions=[
        PositionFix(t_ms=t - 2_000, lat=37.5670, lon=126.9785, accuracy_m=12.0),
        PositionFix(t_ms=t - 1_000, lat=37.5672, lon=126.9788, accuracy_m=8.0)]), t)
    status, view = follow(token)
    assert status == 200
    assert view["position"] == {"lat": 37.5672, "lon": 126.9788, "accuracy_m": 8.0}
    assert view["position_at"] is not None and view["position_at"].endswith("+09:00")  # shown in KST
    assert datetime.fromisoformat(view["position_at"]).timestamp() == (t - 1_000) / 1000
    # AND an altered token opens nothing
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert follow(forged)[0] == 404
    other_trip = token.replace(trip.trip_id, "trip-00000000000000c2")
    assert follow(other_trip)[0] == 404
    # WHEN she arrives THEN the link stops working
    saferet.trips.arrive(OWNER, trip.trip_id, now_ms())
    status, body = follow(token)
    assert status == 410 and body["error"]["code"] == "link_gone" and "arrived" in body["error"]["message"]


def test_a_link_past_its_expiry_is_gone(aws, saferet):
    trip = saferet.trips.start(OWNER, "trip-00000000000000c3", TripStart(
        device_id=DEVICE, origin=GeoPoint(lat=CITY_HALL[0], lon=CITY_HALL[1]),
        destination=GeoPoint(lat=HOME[0], lon=HOME[1])), now_ms())
    assert saferet.follow is not None
    # a link the platform signed for this trip, whose expiry (expected arrival + grace) has passed
    url, expires_ms = saferet.follow.url(trip.trip_id, now_ms() - 2 * 3600_000)
    assert expires_ms < now_ms()
    status, body = follow(urlparse(url).path.rsplit("/", 1)[1])
    assert status == 410 and "expired" in body["error"]["message"]
