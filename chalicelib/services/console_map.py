"""The console's map layers, pure: cameras in a box (grid-clustered past a limit) and district outlines."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.spatial import ConvexHull

from chalicelib.models.console_map import (
    CameraBox,
    CameraCollection,
    CameraFeature,
    CameraProperties,
    DistrictCollection,
    DistrictFeature,
    DistrictProperties,
    PointGeometry,
    PolygonGeometry,
)
from chalicelib.services.camera_index import CameraIndex
from chalicelib.services.districts import DISTRICTS, district_indices, in_han_river_mask, in_seoul_mask

GRID = 48  # cluster cells across the box's longer side: enough detail, a few hundred points at most
_OUTLINE_STEP = 0.002  # degrees between the sample points a district outline is drawn around (~200 m)


def cameras_in_box(index: CameraIndex, box: CameraBox) -> CameraCollection:
    lat, lon = index.coordinates()
    inside = np.flatnonzero((lat >= box.south) & (lat <= box.north) & (lon >= box.west) & (lon <= box.east))
    if len(inside) <= box.max_points:
        features = []
        for position in inside:
            camera = index.camera_at(int(position))
            features.append(CameraFeature(
                geometry=PointGeometry(coordinates=(round(camera.lon, 6), round(camera.lat, 6))),
                properties=CameraProperties(camera_id=camera.camera_id, district=camera.district,
                                            kind=camera.kind.value, status=camera.status.value)))
        return CameraCollection(features=features, total=len(inside), clustered=False)
    return CameraCollection(features=_grid_clusters(lat[inside], lon[inside], box), total=len(inside), clustered=True)


def _grid_clusters(lat: np.ndarray, lon: np.ndarray, box: CameraBox) -> list[CameraFeature]:
    """One point per occupied grid cell, at the mean position of its cameras, carrying their count."""
    step = max(box.north - box.south, box.east - box.west) / GRID
    rows = np.floor((lat - box.south) / step).astype(np.int64)
    cols = np.floor((lon - box.west) / step).astype(np.int64)
    cells = rows * (GRID * 4) + cols
    _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    mean_lat = np.bincount(inverse, weights=lat) / counts
    mean_lon = np.bincount(inverse, weights=lon) / counts
    return [CameraFeature(geometry=PointGeometry(coordinates=(round(float(x), 6), round(float(y), 6))),
                          properties=CameraProperties(cluster=int(n) > 1, point_count=int(n)))
            for x, y, n in zip(mean_lon, mean_lat, counts, strict=True)]


@lru_cache(maxsize=1)
def _outlines() -> tuple[tuple[tuple[float, float], ...], ...]:
    """Each district's outline: the convex hull of the city land cells nearest its centre (the catalog's
    own district rule), so it is approximate where a real boundary is concave."""
    lat_axis = np.arange(37.40, 37.72, _OUTLINE_STEP)
    lon_axis = np.arange(126.74, 127.22, _OUTLINE_STEP)
    lat, lon = (a.ravel() for a in np.meshgrid(lat_axis, lon_axis, indexing="ij"))
    land = in_seoul_mask(lat, lon) & ~in_han_river_mask(lat, lon)
    lat, lon = lat[land], lon[land]
    owner = district_indices(lat, lon)
    rings = []
    for d in range(len(DISTRICTS)):
        centres = np.column_stack([lon[owner == d], lat[owner == d]])
        half = _OUTLINE_STEP / 2  # each sample stands for its grid cell: hull the cells' corners
        points = np.vstack([centres + np.array([dx, dy]) for dx in (-half, half) for dy in (-half, half)])
        hull = ConvexHull(points)
        ring = [(round(float(points[i, 0]), 5), round(float(points[i, 1]), 5)) for i in hull.vertices]
        rings.append((*ring, ring[0]))
    return tuple(rings)


def district_outlines(counts: Sequence[int] | None = None) -> DistrictCollection:
    """The districts as polygons; ``counts`` (cameras per district, in DISTRICTS order) when known."""
    return DistrictCollection(features=[
        DistrictFeature(geometry=PolygonGeometry(coordinates=[list(ring)]),
                        properties=DistrictProperties(code=district.code, name=district.name,
                                                      cameras=counts[i] if counts else 0))
        for i, (district, ring) in enumerate(zip(DISTRICTS, _outlines(), strict=True))])


def cameras_per_district(index: CameraIndex) -> list[int]:
    names = {d.name: i for i, d in enumerate(DISTRICTS)}
    counts = [0] * len(DISTRICTS)
    for name, count in index.district_counts().items():
        if name in names:
            counts[names[name]] = count
    return counts
