"""The console's map layers: cameras in a box (every one, or grid clusters that add up) and district outlines."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from chalicelib.models.console_map import CameraBox
from chalicelib.services.camera_index import CameraIndex
from chalicelib.services.console_map import cameras_in_box, cameras_per_district, district_outlines
from chalicelib.services.districts import DISTRICTS
from chalicelib.services.geo import point_in_polygon
from local.seoul_catalog import generate_seoul_cameras

CAMERAS = generate_seoul_cameras(count=5_000, seed=5)
INDEX = CameraIndex(CAMERAS)


def _inside(box: CameraBox) -> set[str]:
    return {c.camera_id for c in CAMERAS if box.south <= c.lat <= box.north and box.west <= c.lon <= box.east}


def test_a_small_box_lists_every_camera_in_it_as_a_point_in_geojson_order():
    # GIVEN a box around City Hall holding fewer cameras than the limit
    box = CameraBox(south=37.55, north=37.58, west=126.96, east=127.00, max_points=3000)
    expected = _inside(box)
    # WHEN the map asks for it
    found = cameras_in_box(INDEX, box)
    # THEN every camera inside, and only those, comes back as a [lon, lat] point
    assert not found.clustered and found.total == len(expected) > 0
    assert {f.properties.camera_id for f in found.features} == expected
    by_id = {c.camera_id: c for c in CAMERAS}
    for feature in found.features[:50]:
        camera = by_id[feature.properties.camera_id or ""]
        assert feature.geometry.coordinates == pytest.approx((camera.lon, camera.lat), abs=1e-6)


def test_the_whole_city_comes_as_clusters_whose_counts_add_up_to_the_cameras_in_the_box():
    box = CameraBox(max_points=500)
    found = cameras_in_box(INDEX, box)
    assert found.clustered and found.total == len(_inside(box)) == len(CAMERAS)
    assert sum(f.properties.point_count for f in found.features) == found.total
    assert len(found.features) < found.total / 5  # clustering actually reduces the points
    lon = np.array([f.geometry.coordinates[0] for f in found.features])
    lat = np.array([f.geometry.coordinates[1] for f in found.features])
    assert ((lat >= box.south) & (lat <= box.north) & (lon >= box.west) & (lon <= box.east)).all()


def test_a_box_must_be_ordered():
    with pytest.raises(ValidationError, match="south must be below north"):
        CameraBox(south=37.6, north=37.5)


def test_district_outlines_are_25_closed_rings_around_their_cameras():
    outlines = district_outlines(cameras_per_district(INDEX))
    assert [f.properties.code for f in outlines.features] == [d.code for d in DISTRICTS]
    assert sum(f.properties.cameras for f in outlines.features) == len(CAMERAS)
    for feature in outlines.features:
        ring = feature.geometry.coordinates[0]
        assert ring[0] == ring[-1] and len(ring) >= 4
        mine = [c for c in CAMERAS if c.district == feature.properties.name]
        inside = point_in_polygon([c.lat for c in mine], [c.lon for c in mine], [(lat, lon) for lon, lat in ring])
        assert inside.mean() > 0.9, feature.properties.name  # the outline covers the district's cameras
