"""Which agency receives an incident, and which district's control center it belongs to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from chalicelib.models.dispatch import AgencyTarget
from chalicelib.models.sos import DistrictRef, EmergencyKind
from chalicelib.services.districts import district_at

T = TypeVar("T")

_AGENCY: dict[EmergencyKind, AgencyTarget] = {
    EmergencyKind.CRIME: AgencyTarget.POLICE,
    EmergencyKind.FALL: AgencyTarget.POLICE,  # police check on the person and call 119 when needed
    EmergencyKind.OTHER: AgencyTarget.POLICE,
    EmergencyKind.FIRE: AgencyTarget.FIRE,
    EmergencyKind.MEDICAL: AgencyTarget.FIRE,  # 119 runs the ambulances
}
# Selective-monitoring and sensor event types that are disasters, not crimes: the disaster situation room.
DISASTER_EVENTS = frozenset({"flood", "landslide", "earthquake", "collapse", "crowd-crush", "heavy-snow"})


def agency_for(kind: EmergencyKind) -> AgencyTarget:
    return _AGENCY[kind]


def agency_for_event(event_type: str) -> AgencyTarget:
    """A disaster-type event goes to the disaster room; fire/smoke to 119; anything else to 112."""
    if event_type in DISASTER_EVENTS:
        return AgencyTarget.DISASTER_ROOM
    if event_type in {"fire", "smoke"}:
        return AgencyTarget.FIRE
    return AgencyTarget.POLICE


def district_of(lat: float, lon: float) -> DistrictRef | None:
    """The district (gu) of a point, from the same geography the camera catalog is generated from."""
    district = district_at(lat, lon)
    return None if district is None else DistrictRef(code=district.code, name=district.name)


def district_first[T](items: Sequence[T], district: str | None, district_of_item: Callable[[T], str | None]) -> list[T]:
    """The operator's own district first (newest first within each part), then the others: they can hand over."""
    if district is None:
        return list(items)
    own = [i for i in items if district_of_item(i) == district]
    return own + [i for i in items if district_of_item(i) != district]
