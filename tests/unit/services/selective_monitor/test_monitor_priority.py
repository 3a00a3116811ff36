"""Operator-queue priority: severity and confidence, raised by an active SOS near the camera."""

from __future__ import annotations

import pytest

from chalicelib.services.selective_monitor.priority import (
    SOS_BOOST,
    NearbyIncident,
    base_priority,
    haversine_m,
    incidents_near,
    priority,
)

CITY_HALL = (37.5663, 126.9779)
NOW = 1_763_800_000_000


def test_severity_outranks_confidence():
    assert base_priority(5, 0.4) > base_priority(3, 1.0) > base_priority(3, 0.5) > base_priority(1, 1.0)
    assert base_priority(5, 1.0) == 100.0


def test_an_sos_lifts_any_event_above_every_event_without_one():
    assert priority(1, 0.0, ["inc-1"]) > priority(5, 1.0, [])
    assert priority(2, 0.5, ["inc-1"]) == base_priority(2, 0.5) + SOS_BOOST


def test_incidents_near_a_camera_by_its_listed_cameras_or_distance():
    listed = NearbyIncident("inc-listed", 37.60, 127.05, NOW - 60_000, frozenset({"CAM-1"}))
    close = NearbyIncident("inc-close", CITY_HALL[0] + 0.002, CITY_HALL[1], NOW - 60_000)  # ~220 m north
    far = NearbyIncident("inc-far", CITY_HALL[0] + 0.02, CITY_HALL[1], NOW - 60_000)  # ~2.2 km
    stale = NearbyIncident("inc-stale", CITY_HALL[0], CITY_HALL[1], NOW - 3 * 3_600_000, frozenset({"CAM-1"}))
    assert haversine_m(*CITY_HALL, CITY_HALL[0] + 0.002, CITY_HALL[1]) == pytest.approx(222, abs=2)
    assert incidents_near("CAM-1", CITY_HALL, [listed, close, far, stale], NOW) == ["inc-listed", "inc-close"]
    assert incidents_near("CAM-2", None, [listed, close, far, stale], NOW) == []
