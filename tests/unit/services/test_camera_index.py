"""CameraIndex: answers equal a brute-force haversine sort; radius, notes, filters, snapshots."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import ValidationFailed
from chalicelib.models.camera import Camera, CameraKind, CameraStatus, NearbyCameras
from chalicelib.services.camera_index import CameraIndex
from chalicelib.services.geo import EARTH_RADIUS_M, haversine_m_array

KINDS = list(CameraKind)
STATUSES = list(CameraStatus)


def random_cameras(seed: int, n: int, *, spread_deg: float = 0.05,
                   center: tuple[float, float] = (37.55, 126.99)) -> list[Camera]:
    rng = np.random.default_rng(seed)
    lat = center[0] + rng.uniform(-spread_deg, spread_deg, n)
    lon = center[1] + rng.uniform(-spread_deg, spread_deg, n)
    return [Camera(camera_id=f"C-{i:05d}", kind=KINDS[i % 4], district=f"D{i % 7}", lat=float(lat[i]),
                   lon=float(lon[i]), stream_name=f"cam-C-{i:05d}" if i % 3 else None,
                   recording_prefix=f"footage/C-{i:05d}/" if i % 2 else None, status=STATUSES[i % 3])
            for i in range(n)]


def brute_force(cameras: list[Camera], lat: float, lon: float, k: int, radius_m: float,
                accept: Callable[[Camera], bool] | None = None) -> list[tuple[str, float]]:
    """(camera_id, distance) of the k nearest accepted cameras within the radius, ties by position."""
    lats = np.array([c.lat for c in cameras])
    lons = np.array([c.lon for c in cameras])
    d = haversine_m_array(lat, lon, lats, lons)
    order = [int(i) for i in np.lexsort((np.arange(len(d)), d)) if d[i] <= radius_m]
    if accept is not None:
        order = [i for i in order if accept(cameras[i])]
    return [(cameras[i].camera_id, float(d[i])) for i in order[:k]]


def assert_same(result: NearbyCameras, expected: list[tuple[str, float]]) -> None:
    """Same cameras in the same order, at the same distances (to float rounding)."""
    assert [n.camera.camera_id for n in result.cameras] == [camera_id for camera_id, _ in expected]
    assert [n.distance_m for n in result.cameras] == pytest.approx([d for _, d in expected], rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), k=st.integers(1, 50),
       radius_m=st.floats(1.0, 50_000.0), dlat=st.floats(-0.08, 0.08), dlon=st.floats(-0.08, 0.08))
def test_nearest_equals_brute_force(seed: int, n: int, k: int, radius_m: float, dlat: float, dlon: float) -> None:
    # GIVEN a random catalog  WHEN querying anywhere near it  THEN the answer is the brute-force sort
    cameras = random_cameras(seed, n)
    index = CameraIndex(cameras)
    lat, lon = 37.55 + dlat, 126.99 + dlon
    result = index.nearest(lat, lon, k=k, radius_m=radius_m)
    expected = brute_force(cameras, lat, lon, k, radius_m)
    assert_same(result, expected)
    assert result.requested == k
    assert result.radius_m == radius_m
    assert result.complete is (len(expected) == k)
    assert all(n.distance_m <= radius_m for n in result.cameras)
    assert [n.distance_m for n in result.cameras] == sorted(n.distance_m for n in result.cameras)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 20), modulus=st.integers(2, 40))
def test_accept_filter_widens_until_k_accepted(seed: int, k: int, modulus: int) -> None:
    # GIVEN a filter that accepts only one camera in `modulus`
    cameras = random_cameras(seed, 600, spread_deg=0.02)
    index = CameraIndex(cameras)
    seen: list[str] = []

    def wanted(camera: Camera) -> bool:
        return int(camera.camera_id[2:]) % modulus == 0

    def accept(camera: Camera) -> bool:
        seen.append(camera.camera_id)
        return wanted(camera)

    # WHEN the nearest accepted cameras are requested
    result = index.nearest(37.55, 126.99, k=k, radius_m=2_000.0, accept=accept)
    # THEN they equal the brute-force filtered sort, and no camera was offered twice
    expected = brute_force(cameras, 37.55, 126.99, k, 2_000.0, wanted)
    assert_same(result, expected)
    assert len(seen) == len(set(seen))
    assert result.complete is (len(expected) == k)


def test_accept_stops_offering_once_k_found() -> None:
    cameras = random_cameras(3, 2_000, spread_deg=0.02)
    offered: list[Camera] = []

    def accept(camera: Camera) -> bool:
        offered.append(camera)
        return True

    result = CameraIndex(cameras).nearest(37.55, 126.99, k=3, accept=accept)
    assert len(result.cameras) == 3
    assert len(offered) == 3


def test_accept_rejecting_everything_reports_none() -> None:
    index = CameraIndex(random_cameras(1, 300))
    result = index.nearest(37.55, 126.99, k=5, radius_m=1_000.0, accept=lambda c: False)
    assert result.cameras == []
    assert result.complete is False
    assert result.note == "no matching cameras within 1000 m"


def test_accept_sees_real_camera_fields() -> None:
    cameras = random_cameras(9, 500)
    with_footage = CameraIndex(cameras).nearest(37.55, 126.99, k=10, radius_m=50_000.0,
                                                accept=lambda c: c.recording_prefix is not None)
    assert len(with_footage.cameras) == 10
    assert all(n.camera.recording_prefix for n in with_footage.cameras)


def test_fewer_than_k_within_radius_is_incomplete_with_note() -> None:
    # GIVEN two cameras within 3 km of City Hall and one 20 km away
    near = [Camera(camera_id=f"N{i}", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=37.5663 + 0.005 * i,
                   lon=126.9779) for i in (1, 2)]
    far = Camera(camera_id="FAR", kind=CameraKind.TRAFFIC, district="Gangnam-gu", lat=37.38, lon=126.9779)
    index = CameraIndex([far, *near])
    # WHEN five are requested
    result = index.nearest(37.5663, 126.9779, k=5, radius_m=3000.0)
    # THEN only the two are returned, nearest first, and the answer says so
    assert [n.camera.camera_id for n in result.cameras] == ["N1", "N2"]
    assert result.complete is False
    assert result.note == "only 2 cameras within 3000 m"
    one = index.nearest(37.5663, 126.9779, k=5, radius_m=700.0)
    assert one.note == "only 1 camera within 700 m"
    full = index.nearest(37.5663, 126.9779, k=3, radius_m=50_000.0)
    assert full.complete is True
    assert full.note is None
    assert [n.camera.camera_id for n in full.cameras] == ["N1", "N2", "FAR"]


def test_radius_boundary_is_inclusive_and_exact() -> None:
    # GIVEN a camera exactly 1000 m north (by haversine) of the query point
    dlat = np.degrees(1000.0 / EARTH_RADIUS_M)
    camera = Camera(camera_id="X", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=37.5 + dlat, lon=127.0)
    distance = float(haversine_m_array(37.5, 127.0, camera.lat, camera.lon))
    index = CameraIndex([camera])
    assert len(index.nearest(37.5, 127.0, k=1, radius_m=distance).cameras) == 1
    assert index.nearest(37.5, 127.0, k=1, radius_m=float(np.nextafter(distance, 0))).cameras == []


def test_duplicate_locations_are_all_found() -> None:
    cameras = [Camera(camera_id=f"S{i}", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=37.5, lon=127.0)
               for i in range(8)]
    result = CameraIndex(cameras).nearest(37.5, 127.0, k=5)
    assert len({n.camera.camera_id for n in result.cameras}) == 5
    assert all(n.distance_m == 0.0 for n in result.cameras)


def test_accept_with_large_groups_of_co_located_cameras() -> None:
    # GIVEN 300 cameras mounted on only three poles (exact distance ties, far more than k)
    poles = [(37.5500, 126.9900), (37.5510, 126.9900), (37.5520, 126.9900)]
    cameras = [Camera(camera_id=f"C-{i:05d}", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=poles[i % 3][0],
                      lon=poles[i % 3][1]) for i in range(300)]
    offered: list[str] = []

    def every_seventh(camera: Camera) -> bool:
        offered.append(camera.camera_id)
        return int(camera.camera_id[2:]) % 7 == 0

    # WHEN asking for the 30 nearest accepted cameras
    result = CameraIndex(cameras).nearest(37.5500, 126.9900, k=30, radius_m=1_000.0, accept=every_seventh)
    # THEN the distances match brute force, every answer was accepted, none was offered twice
    expected = brute_force(cameras, 37.5500, 126.9900, 30, 1_000.0, lambda c: int(c.camera_id[2:]) % 7 == 0)
    assert [n.distance_m for n in result.cameras] == pytest.approx([d for _, d in expected])
    assert all(int(n.camera.camera_id[2:]) % 7 == 0 for n in result.cameras)
    assert len({n.camera.camera_id for n in result.cameras}) == 30
    assert len(offered) == len(set(offered))


def test_empty_index() -> None:
    index = CameraIndex([])
    assert len(index) == 0
    result = index.nearest(37.5, 127.0)
    assert result.cameras == []
    assert result.note == "no cameras within 3000 m"
    assert len(CameraIndex.from_npz_bytes(index.to_npz_bytes())) == 0


def test_results_are_valid_models() -> None:
    cameras = random_cameras(5, 50)
    result = CameraIndex(cameras).nearest(37.55, 126.99, k=7, radius_m=50_000.0)
    by_id = {c.camera_id: c for c in cameras}
    for n in result.cameras:
        assert n.camera == by_id[n.camera.camera_id]
        assert Camera.model_validate(n.camera.model_dump()) == n.camera
    assert type(result).model_validate(result.model_dump()) == result


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "k must"), ({"k": 51}, "k must"), ({"k": True}, "k must"), ({"k": 2.0}, "k must"),
    ({"radius_m": 0.5}, "radius_m"), ({"radius_m": 50_000.1}, "radius_m"), ({"radius_m": float("nan")}, "radius_m"),
    ({"lat": 90.5}, "lat must"), ({"lon": -180.5}, "lat must"), ({"lat": float("nan")}, "lat must"),
])
def test_query_validation(kwargs: dict[str, Any], message: str) -> None:
    index = CameraIndex(random_cameras(1, 10))
    query = {"lat": 37.5, "lon": 127.0} | kwargs
    with pytest.raises(ValidationFailed, match=message):
        index.nearest(**query)


def test_k_and_radius_limits_are_accepted() -> None:
    index = CameraIndex(random_cameras(1, 60))
    assert len(index.nearest(37.55, 126.99, k=50, radius_m=50_000.0).cameras) == 50
    assert index.nearest(37.55, 126.99, k=1, radius_m=1.0).requested == 1


def test_npz_round_trip_preserves_everything() -> None:
    # GIVEN a catalog with optional fields missing and non-ASCII names
    cameras = random_cameras(11, 300)
    cameras[0] = cameras[0].model_copy(update={"district": "종로구", "stream_name": "스트림-1"})
    index = CameraIndex(cameras)
    # WHEN it is snapshotted and restored
    data = index.to_npz_bytes()
    restored = CameraIndex.from_npz_bytes(data)
    # THEN every camera and every answer is identical
    assert isinstance(data, bytes)
    assert list(restored) == cameras
    for lat, lon in [(37.55, 126.99), (37.52, 127.02), (37.6, 126.95)]:
        assert restored.nearest(lat, lon, k=9, radius_m=4000.0) == index.nearest(lat, lon, k=9, radius_m=4000.0)


@pytest.mark.parametrize("data", [b"", b"not an npz", b"PK\x03\x04garbage"])
def test_unreadable_snapshot(data: bytes) -> None:
    with pytest.raises(ValidationFailed, match="snapshot"):
        CameraIndex.from_npz_bytes(data)


@pytest.mark.parametrize(("column", "change"), [
    ("lon", lambda a: a[:-1]),
    ("kinds", lambda a: a.astype(np.int64) - 1),
    ("district_codes", lambda a: a + 100),
    ("ids_offsets", lambda a: a[::-1]),
    ("lat", lambda a: a * np.nan),
    ("version", lambda a: a + 1),
])
def test_snapshot_with_inconsistent_columns(column: str, change: Callable[[Any], Any]) -> None:
    # GIVEN a snapshot with one column tampered with
    good = np.load(io.BytesIO(CameraIndex(random_cameras(2, 20)).to_npz_bytes()))
    arrays = {name: good[name] for name in good.files}
    arrays[column] = change(arrays[column])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    # THEN it is refused as unreadable
    with pytest.raises(ValidationFailed, match="snapshot"):
        CameraIndex.from_npz_bytes(buffer.getvalue())


def test_from_arrays_equals_from_cameras() -> None:
    cameras = random_cameras(4, 200)
    index = CameraIndex.from_arrays(
        camera_ids=[c.camera_id for c in cameras], kinds=[c.kind.value for c in cameras],
        districts=[c.district for c in cameras], lat=[c.lat for c in cameras], lon=[c.lon for c in cameras],
        stream_names=[c.stream_name for c in cameras], recording_prefixes=[c.recording_prefix for c in cameras],
        statuses=[c.status.value for c in cameras])
    assert list(index) == cameras
    assert index.camera_at(7) == cameras[7]


def test_from_arrays_defaults() -> None:
    index = CameraIndex.from_arrays(camera_ids=["A", "B"], kinds=["traffic", "disaster"], districts=["X", "Y"],
                                    lat=np.array([37.5, 37.6]), lon=np.array([127.0, 127.1]))
    a = index.camera_at(0)
    assert a.stream_name is None
    assert a.recording_prefix is None
    assert a.status is CameraStatus.ACTIVE


@pytest.mark.parametrize(("override", "message"), [
    ({"camera_ids": ["A", "A"]}, "unique"),
    ({"camera_ids": ["A", "bad id"]}, "camera ids"),
    ({"kinds": ["traffic", "drone"]}, "unknown kind"),
    ({"statuses": ["active", "gone"]}, "unknown status"),
    ({"lat": [37.5, 91.0]}, "lat must"),
    ({"lon": [127.0, float("nan")]}, "lat must"),
    ({"districts": ["X"]}, "one value per camera"),
    ({"districts": ["X", ""]}, "district names"),
    ({"stream_names": ["s", "x" * 257]}, "256"),
])
def test_from_arrays_validation(override: dict[str, Any], message: str) -> None:
    columns: dict[str, Any] = {"camera_ids": ["A", "B"], "kinds": ["traffic", "traffic"], "districts": ["X", "Y"],
                               "lat": [37.5, 37.6], "lon": [127.0, 127.1]} | override
    with pytest.raises(ValidationFailed, match=message):
        CameraIndex.from_arrays(**columns)


def test_duplicate_ids_refused_from_cameras() -> None:
    camera = random_cameras(1, 1)[0]
    with pytest.raises(ValidationFailed, match="unique"):
        CameraIndex([camera, camera])


def test_camera_at_bounds() -> None:
    index = CameraIndex(random_cameras(1, 3))
    with pytest.raises(IndexError):
        index.camera_at(3)
    with pytest.raises(IndexError):
        index.camera_at(-1)


def test_works_across_the_antimeridian() -> None:
    cameras = [Camera(camera_id="E", kind=CameraKind.TRAFFIC, district="X", lat=0.0, lon=179.999),
               Camera(camera_id="W", kind=CameraKind.TRAFFIC, district="X", lat=0.0, lon=-179.998),
               Camera(camera_id="FAR", kind=CameraKind.TRAFFIC, district="X", lat=0.0, lon=179.9)]
    result = CameraIndex(cameras).nearest(0.0, 180.0, k=3, radius_m=1000.0)
    assert [n.camera.camera_id for n in result.cameras] == ["E", "W"]
