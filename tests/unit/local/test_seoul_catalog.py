"""The synthetic Seoul catalog: on land inside the city, every district, deterministic."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pytest

from chalicelib.models.camera import Camera, CameraKind
from chalicelib.services.districts import (
    DISTRICTS,
    HAN_RIVER_CENTERLINE,
    HAN_RIVER_WIDTH_M,
    SEOUL_BOUNDARY,
    district_at,
    district_indices,
    in_han_river,
    in_han_river_mask,
    in_seoul,
    in_seoul_mask,
)
from chalicelib.services.geo import FloatArray, haversine_m
from local.seoul_catalog import LANDMARKS, generate_seoul_cameras, sample_points_in_seoul

ROMANISED = {"Jongno-gu", "Jung-gu", "Yongsan-gu", "Seongdong-gu", "Gwangjin-gu", "Dongdaemun-gu", "Jungnang-gu",
             "Seongbuk-gu", "Gangbuk-gu", "Dobong-gu", "Nowon-gu", "Eunpyeong-gu", "Seodaemun-gu", "Mapo-gu",
             "Yangcheon-gu", "Gangseo-gu", "Guro-gu", "Geumcheon-gu", "Yeongdeungpo-gu", "Dongjak-gu", "Gwanak-gu",
             "Seocho-gu", "Gangnam-gu", "Songpa-gu", "Gangdong-gu"}


@lru_cache(maxsize=1)
def full_catalog() -> tuple[Camera, ...]:
    return tuple(generate_seoul_cameras())


def columns(cameras: Sequence[Camera]) -> tuple[FloatArray, FloatArray]:
    return np.array([c.lat for c in cameras]), np.array([c.lon for c in cameras])


def test_geography_tables() -> None:
    assert {d.name for d in DISTRICTS} == ROMANISED
    assert len({d.code for d in DISTRICTS}) == 25
    assert len(SEOUL_BOUNDARY) >= 30
    lat, lon = np.array(SEOUL_BOUNDARY).T
    assert 37.42 <= lat.min() < 37.45 and 37.68 < lat.max() <= 37.71
    assert 126.75 <= lon.min() < 126.78 and 127.17 < lon.max() <= 127.20
    assert 700 <= HAN_RIVER_WIDTH_M <= 1200
    river_lon = [p[1] for p in HAN_RIVER_CENTERLINE]
    assert river_lon == sorted(river_lon, reverse=True)


def test_landmarks_inside_seoul_on_land() -> None:
    assert {"Seoul City Hall", "Gangnam Station", "Gwanghwamun", "Namsan Tower", "Lotte World Tower",
            "Hongik Univ. Station", "Yeouido Park"} <= set(LANDMARKS)
    for name, point in LANDMARKS.items():
        assert in_seoul(point.lat, point.lon), name
        assert not in_han_river(point.lat, point.lon), name
    for landmark, district in [("Gwanghwamun", "Jongno-gu"), ("Lotte World Tower", "Songpa-gu")]:
        found = district_at(LANDMARKS[landmark].lat, LANDMARKS[landmark].lon)
        assert found is not None
        assert found.name == district


def test_district_centroids_belong_to_their_district() -> None:
    for d in DISTRICTS:
        assert in_seoul(d.lat, d.lon), d.name
        assert not in_han_river(d.lat, d.lon), d.name
        assert district_at(d.lat, d.lon) == d


def test_outside_points_and_river() -> None:
    assert not in_seoul(37.40, 127.00)  # Gwacheon / Anyang
    assert not in_seoul(37.66, 126.83)  # Goyang
    assert not in_seoul(37.59, 127.16)  # Guri, across the river from Gangdong
    assert in_han_river(37.5175, 126.958)  # under the Hangang Bridge
    assert district_at(37.5175, 126.958) is None
    assert district_at(35.18, 129.07) is None  # Busan


def test_generates_exact_count_all_on_land_in_seoul() -> None:
    cameras = full_catalog()
    assert len(cameras) == 100_000
    lat, lon = columns(cameras)
    assert in_seoul_mask(lat, lon).all()
    assert not in_han_river_mask(lat, lon).any()


def test_every_district_present_and_assigned_by_position() -> None:
    cameras = full_catalog()
    counts = Counter(c.district for c in cameras)
    assert set(counts) == ROMANISED
    lat, lon = columns(cameras)
    assigned = [DISTRICTS[i].name for i in district_indices(lat, lon)]
    assert assigned == [c.district for c in cameras]
    # denser districts get more cameras
    ranked = [name for name, _ in counts.most_common()]
    assert ranked[0] == "Gangnam-gu"
    assert counts["Gwanak-gu"] > np.median(list(counts.values()))


def test_identifiers_and_streams() -> None:
    cameras = full_catalog()
    codes = {d.name: d.code for d in DISTRICTS}
    ids = [c.camera_id for c in cameras]
    assert len(set(ids)) == len(ids)
    for c in cameras[::97]:
        assert re.fullmatch(rf"SEL-{codes[c.district]}-\d{{6}}", c.camera_id)
        assert c.stream_name == f"cam-{c.camera_id}"
        assert c.recording_prefix == f"footage/{c.camera_id}/"
    assert ids == sorted(ids, key=lambda i: ([d.code for d in DISTRICTS].index(i[4:6]), i))


def test_kind_mix_is_realistic() -> None:
    counts = Counter(c.kind for c in full_catalog())
    assert counts[CameraKind.CRIME_PREVENTION] > counts[CameraKind.TRAFFIC] > counts[CameraKind.SCHOOL_ZONE] \
        > counts[CameraKind.DISASTER] > 0
    assert 0.6 < counts[CameraKind.CRIME_PREVENTION] / 100_000 < 0.8


def test_cameras_are_validated_models() -> None:
    for c in full_catalog()[::1000]:
        assert Camera.model_validate(c.model_dump()) == c


def test_deterministic_per_seed() -> None:
    a, b, c = generate_seoul_cameras(2_000, seed=1), generate_seoul_cameras(2_000, seed=1), generate_seoul_cameras(2_000, 2)
    assert a == b
    assert a != c
    assert generate_seoul_cameras(2_000, seed=7) == generate_seoul_cameras(2_000)  # 7 is the default


@pytest.mark.parametrize("count", [0, 1, 37])
def test_small_counts(count: int) -> None:
    assert len(generate_seoul_cameras(count, seed=3)) == count


def test_negative_count_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        generate_seoul_cameras(-1)


def test_sample_points_cover_the_city_uniformly() -> None:
    lat, lon = sample_points_in_seoul(20_000, seed=5)
    assert len(lat) == len(lon) == 20_000
    assert in_seoul_mask(lat, lon).all()
    assert not in_han_river_mask(lat, lon).any()
    # roughly uniform: north and south of City Hall both well represented
    assert 0.3 < float(np.mean(lat > 37.55)) < 0.7
    assert haversine_m(lat.min(), lon.min(), lat.max(), lon.max()) > 25_000
