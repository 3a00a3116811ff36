"""The operator queue's order: severity and confidence, raised while an SOS incident is near the camera.

``priority`` is pure. An SOS raises a camera's events when the camera is among the incident's
nearest cameras (the SOS service records them) or lies within ``radius_m`` of where it was
pressed, for as long as the incident is active (pending or escalated, and recent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SOS_BOOST = 100.0
SOS_RADIUS_M = 500.0
SOS_ACTIVE_S = 1800  # an incident older than this no longer raises anything


@dataclass(frozen=True)
class NearbyIncident:
    """What the queue needs to know of an SOS incident."""

    incident_id: str
    lat: float
    lon: float
    created_ms: int
    camera_ids: frozenset[str] = frozenset()


def base_priority(severity: int, score: float) -> float:
    """20..100 by severity (1..5), scaled by the firing's confidence (half weight)."""
    return round(severity * 20.0 * (0.5 + 0.5 * min(max(score, 0.0), 1.0)), 2)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(math.sqrt(a))


def incidents_near(camera_id: str, location: tuple[float, float] | None, incidents: Sequence[NearbyIncident],
                   now_ms: int, *, radius_m: float = SOS_RADIUS_M, active_s: int = SOS_ACTIVE_S) -> list[str]:
    """Ids of the active incidents that concern this camera."""
    near = []
    for incident in incidents:
        if now_ms - incident.created_ms > active_s * 1000:
            continue
        close = location is not None and haversine_m(location[0], location[1], incident.lat,
                                                     incident.lon) <= radius_m
        if camera_id in incident.camera_ids or close:
            near.append(incident.incident_id)
    return near


def priority(severity: int, score: float, sos_incidents: Sequence[str]) -> float:
    return base_priority(severity, score) + (SOS_BOOST if sos_incidents else 0.0)
