"""A realistic synthetic camera catalog for Seoul (development, tests and benchmarks; never shipped).

Cameras lie on land inside the city (:mod:`chalicelib.services.districts`); their density follows
a per-district weight and is lower on the large mountains and the airport.

    python -m local.seoul_catalog --count 100000   # (make seed-cameras) into the running local platform
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from chalicelib.adapters.resources import Resources
from chalicelib.cli import run_reporting_connection, show_progress
from chalicelib.models.camera import Camera, CameraKind, CameraStatus
from chalicelib.models.common import Location
from chalicelib.services.audit import AuditLog
from chalicelib.services.districts import (
    DISTRICTS,
    district_indices,
    in_han_river_mask,
    in_seoul_mask,
)
from chalicelib.services.geo import FloatArray
from chalicelib.settings import get_settings
from chalicelib.wiring.cameras import build_camera_registry

LANDMARKS: dict[str, Location] = {
    "Seoul City Hall": Location(lat=37.5663, lon=126.9779),
    "Gwanghwamun": Location(lat=37.5759, lon=126.9768),
    "Gangnam Station": Location(lat=37.4979, lon=127.0276),
    "Namsan Tower": Location(lat=37.5512, lon=126.9882),
    "Lotte World Tower": Location(lat=37.5126, lon=127.1025),
    "Hongik Univ. Station": Location(lat=37.5572, lon=126.9245),
    "Yeouido Park": Location(lat=37.5259, lon=126.9227),
}

_BBOX = (37.42, 37.71, 126.76, 127.19)  # lat min/max, lon min/max around the boundary
# Mountains, parks and the airport: (lat, lon, radius m); camera density there is scaled down.
_SPARSE = (
    (37.6600, 126.9800, 2500.0), (37.6950, 127.0150, 1500.0), (37.6850, 127.0800, 1300.0), (37.4450, 126.9640, 2000.0),
    (37.4620, 127.0100, 1200.0), (37.5510, 126.9880, 700.0), (37.5900, 126.9630, 900.0), (37.4650, 127.0800, 1000.0),
    (37.5700, 127.1000, 800.0), (37.5580, 126.7950, 1600.0),
)
_SPARSE_FACTOR = 0.15
_KIND_SHARES = ((CameraKind.CRIME_PREVENTION, 0.70), (CameraKind.TRAFFIC, 0.18), (CameraKind.SCHOOL_ZONE, 0.10),
                (CameraKind.DISASTER, 0.02))
_STATUS_SHARES = ((CameraStatus.ACTIVE, 0.96), (CameraStatus.MAINTENANCE, 0.025), (CameraStatus.OFFLINE, 0.015))

_COS = math.cos(math.radians(37.55))
_D_DENSITY = np.array([d.density for d in DISTRICTS])


def _land_points(rng: np.random.Generator, count: int, weighted: bool) -> tuple[FloatArray, FloatArray, NDArray[np.intp]]:
    """Rejection sampling: uniform in the bounding box, kept if on land inside the city and
    (when ``weighted``) with probability proportional to the local camera density."""
    lat_min, lat_max, lon_min, lon_max = _BBOX
    parts: list[tuple[FloatArray, FloatArray, NDArray[np.intp]]] = [(np.empty(0), np.empty(0), np.empty(0, np.intp))]
    total = 0
    while total < count:
        size = max(4 * (count - total), 4096)
        y, x = rng.uniform(lat_min, lat_max, size), rng.uniform(lon_min, lon_max, size)
        keep = in_seoul_mask(y, x)
        y, x = y[keep], x[keep]
        keep = ~in_han_river_mask(y, x)
        y, x = y[keep], x[keep]
        district = district_indices(y, x)
        if weighted:
            p = _D_DENSITY[district] / _D_DENSITY.max()
            for s_lat, s_lon, s_radius in _SPARSE:
                near = ((y - s_lat) * 111_195.0) ** 2 + ((x - s_lon) * 111_195.0 * _COS) ** 2 <= s_radius**2
                p = np.where(near, p * _SPARSE_FACTOR, p)
            keep = rng.random(len(y)) < p
            y, x, district = y[keep], x[keep], district[keep]
        parts.append((y, x, district))
        total += len(y)
    lat = np.concatenate([p[0] for p in parts])[:count]
    lon = np.concatenate([p[1] for p in parts])[:count]
    return lat, lon, np.concatenate([p[2] for p in parts])[:count]


def sample_points_in_seoul(count: int, seed: int = 11) -> tuple[FloatArray, FloatArray]:
    """``count`` points uniformly distributed over Seoul's land (for queries in tests and benchmarks)."""
    if count < 0:
        raise ValueError("count must be non-negative")
    lat, lon, _ = _land_points(np.random.default_rng(seed), count, weighted=False)
    return lat, lon


def generate_seoul_cameras(count: int = 100_000, seed: int = 7) -> list[Camera]:
    """``count`` cameras, deterministic for ``seed``, ordered by district then number."""
    if count < 0:
        raise ValueError("count must be non-negative")
    rng = np.random.default_rng(seed)
    lat, lon, district = _land_points(rng, count, weighted=True)
    kinds = rng.choice(len(_KIND_SHARES), size=count, p=[s for _, s in _KIND_SHARES])
    statuses = rng.choice(len(_STATUS_SHARES), size=count, p=[s for _, s in _STATUS_SHARES])
    order = np.lexsort((np.arange(count), district))
    cameras: list[Camera] = []
    numbers = dict.fromkeys(range(len(DISTRICTS)), 0)
    for i in order.tolist():
        d = int(district[i])
        numbers[d] += 1
        camera_id = f"SEL-{DISTRICTS[d].code}-{numbers[d]:06d}"
        cameras.append(Camera(
            camera_id=camera_id, kind=_KIND_SHARES[kinds[i]][0], district=DISTRICTS[d].name,
            lat=float(lat[i]), lon=float(lon[i]), stream_name=f"cam-{camera_id}",
            recording_prefix=f"footage/{camera_id}/", status=_STATUS_SHARES[statuses[i]][0]))
    return cameras


def load_seoul(count: int, seed: int, resources: Resources, *,
               progress: Callable[[int, int], None] | None = None) -> int:
    """Generate and load ``count`` synthetic cameras into the registry, audited like an admin load."""
    loaded = build_camera_registry(resources).load_catalog(generate_seoul_cameras(count=count, seed=seed),
                                                           progress=progress)
    AuditLog(resources.table("audit")).append("cameras.loaded", actor="admin-cli", details={"count": loaded, "seed": seed})
    return loaded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.seoul_catalog",
                                     description="load a synthetic Seoul camera catalog into the running local platform")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    def load() -> int:
        started = time.perf_counter()
        loaded = load_seoul(args.count, args.seed, Resources(get_settings()), progress=show_progress("cameras stored"))
        print(f"loaded {loaded} cameras in 25 districts in {time.perf_counter() - started:.1f} s")
        return 0

    return run_reporting_connection(load)


if __name__ == "__main__":
    sys.exit(main())
