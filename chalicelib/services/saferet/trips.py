"""Safe-return trips: start, position batches, arrival, and the detection rules.

The rules are pure functions over position fixes (sorted and de-duplicated first, so fixes may
arrive in any order and more than once). ``TripService`` stores the trip under ``TRIP#<id>``/``record``
in the records table (owner-scoped) with a marker per active trip the watchdog lists, and each fix in
the positions table under ``TRIP#<id>``/``<t_ms>`` (a repeated fix overwrites itself).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

from chalicelib.errors import ConditionFailed, Conflict, ValidationFailed
from chalicelib.models.alert import Alert, AlertKind
from chalicelib.models.camera import NearbyCameras
from chalicelib.models.common import GeoPoint
from chalicelib.models.trip import (
    RECENT_FIXES,
    Movement,
    PositionBatch,
    PositionFix,
    PositionsAccepted,
    Trip,
    TripStart,
    TripStatus,
)
from chalicelib.ports import Table
from chalicelib.services.geo import haversine_m, polyline_distance_m
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.saferet.alerts import AlertService
from chalicelib.services.saferet.follow import FollowLinks
from chalicelib.services.saferet.guardians import GuardianSms
from chalicelib.services.texts import ALERT_REASON_KO, kst, render

logger = logging.getLogger(__name__)
ACTIVE_TRIPS = "feed:active-trips"
FIX_RETENTION_S = 30 * 24 * 3600
MAX_TRIP_MS = 24 * 3600 * 1000


class NearestCameras(Protocol):
    def nearest(self, lat: float, lon: float, *, k: int = 5, radius_m: float = 3000.0) -> NearbyCameras: ...


@dataclass(frozen=True)
class DetectionRules:
    """Thresholds of the detection rules (metres, seconds)."""

    corridor_m: float = 50.0
    """Half-width of the corridor around a planned route."""
    straight_corridor_m: float = 250.0
    """Half-width around the straight line origin → destination when no route was given."""
    max_accuracy_m: float = 100.0
    """Fixes less accurate than this are ignored by the position rules."""
    off_route_fixes: int = 3
    """Consecutive fixes that must all be certainly outside the corridor."""
    stationary_s: int = 600
    stationary_radius_m: float = 30.0
    silent_s: int = 300
    overdue_grace_s: int = 600
    arrival_radius_m: float = 60.0
    """No stationary alarm this close to the destination."""
    walking_speed_mps: float = 1.2
    future_skew_s: int = 120
    """How far ahead of the server clock a fix's timestamp may be."""


@dataclass(frozen=True)
class Finding:
    """A rule that fired: what, why, and the fix it judged by."""

    kind: AlertKind
    reason: str
    fix: PositionFix | None


# ---------------------------------------------------------------- pure rules

def ordered(fixes: Iterable[PositionFix]) -> list[PositionFix]:
    """Fixes by time, one per timestamp (the most accurate of duplicates)."""
    best: dict[int, PositionFix] = {}
    for fix in fixes:
        kept = best.get(fix.t_ms)
        if kept is None or fix.accuracy_m < kept.accuracy_m:
            best[fix.t_ms] = fix
    return [best[t] for t in sorted(best)]


def path_length_m(path: Sequence[tuple[float, float]]) -> float:
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in pairwise(path))


def expected_arrival_ms(started_ms: int, route_length_m: float, rules: DetectionRules) -> int:
    """Start + walking time along the route, rounded up to the second."""
    return started_ms + math.ceil(route_length_m / rules.walking_speed_mps) * 1000


def off_route(fixes: Iterable[PositionFix], route: Sequence[tuple[float, float]], corridor_m: float,
              rules: DetectionRules) -> Finding | None:
    """Fires when the last ``off_route_fixes`` usable fixes are all outside the corridor even
    giving each the benefit of its accuracy radius (distance − accuracy > corridor)."""
    usable = [f for f in ordered(fixes) if f.accuracy_m <= rules.max_accuracy_m]
    recent = usable[-rules.off_route_fixes:]
    if len(recent) < rules.off_route_fixes:
        return None
    distances = polyline_distance_m([f.lat for f in recent], [f.lon for f in recent], route)
    margins = [float(d) - f.accuracy_m for d, f in zip(distances, recent, strict=True)]
    if min(margins) <= corridor_m:
        return None
    return Finding(AlertKind.OFF_ROUTE,
                   f"{float(distances[-1]):.0f} m from the route (corridor {corridor_m:.0f} m, "
                   f"±{recent[-1].accuracy_m:.0f} m) for {len(recent)} consecutive fixes", recent[-1])


def stationary(fixes: Iterable[PositionFix], destination: GeoPoint, rules: DetectionRules) -> Finding | None:
    """Fires when every usable fix of the last ``stationary_s`` seconds (a span the fixes really
    cover) lies within ``stationary_radius_m`` (plus its accuracy) of their centre, away from
    the destination."""
    usable = [f for f in ordered(fixes) if f.accuracy_m <= rules.max_accuracy_m]
    if len(usable) < 3:
        return None
    latest = usable[-1]
    window_start = latest.t_ms - rules.stationary_s * 1000
    before = [f for f in usable if f.t_ms <= window_start]
    if not before:
        return None  # the fixes do not yet cover a whole window
    window = [before[-1], *(f for f in usable if f.t_ms > window_start)]
    lat = sum(f.lat for f in window) / len(window)
    lon = sum(f.lon for f in window) / len(window)
    if any(haversine_m(f.lat, f.lon, lat, lon) > rules.stationary_radius_m + f.accuracy_m for f in window):
        return None
    if haversine_m(lat, lon, destination.lat, destination.lon) <= rules.arrival_radius_m:
        return None
    minutes = (latest.t_ms - window[0].t_ms) / 60_000
    return Finding(AlertKind.STATIONARY, f"has not moved more than {rules.stationary_radius_m:.0f} m "
                                         f"for {minutes:.0f} min", latest)


def silent(last_seen_ms: int, now_ms: int, last_fix: PositionFix | None, rules: DetectionRules) -> Finding | None:
    """Fires when no position batch arrived for ``silent_s`` seconds (server clock)."""
    quiet_s = (now_ms - last_seen_ms) / 1000
    if quiet_s <= rules.silent_s:
        return None
    return Finding(AlertKind.SILENT, f"no position for {quiet_s / 60:.0f} min", last_fix)


def overdue(expected_ms: int, now_ms: int, last_fix: PositionFix | None, rules: DetectionRules) -> Finding | None:
    """Fires when the trip is still active ``overdue_grace_s`` after the expected arrival."""
    late_s = (now_ms - expected_ms) / 1000
    if late_s <= rules.overdue_grace_s:
        return None
    return Finding(AlertKind.OVERDUE, f"{late_s / 60:.0f} min past the expected arrival", last_fix)


def track_movement(movement: Movement, fixes: Iterable[PositionFix], rules: DetectionRules) -> Movement:
    """Carry the movement witness over new fixes (in any order).

    Two usable fixes farther apart than twice the stationary radius plus both accuracies cannot both
    lie within the radius (plus accuracy) of one centre, so no stationary window holding both can
    fire. ``moved_ms`` is the older time of the newest such pair; the anchor is the newest fix of it
    (or the first usable fix), which the next fixes are measured from."""
    anchor, moved_ms = movement.anchor, movement.moved_ms
    for fix in fixes:
        if fix.accuracy_m > rules.max_accuracy_m:
            continue
        if anchor is None:
            anchor = fix
            continue
        apart = haversine_m(anchor.lat, anchor.lon, fix.lat, fix.lon)
        if apart > 2 * rules.stationary_radius_m + anchor.accuracy_m + fix.accuracy_m:
            moved_ms = max(moved_ms or 0, min(anchor.t_ms, fix.t_ms))
            anchor = max(anchor, fix, key=lambda f: f.t_ms)
    return Movement(anchor=anchor, moved_ms=moved_ms)


def surely_moving(movement: Movement, last_fix: PositionFix | None, rules: DetectionRules) -> bool:
    """True when a witnessed pair lies inside the stationary window ending at ``last_fix``: ``stationary``
    cannot fire on those fixes, so they need not be read. (Its window starts at its newest usable fix,
    never later than the newest fix.)"""
    return (movement.moved_ms is not None and last_fix is not None
            and movement.moved_ms > last_fix.t_ms - rules.stationary_s * 1000)


# ---------------------------------------------------------------- the service

STATIONARY_FIXES = 500
_MOVEMENT = "movement"
"""The trip record's attribute holding its ``Movement`` (kept out of the owner's ``Trip``)."""


class TripService:
    def __init__(self, table: Table, positions: Table, *, alerts: AlertService, guardians: GuardianSms,
                 cameras: NearestCameras, rules: DetectionRules | None = None, follow: FollowLinks | None = None) -> None:
        self._table = table
        self._positions = positions
        self._follow = follow
        self._records = OwnedRecords(table, "TRIP")
        self._alerts = alerts
        self._guardians = guardians
        self._cameras = cameras
        self.rules = rules or DetectionRules()

    # -- reads
    def get(self, trip_id: str, owner_id: str | None) -> Trip:
        return self._load(trip_id, owner_id)[0]

    def _load(self, trip_id: str, owner_id: str | None) -> tuple[Trip, Movement]:
        body = self._records.get(trip_id, owner_id)
        movement = Movement.model_validate(body.pop(_MOVEMENT, {}))
        return Trip.model_validate(body), movement

    def fixes(self, trip_id: str, since_ms: int = 0, until_ms: int = 9_999_999_999_999, *,
              latest: int | None = None) -> list[PositionFix]:
        """Stored fixes in time order; ``latest=n`` reads only the newest n."""
        items = self._positions.query("track", f"TRIP#{trip_id}", sort_between=(since_ms, until_ms),
                                      limit=latest, descending=latest is not None)
        fixes = [PositionFix.model_validate({k: i[k] for k in ("t_ms", "lat", "lon", "accuracy_m")}) for i in items]
        return sorted(fixes, key=lambda f: f.t_ms)

    def active_trip_ids(self, limit: int = 10_000) -> list[str]:
        items = self._table.query("owner_id", ACTIVE_TRIPS, index="by-owner", limit=limit)
        return [str(i["trip_id"]) for i in items if "trip_id" in i]

    # -- writes
    def start(self, owner_id: str, trip_id: str, body: TripStart, now_ms: int) -> Trip:
        """Create the trip (an existing id answers the stored trip: idempotent retries)."""
        device = self._guardians.device(body.device_id, owner_id)  # 404 for another owner's device
        route = body.route_points or [(body.origin.lat, body.origin.lon), (body.destination.lat, body.destination.lon)]
        length = path_length_m(route)
        expected = body.expected_arrival_ms or expected_arrival_ms(now_ms, length, self.rules)
        if not now_ms < expected <= now_ms + MAX_TRIP_MS:
            raise ValidationFailed("expected_arrival must be in the future and within 24 hours")
        trip = Trip(trip_id=trip_id, owner_id=owner_id, device_id=body.device_id, status=TripStatus.ACTIVE,
                    origin=body.origin, destination=body.destination, route=route, route_given=body.route is not None,
                    route_length_m=round(length, 1), started_ms=now_ms, expected_arrival_ms=expected,
                    last_seen_ms=now_ms, created_ms=now_ms)
        try:
            self._records.create(trip_id, owner_id, trip.model_dump(mode="json"), created_ms=now_ms)
        except Conflict:
            return self.get(trip_id, owner_id)
        self._table.put({"pk": f"ACTIVE#TRIP#{trip_id}", "sk": "marker", "owner_id": ACTIVE_TRIPS,
                         "created_ms": now_ms, "trip_id": trip_id})
        minutes = f"{(expected - now_ms) / 60_000:.0f}"
        link = None if self._follow is None else self._follow.url(trip_id, expected)

        def text(lang: str) -> str:
            started = render("trip-started", lang, eta=kst(expected, lang), minutes=minutes)
            return started if link is None else \
                f"{started} {render('follow-link', lang, url=link[0], expires=kst(link[1], lang))}"

        self._guardians.notify(body.device_id, "trip-started", text,
                               context={"trip_id": trip_id, "expected_arrival_ms": expected,
                                        "destination": body.destination.model_dump(),
                                        **({"follow_url": link[0]} if link else {})}, device=device)
        return trip

    def add_positions(self, owner_id: str, trip_id: str, batch: PositionBatch, now_ms: int) -> PositionsAccepted:
        trip, movement = self._load(trip_id, owner_id)
        if trip.status is not TripStatus.ACTIVE:
            raise Conflict(f"trip {trip_id} is {trip.status.value}")
        for i, fix in enumerate(batch.positions):
            if fix.t_ms > now_ms + self.rules.future_skew_s * 1000:
                raise ValidationFailed(f"positions.{i}.at is in the future")
            if fix.t_ms < trip.started_ms - 10 * 60_000:
                raise ValidationFailed(f"positions.{i}.at is before the trip started")
        fixes = ordered(batch.positions)
        expires_at = now_ms // 1000 + FIX_RETENTION_S
        self._positions.put_many([{"track": f"TRIP#{trip_id}", **f.model_dump(), "expires_at": expires_at}
                                  for f in fixes])
        trip = self._record_fixes(trip, movement, fixes, now_ms)
        # Off-route needs only the newest fixes (kept on the trip); stationary is the watchdog's.
        recent = trip.recent_fixes
        corridor = self.rules.corridor_m if trip.route_given else self.rules.straight_corridor_m
        finding = off_route(recent, trip.route, corridor, self.rules)
        raised = [a.alert_id for a in self._raise(trip, [finding] if finding else [], now_ms)]
        return PositionsAccepted(trip_id=trip_id, accepted=len(fixes), alerts=raised)

    def _record_fixes(self, trip: Trip, movement: Movement, fixes: list[PositionFix], now_ms: int) -> Trip:
        """Advance the trip's last fix / last seen / count / movement; compare-and-set on the fix count."""
        for _ in range(5):
            last = trip.last_fix
            if last is None or fixes[-1].t_ms >= last.t_ms:
                last = fixes[-1]
            recent = ordered([*trip.recent_fixes, *fixes])[-RECENT_FIXES:]
            updated = trip.model_copy(update={"last_fix": last, "last_seen_ms": max(now_ms, trip.last_seen_ms),
                                              "fixes": trip.fixes + len(fixes), "recent_fixes": recent})
            try:
                self._put(updated, track_movement(movement, fixes, self.rules),
                          expect={"fixes": trip.fixes, "status": TripStatus.ACTIVE.value})
                return updated
            except ConditionFailed:
                trip, movement = self._load(trip.trip_id, None)
                if trip.status is not TripStatus.ACTIVE:
                    raise Conflict(f"trip {trip.trip_id} is {trip.status.value}") from None
        raise Conflict(f"trip {trip.trip_id} is being updated concurrently; retry")

    def _put(self, trip: Trip, movement: Movement, *, expect: dict[str, Any]) -> None:
        item = {**trip.model_dump(mode="json"), _MOVEMENT: movement.model_dump(mode="json"),
                "pk": f"TRIP#{trip.trip_id}", "sk": "record"}
        self._table.put(item, expect=expect)

    def arrive(self, owner_id: str, trip_id: str, now_ms: int) -> Trip:
        trip = self.get(trip_id, owner_id)
        if trip.status is TripStatus.ARRIVED:
            return trip
        arrived = trip.model_copy(update={"status": TripStatus.ARRIVED, "arrived_ms": now_ms})
        try:
            self._records.replace(trip_id, arrived.model_dump(mode="json"),
                                  expect={"status": TripStatus.ACTIVE.value})
        except Conflict:
            return self.get(trip_id, owner_id)
        self._table.delete({"pk": f"ACTIVE#TRIP#{trip_id}", "sk": "marker"})
        self._guardians.notify(trip.device_id, "trip-arrived",
                               lambda lang: render("trip-arrived", lang, time=kst(now_ms, lang)),
                               context={"trip_id": trip_id, "arrived_ms": now_ms})
        return arrived

    def check(self, trip_id: str, now_ms: int) -> list[Alert]:
        """The watchdog's look at one active trip: silent, overdue, stationary."""
        trip, movement = self._load(trip_id, None)
        if trip.status is not TripStatus.ACTIVE:
            self._table.delete({"pk": f"ACTIVE#TRIP#{trip_id}", "sk": "marker"})
            return []
        findings = [silent(trip.last_seen_ms, now_ms, trip.last_fix, self.rules),
                    overdue(trip.expected_arrival_ms, now_ms, trip.last_fix, self.rules)]
        if trip.last_fix is not None and not surely_moving(movement, trip.last_fix, self.rules):
            since = trip.last_fix.t_ms - (self.rules.stationary_s + 600) * 1000
            # The newest STATIONARY_FIXES at most: a phone's rate (a fix every few seconds) fits the window
            # whole, and a flood of fixes cannot make one watchdog read (and the table behind it) unbounded.
            window = self.fixes(trip_id, since_ms=since, latest=STATIONARY_FIXES)
            findings.append(stationary(window, trip.destination, self.rules))
        return self._raise(trip, [f for f in findings if f is not None], now_ms)

    def _raise(self, trip: Trip, findings: list[Finding], now_ms: int) -> list[Alert]:
        raised = []
        for finding in findings:
            where = finding.fix or trip.last_fix
            point = (where.lat, where.lon) if where else (trip.origin.lat, trip.origin.lon)
            cameras = self._cameras.nearest(point[0], point[1], k=5, radius_m=1000.0).cameras
            alert = self._alerts.raise_alert(f"{trip.trip_id}.{finding.kind.value}", finding.kind,
                                             subject_owner_id=trip.owner_id, reason=finding.reason, now_ms=now_ms,
                                             last_position=where, cameras=cameras, trip_id=trip.trip_id)
            if alert is None:
                continue  # raised before
            raised.append(alert)
            self._guardians.notify(trip.device_id, f"trip-{finding.kind.value}", _alert_text(finding, now_ms),
                                   context={"trip_id": trip.trip_id, "alert_id": alert.alert_id,
                                            "last_position": where.model_dump() if where else None})
        if raised:
            self._add_alert_ids(trip.trip_id, [a.alert_id for a in raised])
        return raised

    def _add_alert_ids(self, trip_id: str, alert_ids: list[str]) -> None:
        for _ in range(5):
            trip, movement = self._load(trip_id, None)
            body: dict[str, Any] = {**trip.model_copy(update={"alerts": [*trip.alerts, *alert_ids]}).model_dump(
                mode="json"), _MOVEMENT: movement.model_dump(mode="json")}
            try:
                self._records.replace(trip_id, body, expect={"fixes": trip.fixes, "status": trip.status.value,
                                                             "last_seen_ms": trip.last_seen_ms})
                return
            except Conflict:
                continue
        logger.warning("could not record alerts %s on trip %s", alert_ids, trip_id)


def _alert_text(finding: Finding, now_ms: int) -> Callable[[str], str]:
    """A guardian's alert SMS in their language (the rules' reasons are English)."""
    reasons = {"ko": ALERT_REASON_KO.get(finding.kind.value, finding.reason), "en": finding.reason}
    return lambda lang: render("trip-alert", lang, time=kst(now_ms, lang), reason=reasons.get(lang, reasons["en"]))
