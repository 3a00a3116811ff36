"""Geodesy helpers: distances, unit-sphere vectors, chord/arc, polygons and polylines."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.services.geo import (
    EARTH_RADIUS_M,
    arc_m_to_chord,
    chord_to_arc_m,
    chord_to_arc_m_array,
    haversine_m,
    haversine_m_array,
    point_in_polygon,
    polyline_distance_m,
    unit_xyz,
    unit_xyz_point,
)

lats = st.floats(-89.9, 89.9)
lons = st.floats(-180.0, 180.0)
ONE_DEGREE_M = EARTH_RADIUS_M * math.pi / 180


def test_haversine_known_distances() -> None:
    # GIVEN one degree along a meridian and along the equator, and antipodes
    assert haversine_m(0, 0, 1, 0) == pytest.approx(ONE_DEGREE_M, rel=1e-12)
    assert haversine_m(0, 0, 0, 1) == pytest.approx(ONE_DEGREE_M, rel=1e-12)
    assert haversine_m(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-12)
    assert haversine_m(90, 0, -90, 0) == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-12)
    # Seoul City Hall to Gangnam Station is about 9 km
    assert 8_500 < haversine_m(37.5663, 126.9779, 37.4979, 127.0276) < 9_200


@given(lats, lons, lats, lons)
def test_haversine_symmetric_and_array_agrees(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    d = haversine_m(lat1, lon1, lat2, lon2)
    assert d == pytest.approx(haversine_m(lat2, lon2, lat1, lon1), abs=1e-6)
    assert 0 <= d <= math.pi * EARTH_RADIUS_M + 1e-6
    assert float(haversine_m_array(lat1, lon1, lat2, lon2)) == pytest.approx(d, rel=1e-12, abs=1e-6)
    assert haversine_m(lat1, lon1, lat1, lon1) == 0.0


def test_haversine_array_broadcasts() -> None:
    out = haversine_m_array(37.5, 127.0, np.array([37.5, 37.6, 37.4]), np.array([127.0, 127.0, 127.0]))
    assert out.shape == (3,)
    assert out[0] == 0.0
    assert out[1] == pytest.approx(out[2], rel=1e-9)


@given(lats, lons)
def test_unit_xyz_on_unit_sphere(lat: float, lon: float) -> None:
    v = unit_xyz(lat, lon)
    assert v.shape == (3,)
    assert float(np.linalg.norm(v)) == pytest.approx(1.0, abs=1e-12)
    assert unit_xyz_point(lat, lon) == pytest.approx(tuple(v), abs=1e-15)


def test_unit_xyz_shapes() -> None:
    assert unit_xyz(np.zeros((4, 2)), 0.0).shape == (4, 2, 3)
    assert unit_xyz(0, 0) == pytest.approx([1, 0, 0])
    assert unit_xyz(90, 0) == pytest.approx([0, 0, 1])


@given(lats, lons, lats, lons)
def test_chord_matches_great_circle(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    # GIVEN two points  WHEN their chord is converted to an arc  THEN it is the haversine distance
    chord = float(np.linalg.norm(unit_xyz(lat1, lon1) - unit_xyz(lat2, lon2)))
    assert chord_to_arc_m(chord) == pytest.approx(haversine_m(lat1, lon1, lat2, lon2), rel=1e-6, abs=1e-3)
    assert arc_m_to_chord(haversine_m(lat1, lon1, lat2, lon2)) == pytest.approx(chord, rel=1e-6, abs=1e-12)


@given(st.floats(0, math.pi * EARTH_RADIUS_M))
def test_chord_arc_round_trip(arc: float) -> None:
    chord = arc_m_to_chord(arc)
    assert 0 <= chord <= 2
    assert chord_to_arc_m(chord) == pytest.approx(arc, rel=1e-6, abs=1e-3)
    assert float(chord_to_arc_m_array(chord)) == pytest.approx(chord_to_arc_m(chord), rel=1e-12)


def test_chord_is_monotonic_and_capped() -> None:
    arcs = np.linspace(0, 4 * EARTH_RADIUS_M, 500)
    chords = [arc_m_to_chord(a) for a in arcs]
    assert all(a <= b for a, b in itertools.pairwise(chords))
    assert chords[-1] == pytest.approx(2.0)
    assert arc_m_to_chord(-5) == 0.0
    assert chord_to_arc_m(3.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


SQUARE = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)]
# An L: the unit square's top-right quarter is missing.
ELL = [(0.0, 0.0), (0.0, 1.0), (0.5, 1.0), (0.5, 0.5), (1.0, 0.5), (1.0, 0.0)]


def test_point_in_polygon_square_and_concave() -> None:
    lat = np.array([0.3, 0.25, 0.75, 0.75, 1.5, -0.1, 0.25])
    lon = np.array([0.4, 0.75, 0.25, 0.75, 0.5, 0.5, 1.2])
    assert point_in_polygon(lat, lon, SQUARE).tolist() == [True, True, True, True, False, False, False]
    assert point_in_polygon(lat, lon, ELL).tolist() == [True, True, True, False, False, False, False]
    # orientation does not matter
    assert point_in_polygon(lat, lon, ELL[::-1]).tolist() == point_in_polygon(lat, lon, ELL).tolist()


@given(st.floats(-2, 2), st.floats(-2, 2))
def test_point_in_polygon_matches_rectangle_test(lat: float, lon: float) -> None:
    expected = 0 < lat < 1 and 0 < lon < 1
    on_edge = min(abs(lat), abs(lat - 1), abs(lon), abs(lon - 1)) < 1e-9
    if not on_edge:
        assert bool(point_in_polygon(lat, lon, SQUARE)) is expected


def test_point_in_polygon_rejects_degenerate() -> None:
    with pytest.raises(ValueError, match="polygon"):
        point_in_polygon(0, 0, [(0, 0), (1, 1)])


def test_polyline_distance() -> None:
    line = [(37.50, 127.00), (37.50, 127.10)]
    # on the line, beside its middle, and beyond its end
    d = polyline_distance_m([37.50, 37.51, 37.50], [127.05, 127.05, 127.11], line)
    assert d[0] == pytest.approx(0.0, abs=1e-6)
    assert d[1] == pytest.approx(haversine_m(37.50, 127.05, 37.51, 127.05), rel=1e-3)
    assert d[2] == pytest.approx(haversine_m(37.50, 127.10, 37.50, 127.11), rel=5e-3)


@given(st.floats(37.3, 37.8), st.floats(126.7, 127.3))
def test_polyline_distance_is_nearest_segment(lat: float, lon: float) -> None:
    line = [(37.5, 126.8), (37.55, 127.0), (37.52, 127.2)]
    d = float(polyline_distance_m(lat, lon, line))
    # never more than the distance to any vertex; within 0.5% of a dense haversine sampling
    vertices = min(haversine_m(lat, lon, a, b) for a, b in line)
    assert d <= vertices * 1.005 + 1e-6
    t = np.linspace(0, 1, 2001)
    samples = [(a1 + (a2 - a1) * t, b1 + (b2 - b1) * t) for (a1, b1), (a2, b2) in itertools.pairwise(line)]
    best = min(float(haversine_m_array(lat, lon, sa, sb).min()) for sa, sb in samples)
    assert d == pytest.approx(best, rel=5e-3, abs=15.0)
