"""Guardians follow the walk live: a signed, expiring link in the trip-started SMS.

The link is ``<public API>/v1/follow/<trip id>.<expiry s>.<signature>``, the signature HMAC-SHA256 of the
platform's follow-link key over ``follow:<trip id>:<expiry s>`` (nothing stored per link). It answers the trip's
newest fix and status; it stops working (410) once the walk has arrived, or at its expiry: the expected
arrival plus a grace period.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime

from chalicelib.errors import ApiError, NotFound
from chalicelib.models.common import Location
from chalicelib.models.follow import FollowView
from chalicelib.models.trip import Trip, TripStatus
from chalicelib.services.texts import kst

FOLLOW_GRACE_MS = 60 * 60_000  # a walk running late is still followed for an hour past its expected arrival
_TOKEN = re.compile(r"^(?P<trip_id>trip-[0-9a-f]{1,64})\.(?P<exp>\d{10})\.(?P<sig>[0-9a-f]{32})$")


class LinkGone(ApiError):
    """The link has ended (arrival or expiry)."""

    status, code = 410, "link_gone"


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class FollowLinks:
    def __init__(self, key: Callable[[], str], base_url: str) -> None:
        self._read = key
        self._key: bytes | None = None
        self._base = base_url.rstrip("/")

    def url(self, trip_id: str, expected_arrival_ms: int) -> tuple[str, int]:
        """The link for a trip, and when it expires (ms)."""
        expires_s = (expected_arrival_ms + FOLLOW_GRACE_MS) // 1000
        return f"{self._base}/v1/follow/{trip_id}.{expires_s}.{self._sign(trip_id, expires_s)}", expires_s * 1000

    def open(self, token: str, now_ms: int) -> tuple[str, int]:
        """The trip id and expiry a token grants; 404 for a forged or malformed one, 410 once expired."""
        match = _TOKEN.match(token)
        if match is None or not hmac.compare_digest(self._sign(match["trip_id"], int(match["exp"])), match["sig"]):
            raise NotFound("no such link")
        expires_ms = int(match["exp"]) * 1000
        if now_ms >= expires_ms:
            raise LinkGone(f"this link expired at {kst(expires_ms, 'en')}")
        return match["trip_id"], expires_ms

    def view(self, trip: Trip, expires_ms: int) -> FollowView:
        if trip.status is TripStatus.ARRIVED:
            raise LinkGone(f"the walk arrived at {kst(trip.arrived_ms or trip.last_seen_ms, 'en')}; this link has ended")
        fix = trip.last_fix
        where = "위치 수신 전" if fix is None else f"{kst(fix.t_ms, 'ko')} 기준 위치"
        return FollowView(
            trip_id=trip.trip_id, status=trip.status.value,
            position=None if fix is None else Location(lat=fix.lat, lon=fix.lon, accuracy_m=fix.accuracy_m),
            position_at=None if fix is None else _at(fix.t_ms),
            destination=Location(lat=trip.destination.lat, lon=trip.destination.lon),
            expected_arrival_at=_at(trip.expected_arrival_ms), link_expires_at=_at(expires_ms),
            text=f"귀가 중: {where}, 도착 예정 {kst(trip.expected_arrival_ms, 'ko')}")

    def _sign(self, trip_id: str, expires_s: int) -> str:
        if self._key is None:
            self._key = self._read().encode()
        return hmac.new(self._key, f"follow:{trip_id}:{expires_s}".encode(), hashlib.sha256).hexdigest()[:32]
