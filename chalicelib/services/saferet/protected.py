"""Protected persons: safe zones (circles or polygons, with hours) and the zone-exit rule.

The rule is pure: a fix is inside a zone when the zone could contain it given the fix's accuracy
(benefit of the doubt), and an exit needs the last ``exit_fixes`` usable fixes all outside every
zone active at their time (KST). One alert per exit episode: the alert id carries the time the
person was first seen outside, and the record remembers the episode until they are back inside.
Each alert carries a search seed (photo, description, last-seen place and time).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from chalicelib.errors import ConditionFailed, Conflict, ValidationFailed
from chalicelib.models.alert import Alert, AlertKind
from chalicelib.models.protected import (
    PhotoUpload,
    ProtectedCreated,
    ProtectedPerson,
    ProtectedRegistration,
    SafeZone,
    SearchSeed,
)
from chalicelib.models.trip import PositionBatch, PositionFix
from chalicelib.ports import ObjectStore, Table
from chalicelib.services.geo import haversine_m, point_in_polygon, polyline_distance_m
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.saferet.alerts import AlertService
from chalicelib.services.saferet.trips import NearestCameras, ordered

logger = logging.getLogger(__name__)
KST = timezone(timedelta(hours=9), "KST")
PHOTO_MAX_BYTES = 5_000_000
PHOTO_UPLOAD_S = 900


@dataclass(frozen=True)
class ZoneRules:
    exit_fixes: int = 3
    max_accuracy_m: float = 100.0
    future_skew_s: int = 120


@dataclass(frozen=True)
class ZoneExit:
    fix: PositionFix
    since_ms: int
    zones: tuple[str, ...]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def zone_active(zone: SafeZone, t_ms: int) -> bool:
    """Whether the zone applies at ``t_ms`` (its hours are KST; none = always)."""
    if not zone.hours:
        return True
    local = datetime.fromtimestamp(t_ms / 1000, UTC).astimezone(KST)
    now = local.hour * 60 + local.minute
    for hours in zone.hours:
        start, end = _minutes(hours.start), _minutes(hours.end)
        if start < end:
            if local.weekday() in hours.days and start <= now < end:
                return True
        elif (local.weekday() in hours.days and now >= start) or \
                ((local.weekday() - 1) % 7 in hours.days and now < end):  # the overnight part
            return True
    return False


def inside_zone(fix: PositionFix, zone: SafeZone) -> bool:
    """Could the zone contain the fix, given its accuracy radius?"""
    if zone.center is not None and zone.radius_m is not None:
        return haversine_m(fix.lat, fix.lon, zone.center.lat, zone.center.lon) - fix.accuracy_m <= zone.radius_m
    assert zone.polygon is not None
    if bool(point_in_polygon(fix.lat, fix.lon, zone.ring)):
        return True
    ring = [*zone.ring, zone.ring[0]]
    return float(polyline_distance_m(fix.lat, fix.lon, ring)) <= fix.accuracy_m


def _outside(fix: PositionFix, zones: Sequence[SafeZone]) -> bool:
    """Certainly outside every zone active at the fix's time (False when none is active)."""
    active = [z for z in zones if zone_active(z, fix.t_ms)]
    return bool(active) and not any(inside_zone(fix, z) for z in active)


def zone_exit(fixes: Iterable[PositionFix], zones: Sequence[SafeZone], rules: ZoneRules) -> ZoneExit | None:
    usable = [f for f in ordered(fixes) if f.accuracy_m <= rules.max_accuracy_m]
    recent = usable[-rules.exit_fixes:]
    if len(recent) < rules.exit_fixes or not all(_outside(f, zones) for f in recent):
        return None
    first = len(usable) - rules.exit_fixes
    while first > 0 and _outside(usable[first - 1], zones):
        first -= 1
    active = tuple(z.name for z in zones if zone_active(z, recent[-1].t_ms))
    return ZoneExit(fix=recent[-1], since_ms=usable[first].t_ms, zones=active)


def _fix_sk(t_ms: int) -> str:
    return f"fix#{t_ms:013d}"


class ProtectedPersons:
    def __init__(self, table: Table, photos: ObjectStore, *, alerts: AlertService, cameras: NearestCameras,
                 rules: ZoneRules | None = None) -> None:
        self._table = table
        self._records = OwnedRecords(table, "PROTECTED")
        self._photos = photos
        self._alerts = alerts
        self._cameras = cameras
        self.rules = rules or ZoneRules()

    def register(self, owner_id: str, person_id: str, body: ProtectedRegistration, now_ms: int) -> ProtectedCreated:
        key = f"protected/{person_id}/photo.jpg"
        person = ProtectedPerson(person_id=person_id, owner_id=owner_id, name=body.name, kind=body.kind,
                                 description=body.description, zones=body.zones, photo_key=key, created_ms=now_ms)
        try:
            self._records.create(person_id, owner_id, person.model_dump(mode="json"), created_ms=now_ms)
        except Conflict:
            person = self.get(person_id, owner_id)
        post = self._photos.presigned_post(key, max_bytes=PHOTO_MAX_BYTES, expires_s=PHOTO_UPLOAD_S,
                                           content_type="image/jpeg")
        return ProtectedCreated(person=person, photo_upload=PhotoUpload(url=post.url, fields=post.fields, key=key,
                                                                        max_bytes=PHOTO_MAX_BYTES))

    def get(self, person_id: str, owner_id: str | None) -> ProtectedPerson:
        return ProtectedPerson.model_validate(self._records.get(person_id, owner_id))

    def add_positions(self, owner_id: str, person_id: str, batch: PositionBatch, now_ms: int) -> list[Alert]:
        person = self.get(person_id, owner_id)
        for i, fix in enumerate(batch.positions):
            if fix.t_ms > now_ms + self.rules.future_skew_s * 1000:
                raise ValidationFailed(f"positions.{i}.at is in the future")
        fixes = ordered(batch.positions)
        self._table.put_many([{"pk": f"PROTECTED#{person_id}", "sk": _fix_sk(f.t_ms), **f.model_dump(),
                               "expires_at": now_ms // 1000 + 7 * 86_400} for f in fixes])
        items = self._table.query("pk", f"PROTECTED#{person_id}", sort_between=(_fix_sk(0), _fix_sk(9_999_999_999_999)),
                                  limit=self.rules.exit_fixes * 4, descending=True)
        recent = ordered(PositionFix.model_validate({k: i[k] for k in ("t_ms", "lat", "lon", "accuracy_m")})
                         for i in items)
        found = zone_exit(recent, person.zones, self.rules)
        latest = recent[-1]
        back_inside = not _outside(latest, person.zones) and latest.accuracy_m <= self.rules.max_accuracy_m
        since = (person.outside_since_ms or found.since_ms) if found else (None if back_inside else person.outside_since_ms)
        raised: list[Alert] = []
        if found is not None and since is not None:
            alert = self._raise(person, found, since, now_ms)
            raised = [alert] if alert else []
        updated = person.model_copy(update={"last_fix": latest, "outside_since_ms": since,
                                            "alerts": [*person.alerts, *(a.alert_id for a in raised)]})
        try:
            self._table.put({**updated.model_dump(mode="json"), "pk": f"PROTECTED#{person_id}", "sk": "record"},
                            expect={"created_ms": person.created_ms})
        except ConditionFailed:
            logger.warning("protected person %s vanished while updating", person_id)
        return raised

    def _raise(self, person: ProtectedPerson, found: ZoneExit, since_ms: int, now_ms: int) -> Alert | None:
        cameras = self._cameras.nearest(found.fix.lat, found.fix.lon, k=5, radius_m=1000.0).cameras
        seed = SearchSeed(person_id=person.person_id, name=person.name, kind=person.kind,
                          description=person.description, photo_key=person.photo_key, last_seen=found.fix)
        left = datetime.fromtimestamp(since_ms / 1000, UTC).astimezone(KST)
        return self._alerts.raise_alert(
            f"{person.person_id}.zone-exit.{since_ms}", AlertKind.ZONE_EXIT, subject_owner_id=person.owner_id,
            reason=f"{person.name} ({person.kind.value}) left {', '.join(found.zones)} at {left:%H:%M} KST",
            now_ms=now_ms, last_position=found.fix, cameras=cameras, search=seed)
