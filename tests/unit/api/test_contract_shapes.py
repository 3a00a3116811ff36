"""One shape for one thing, checked on the committed contract and on the conversion at the boundary: one
location object, RFC 3339 times (KST shown), and no internal names in what a citizen is answered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

import app  # noqa: F401  (registers the routes)
from chalicelib.api.http import ROUTES
from chalicelib.models.camera import Camera, CameraKind, NearbyCamera
from chalicelib.models.common import KST, Location, epoch_ms, instant
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.sos import Incident, IncidentStatus, SosView
from chalicelib.models.trip import Position, PositionFix
from local.openapi import CONTRACT

DURATIONS = {"Timings"}  # stage durations in milliseconds, not points in time
INTERNAL = {"recording_prefix", "stream_name", "owner_id", "photo_key", "snapshot_key", "clip_key", "source_key",
            "thumbnail_key", "heatmap_key", "report_key", "deid_key", "dispatch_message_id", "upload_key"}


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    """The components the API's operations use. The bodies we POST to webhooks (``webhooks``) keep the format
    receivers already parse (epoch milliseconds, flat fixes): a change there would break their systems."""
    document: dict[str, Any] = json.loads(CONTRACT.read_text(encoding="utf-8"))
    every: dict[str, Any] = document["components"]["schemas"]
    used: set[str] = set()
    for name in _refs(document["paths"]):
        _reachable(name, every, used)
    assert used < set(every)  # the webhook payloads are components too, outside this check
    return {name: every[name] for name in used}


def _reachable(name: str, schemas: dict[str, Any], seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if name in seen:
        return seen
    seen.add(name)
    for ref in _refs(schemas[name]):
        _reachable(ref, schemas, seen)
    return seen


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_coordinates_appear_only_in_the_location_object(schemas):
    holders = {name for name, schema in schemas.items() if {"lat", "lon"} & set(schema.get("properties", {}))}
    assert holders == {"Location"}
    assert set(schemas["Location"]["required"]) == {"lat", "lon"}  # accuracy_m is optional


def test_no_time_is_an_epoch_number_and_every_time_is_a_date_time(schemas):
    for name, schema in schemas.items():
        for field, spec in schema.get("properties", {}).items():
            if name not in DURATIONS:
                assert not field.endswith("_ms"), f"{name}.{field}: a time on the API is an RFC 3339 string"
            if field == "at" or field.endswith("_at"):
                formats = {spec.get("format")} | {s.get("format") for s in spec.get("anyOf", [])}
                assert "date-time" in formats, f"{name}.{field}"


def test_what_a_citizen_is_answered_names_nothing_internal(schemas):
    citizen = [r for r in ROUTES if PrincipalKind.APP in r.allow and r.response is not None]
    assert {r.operation_id for r in citizen} >= {"report_sos", "get_sos", "start_trip", "get_person", "get_device",
                                                 "person_positions", "nearby"}
    for route in citizen:
        assert route.response is not None
        for name in _reachable(route.response.__name__, schemas):
            leaked = INTERNAL & set(schemas[name].get("properties", {}))
            assert not leaked, f"{route.operation_id} answers {name} with {leaked}"


def test_an_incident_becomes_the_citizen_view_at_the_boundary():
    # GIVEN a stored incident whose cameras carry their stream and footage names
    camera = Camera(camera_id="SEL-JG-000123", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=37.5663,
                    lon=126.9779, stream_name="kvs-sel-jg-000123", recording_prefix="footage/SEL-JG-000123/")
    incident = Incident(incident_id="inc-4b7d0e21", owner_id="app-minji", status=IncidentStatus.PENDING,
                        kind="crime", location=PositionFix(t_ms=1_795_500_000_000, lat=37.5665, lon=126.978,
                                                           accuracy_m=12.0),
                        cameras=[NearbyCamera(camera=camera, distance_m=25.0)], created_ms=1_795_500_000_000,
                        cancel_deadline_ms=1_795_500_030_000)
    # WHEN it is answered
    view = json.loads(SosView.model_validate(incident).model_dump_json())
    # THEN times are RFC 3339 in KST, places are location objects, and nothing internal is left
    assert view["created_at"] == "2026-11-24T15:00:00+09:00" and view["cancel_deadline_at"] == "2026-11-24T15:00:30+09:00"
    assert view["location"] == {"lat": 37.5665, "lon": 126.978, "accuracy_m": 12.0}
    assert view["cameras"][0]["camera"]["location"] == {"lat": 37.5663, "lon": 126.9779, "accuracy_m": None}
    assert not INTERNAL & set(json.dumps(view).replace('"', " ").split())


@pytest.mark.parametrize("at", ["2026-11-22T12:40:00Z", "2026-11-22T21:40:00+09:00", "2026-11-22T07:40:00-05:00"])
def test_any_offset_is_accepted_and_kst_is_shown(at):
    position = Position.model_validate_json(json.dumps({"at": at, "location": {"lat": 37.5, "lon": 127.0}}),
                                            strict=True)
    assert position.at.utcoffset() == timedelta(hours=9)
    assert json.loads(position.model_dump_json())["at"] == "2026-11-22T21:40:00+09:00"
    assert position.fix().t_ms == epoch_ms(datetime(2026, 11, 22, 12, 40, tzinfo=UTC))


@pytest.mark.parametrize("at", [1795500000000, "1795500000000", "2026-11-22T21:40:00", "2026-11-22", "21:40",
                                "2026-11-22T21:40:00+0900", True, None, "0001-01-01T00:00:00+10:00",
                                "9999-12-31T23:59:59-05:00", "2026-11-22T09:00:00+24:00"])
def test_only_rfc_3339_with_an_offset_is_a_time(at):
    with pytest.raises(ValidationError):
        Position.model_validate_json(json.dumps({"at": at, "location": {"lat": 37.5, "lon": 127.0}}), strict=True)


def test_epoch_milliseconds_round_trip_exactly():
    for ms in (0, 1, 1_795_500_000_123, 4_102_444_799_999):
        assert epoch_ms(instant(ms)) == ms and instant(ms).tzinfo == KST


@pytest.mark.parametrize("where", [{"lat": True, "lon": 127.0}, {"lat": "37.5", "lon": 127.0}, {"lat": 91, "lon": 0},
                                   {"lat": 37.5, "lon": 127.0, "accuracy_m": 0}, {"lat": 37.5},
                                   {"lat": 37.5, "lon": 127.0, "alt": 3}])
def test_the_location_object_is_strict(where):
    with pytest.raises(ValidationError):
        Location.model_validate_json(json.dumps(where), strict=True)
