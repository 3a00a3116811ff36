"""Examples in the OpenAPI document: a hand-written request body per operation that takes one, and a
response built from the response schema (realistic values by field name where the schema allows).

Every example is checked against its model and schema (tests/unit/api/test_openapi_contract.py).
"""

from __future__ import annotations

import re
from typing import Any

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "register_device": {"platform": "android", "label": "Minji's phone", "locale": "ko",
                        "guardians": [{"name": "Kim Jiyoung", "phone": "+821012345678", "relation": "mother"}]},
    "ack_dispatch": {"receipt_id": "SPA-2026-118842", "officer_id": "officer-0042"},
    "push_link_bundle": {"agency": "112", "mode": "live", "purpose": "PIPA-18-2-7", "camera_count": 3},
    "resolve_monitor_event": {"note": "crowd dispersed after the concert; no action needed"},
    "resolve_alert": {"note": "police unit 12 met her at the station exit; home safe"},
    "put_camera_rules": {"rules": [{"kind": "crowding", "rule_id": "plaza-crowd", "labels": ["person"],
                                    "threshold": 40, "hold_s": 20}]},
    "register_person": {"name": "Lee Sunja", "kind": "dementia", "description": "grey cardigan, walks with a cane",
                        "zones": [{"name": "home", "center": {"lat": 37.5663, "lon": 126.9779}, "radius_m": 400}]},
    "person_positions": {"positions": [{"at": "2026-11-22T21:40:00+09:00",
                                        "location": {"lat": 37.5668, "lon": 126.9785, "accuracy_m": 12.0}}]},
    "start_search": {"upper_color": "red", "lower_color": "black",
                     "last_seen": {"location": {"lat": 37.5663, "lon": 126.9779}, "at": "2026-11-22T21:40:00+09:00"},
                     "window_minutes": 60},
    "report_sos": {"location": {"lat": 37.5663, "lon": 126.9779, "accuracy_m": 15.0}, "kind": "crime",
                   "trigger": "button", "device_id": "dev-3f9a1c2b"},
    "sos_evidence": {"content_type": "image/jpeg"},
    "report_disaster": {"event_type": "flood", "location": {"lat": 37.5133, "lon": 127.1001, "accuracy_m": 30.0},
                        "note": "Jamsil underpass flooded, two cars stranded", "occurred_at": "2026-11-30T21:40:00+09:00"},
    "hand_over_incident": {"district": "GN", "from_district": "JG", "reason": "caller moved into Gangnam"},
    "start_trip": {"device_id": "dev-3f9a1c2b", "origin": {"lat": 37.5663, "lon": 126.9779},
                   "destination": {"lat": 37.5759, "lon": 126.9768}, "expected_arrival": "2026-11-22T22:10:00+09:00"},
    "add_positions": {"positions": [
        {"at": "2026-11-22T21:40:00+09:00", "location": {"lat": 37.5668, "lon": 126.9778, "accuracy_m": 10.0}},
        {"at": "2026-11-22T21:40:05+09:00", "location": {"lat": 37.5672, "lon": 126.9777, "accuracy_m": 10.0}}]},
    "request_links": {"incident_number": "SPA-2026-118842", "location": {"lat": 37.5663, "lon": 126.9779},
                      "mode": "recorded", "window": {"start": "2026-11-22T09:00:00+09:00",
                                                     "end": "2026-11-22T09:10:00+09:00"},
                      "purpose": "CRIME-INVESTIGATION", "officer_id": "officer-0042"},
    "create_study": {"filename": "chest-pa.dcm"},
    "operator_links": {"incident_number": "CC-2026-000731", "location": {"lat": 37.5663, "lon": 126.9779},
                       "mode": "live", "purpose": "PIPA-25-1-2", "officer_id": "operator-jg-07", "camera_count": 5},
    "subscribe_webhook": {"url": "https://pacs-relay.jongno-hc.example/golden-time/readings"},
    "switch_camera_indexing": {"indexing": False, "reason": "privacy zone: school entrance"},
    "start_reindex": {"camera_ids": ["JG-0412", "JG-0413"], "start": "2026-11-22T09:00:00+09:00",
                      "end": "2026-11-22T12:00:00+09:00"},
}
"""Request bodies by operationId (every operation that takes a body has one)."""

_BY_DEFINITION: dict[str, Any] = {
    "SafeZone": {"name": "home", "center": {"lat": 37.5663, "lon": 126.9779}, "radius_m": 400.0,
                 "hours": [{"start": "21:00", "end": "06:00", "days": [0, 1, 2, 3, 4]}]},
}
_BY_PATTERN = {
    r"^\+[1-9]\d{7,14}$": "+821012345678",
    r"^(ko|en)$": "ko",
    r"^(ios|android|wearable)$": "android",
    r"^[A-Z]{2}$": "JG",
    r"^dev-[0-9a-f]{1,64}$": "dev-3f9a1c2b",
    r"^trip-[0-9a-f]{1,64}$": "trip-8c1d2e3f",
    r"^([01]\d|2[0-3]):[0-5]\d$": "21:00",
    r"^(image/jpeg|image/png|video/mp4)$": "image/jpeg",
}
_BY_NAME = {
    "camera_id": "SEL-JG-000123", "incident_id": "inc-4b7d0e21", "request_id": "vl-4f1c2b3a5d6e7f80",
    "trip_id": "trip-8c1d2e3f", "device_id": "dev-3f9a1c2b", "person_id": "pp-5e6f7a8b", "study_id": "xr-1a2b3c4d5e6f7a8b",
    "search_id": "srch-2c9d4e5f6a7b8c9d0e1f2a3b4c5d6e7f", "alert_id": "trip-8c1d2e3f.off-route",
    "dispatch_id": "inc-4b7d0e21", "job_id": "reidx-5d6e7f8091a2b3c4",
    "token": "trip-8c1d2e3f.1795503600." + "7c3a" * 8, "event_id": "mon-SEL-JG-000123.1795500000000.plaza-crowd",
    "district": "Jung-gu", "name": "Seoul City Hall", "url": "https://media.example.kr/live/SEL-JG-000123/index.m3u8",
    "purpose": "CRIME-INVESTIGATION", "incident_number": "SPA-2026-118842", "rule_id": "plaza-crowd",
    "start": "21:00", "end": "06:00", "source_ip": "203.0.113.7", "source_cidr": "203.0.113.0/24", "agency": "112",
    "message": "Trip overdue: no arrival 15 min after the expected time", "sha256": "9f2c" * 16,
}


def value_for(name: str, schema: dict[str, Any], defs: dict[str, Any], depth: int) -> Any:
    if "$ref" in schema:
        definition = schema["$ref"].rsplit("/", 1)[-1]
        if definition in _BY_DEFINITION:  # models whose validators tie fields together
            return _BY_DEFINITION[definition]
        target = defs[definition]
        return value_for(name, target, defs, depth + 1) if depth < 12 else None
    for union in ("anyOf", "oneOf"):
        if union in schema:
            options = [s for s in schema[union] if s.get("type") != "null"]
            return value_for(name, options[0], defs, depth) if options else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return example_from_schema(schema, defs, depth + 1)
    if kind == "array":
        if "prefixItems" in schema:
            return [value_for(name, item, defs, depth) for item in schema["prefixItems"]]
        item = value_for(name.removesuffix("s"), schema.get("items", {}), defs, depth)
        return [item] * max(1, schema.get("minItems", 1))
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return _number(name, schema, integer=kind == "integer")
    if kind == "string":
        return _string(name, schema)
    return None


def _number(name: str, schema: dict[str, Any], *, integer: bool) -> int | float:
    if name in ("lat", "latitude"):
        return 37.5663
    if name in ("lon", "longitude"):
        return 126.9779
    if name.endswith("_ms"):
        return 1795500000000
    if name in ("day", "weekday"):  # 0 = Monday
        return 0
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
    value = low + (high - low) / 4 if high > low else low
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        value = schema["exclusiveMinimum"] + 1
    return int(value) if integer else round(float(value), 2)


def _string(name: str, schema: dict[str, Any]) -> str:
    if schema.get("format") == "date-time":
        return "2026-11-22T09:00:00+09:00"
    pattern = schema.get("pattern")
    for key, value in _BY_NAME.items():
        if (name == key or name.endswith("_" + key)) and (pattern is None or re.search(pattern, value)):
            return value
    if pattern in _BY_PATTERN:
        return _BY_PATTERN[pattern]
    if name.endswith("_id"):
        value = f"{name.removesuffix('_id').replace('_', '-')}-1a2b3c4d"
        if pattern is None or re.search(pattern, value):
            return value
    value = name.replace("_", " ") or "text"
    return value if pattern is None or re.search(pattern, value) else "A1"


def example_from_schema(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """An object example for ``schema`` (its required fields and any with a default)."""
    if depth > 12:
        return {}
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    example: dict[str, Any] = {}
    for name, field in properties.items():
        if name in required or "default" not in field or field.get("default") is not None:
            value = value_for(name, field, defs, depth)
            if value is not None or name in required:
                example[name] = value
    return example


# Answers that are not JSON models, by media type (PS3.18 Store Instances Response for STOW-RS).
MEDIA_EXAMPLES: dict[str, Any] = {
    "application/dicom+json": {
        "00081190": {"vr": "UR", "Value": ["https://api.example/v1/xray/studies/study-1a2b3c4d"]},
        "00081199": {"vr": "SQ", "Value": [{
            "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.1.1"]},
            "00081155": {"vr": "UI", "Value": ["1.2.826.0.1.3680043.8.498.1"]},
            "00081190": {"vr": "UR", "Value": ["https://api.example/v1/xray/studies/study-1a2b3c4d"]}}]}},
}
