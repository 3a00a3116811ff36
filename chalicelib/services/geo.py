"""Pure geodesy on a spherical Earth: great-circle distances, unit-sphere vectors, polygons.

Scalar helpers use ``math`` (cheap per call); the ``*_array`` helpers broadcast over numpy
arrays. Polygons and polylines are sequences of ``(lat, lon)`` pairs in degrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
LatLonPath = Sequence[tuple[float, float]] | FloatArray


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_m_array(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> FloatArray:
    """Broadcasting :func:`haversine_m`."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    out: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


def unit_xyz(lat: ArrayLike, lon: ArrayLike) -> FloatArray:
    """Points on the unit sphere, shape ``(..., 3)``; straight-line (chord) distance between
    two of them grows monotonically with their great-circle distance."""
    p, q = np.radians(lat), np.radians(lon)
    cos_p = np.cos(p)
    return np.stack(np.broadcast_arrays(cos_p * np.cos(q), cos_p * np.sin(q), np.sin(p)), axis=-1)


def unit_xyz_point(lat: float, lon: float) -> tuple[float, float, float]:
    """:func:`unit_xyz` for one point, without numpy overhead."""
    p, q = math.radians(lat), math.radians(lon)
    return math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)


def arc_m_to_chord(arc_m: float) -> float:
    """Unit-sphere chord length subtending a great-circle arc of ``arc_m`` metres (capped at 2)."""
    theta = min(max(arc_m, 0.0) / EARTH_RADIUS_M, math.pi)
    return 2 * math.sin(theta / 2)


def chord_to_arc_m(chord: float) -> float:
    """Inverse of :func:`arc_m_to_chord`."""
    return 2 * EARTH_RADIUS_M * math.asin(min(max(chord, 0.0) / 2, 1.0))


def chord_to_arc_m_array(chord: ArrayLike) -> FloatArray:
    """Broadcasting :func:`chord_to_arc_m`."""
    out: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord, dtype=np.float64) / 2, 0.0, 1.0))
    return out


def _path(points: LatLonPath, minimum: int, what: str) -> tuple[FloatArray, FloatArray]:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < minimum:
        raise ValueError(f"{what} needs at least {minimum} (lat, lon) pairs")
    return arr[:, 0], arr[:, 1]


def point_in_polygon(lat: ArrayLike, lon: ArrayLike, polygon: LatLonPath) -> BoolArray:
    """Even-odd ray casting in the (lon, lat) plane; fine for city-sized polygons away from the
    poles and the antimeridian. The polygon is implicitly closed. Returns a boolean array."""
    y, x = np.broadcast_arrays(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))
    py, px = _path(polygon, 3, "a polygon")
    inside = np.zeros(x.shape, dtype=np.bool_)
    for i in range(len(py)):
        yi, xi, yj, xj = py[i], px[i], py[i - 1], px[i - 1]
        if yi == yj:
            continue  # a horizontal edge never straddles the ray under the half-open rule
        straddles = (yi > y) != (yj > y)
        inside ^= straddles & (x < xi + (y - yi) * (xj - xi) / (yj - yi))
    return inside


def polyline_distance_m(lat: ArrayLike, lon: ArrayLike, polyline: LatLonPath) -> FloatArray:
    """Distance in metres from each point to the nearest segment of ``polyline``.

    Uses an equirectangular projection about the polyline's mean latitude: within a few tens of
    kilometres of the line the error stays well under 0.5%.
    """
    ly, lx = _path(polyline, 2, "a polyline")
    scale_x = EARTH_RADIUS_M * math.radians(1.0) * math.cos(math.radians(float(ly.mean())))
    scale_y = EARTH_RADIUS_M * math.radians(1.0)
    py = np.asarray(lat, dtype=np.float64) * scale_y
    px = np.asarray(lon, dtype=np.float64) * scale_x
    py, px = np.broadcast_arrays(py, px)
    ay, ax = ly * scale_y, lx * scale_x
    best = np.full(px.shape, np.inf)
    for i in range(len(ay) - 1):
        dy, dx = ay[i + 1] - ay[i], ax[i + 1] - ax[i]
        length2 = dy * dy + dx * dx
        t = 0.0 if length2 == 0 else np.clip(((py - ay[i]) * dy + (px - ax[i]) * dx) / length2, 0.0, 1.0)
        np.minimum(best, np.hypot(py - (ay[i] + t * dy), px - (ax[i] + t * dx)), out=best)
    return best
