"""Realistic phone GPS tracks for tests, the demo and the benchmark (development only).

A walker moves along a path at walking speed; each fix gets Gaussian position noise, a reported
accuracy radius, and the batches a phone uploads can be shuffled and repeated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import pairwise

from chalicelib.models.common import instant
from chalicelib.models.trip import PositionFix
from chalicelib.services.geo import EARTH_RADIUS_M, haversine_m

CITY_HALL = (37.56650, 126.97800)
"""Seoul City Hall."""
GWANGHWAMUN = (37.57590, 126.97690)
"""Gwanghwamun Square, ~1 km north of City Hall."""
HOME_ROUTE: tuple[tuple[float, float], ...] = (CITY_HALL, (37.56890, 126.97760), (37.57210, 126.97710), GWANGHWAMUN)
"""A walk home from City Hall up Sejong-daero to Gwanghwamun."""


def offset(point: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat, lon = point
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def along(path: Sequence[tuple[float, float]], distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` along ``path`` (its end when the path is shorter)."""
    for a, b in pairwise(path):
        leg = haversine_m(a[0], a[1], b[0], b[1])
        if distance_m <= leg and leg > 0:
            f = distance_m / leg
            return a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])
        distance_m -= leg
    return path[-1]


def walk(path: Sequence[tuple[float, float]], *, start_ms: int, seconds: float, every_s: float = 5.0,
         speed_mps: float = 1.2, noise_m: float = 6.0, accuracy_m: tuple[float, float] = (8.0, 20.0),
         seed: int = 7) -> list[PositionFix]:
    """Fixes every ``every_s`` for ``seconds`` while walking ``path`` (standing at its end after)."""
    rng = random.Random(seed)
    fixes = []
    steps = int(seconds // every_s) + 1
    for i in range(steps):
        t = i * every_s
        point = along(path, speed_mps * t)
        noisy = offset(point, rng.gauss(0, noise_m), rng.gauss(0, noise_m))
        fixes.append(PositionFix(t_ms=start_ms + int(t * 1000), lat=round(noisy[0], 7), lon=round(noisy[1], 7),
                                 accuracy_m=round(rng.uniform(*accuracy_m), 1)))
    return fixes


def stand(point: tuple[float, float], *, start_ms: int, seconds: float, every_s: float = 5.0,
          noise_m: float = 6.0, seed: int = 7) -> list[PositionFix]:
    """Fixes of somebody standing still (GPS jitter only)."""
    return walk([point, point], start_ms=start_ms, seconds=seconds, every_s=every_s, speed_mps=0.0,
                noise_m=noise_m, seed=seed)


def as_uploaded(fixes: Sequence[PositionFix], *, seed: int = 11, duplicates: float = 0.2) -> list[PositionFix]:
    """How a phone with a flaky connection delivers them: shuffled, some sent twice."""
    rng = random.Random(seed)
    out = list(fixes) + [f for f in fixes if rng.random() < duplicates]
    rng.shuffle(out)
    return out


def as_api(fixes: Sequence[PositionFix]) -> list[dict[str, object]]:
    """Fixes as the HTTP API takes them: an RFC 3339 time (KST) and a location object each."""
    return [{"at": instant(f.t_ms).isoformat(), "location": {"lat": f.lat, "lon": f.lon, "accuracy_m": f.accuracy_m}}
            for f in fixes]


def points_api(path: Sequence[tuple[float, float]]) -> list[dict[str, float]]:
    """(lat, lon) pairs as the API's location objects."""
    return [{"lat": lat, "lon": lon} for lat, lon in path]
