"""The real app under moto, fed what a hostile or careless client sends: never a 500 for input, every
error in our JSON shape, request bodies strict about JSON types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry

HERE = {"lat": 37.5665, "lon": 126.9780}
SOS = {"location": HERE}
AT = "2026-11-22T09:00:00+09:00"


@pytest.fixture
def api(aws) -> Any:
    context.reset_platform()
    _, token = create_principal(PrincipalKind.APP, "Phone", principal_id="app-hostile", resources=aws)
    CameraRegistry(aws.table("cameras"), aws.store("media"), index_key="indexes/cameras.npz").load_catalog([
        Camera(camera_id="C-1", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=37.5666, lon=126.9781)])
    from app import app

    with Client(app) as client:
        yield client, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    context.reset_platform()


def call(api: Any, method: str, path: str, body: bytes | str | None = None) -> tuple[int, dict[str, Any], Any]:
    client, headers = api
    raw = body.encode() if isinstance(body, str) else body
    reply = client.http.request(method=method, path=path, headers=headers, body=raw or b"")
    return reply.status_code, dict(reply.headers), json.loads(reply.body) if reply.body else None


def assert_error_shape(status: int, body: Any, expected: int) -> None:
    assert status == expected, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]


@pytest.mark.parametrize("field", ["lat", "lon", "accuracy_m"])
@pytest.mark.parametrize("number", ["1e-200", "-1e-140", "5e-324"])
def test_a_number_the_database_cannot_store_is_a_422(api, field, number):
    # GIVEN an SOS body whose coordinate or accuracy is a float DynamoDB cannot hold (below 1e-130)
    where = {**HERE, "accuracy_m": 15.0}
    text = json.dumps({"location": where}).replace(json.dumps(where[field]), number, 1)
    # WHEN it is posted
    status, _, reply = call(api, "POST", "/v1/sos", text)
    # THEN a 422 naming the field, not a 500 from the DynamoDB serializer
    assert_error_shape(status, reply, 422)
    assert field in reply["error"]["message"]


def test_a_storable_tiny_number_is_accepted(api):
    # GIVEN a longitude offset that DynamoDB can store exactly (1e-120 is inside its range)
    status, _, reply = call(api, "POST", "/v1/trips/trip-00/positions",
                            json.dumps({"positions": [{"at": AT, "location": {"lat": 1e-120, "lon": 0.0}}]}))
    # THEN the body passes validation (the unknown trip is the only complaint)
    assert status == 404, reply


def test_an_integer_too_long_for_the_database_is_a_422(api):
    status, _, reply = call(api, "POST", "/v1/trips/trip-00/positions",
                            '{"positions": [{"at": "' + AT + '", "location": {"lat": 1' + "0" * 40 + ', "lon": 127.0}}]}')
    assert_error_shape(status, reply, 422)
    assert "lat" in reply["error"]["message"]


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(api, opening):
    # GIVEN 2 KB of nesting (json.loads recurses once per level)
    text = opening * 2000
    # WHEN it is posted as a body
    status, _, reply = call(api, "POST", "/v1/sos", text)
    # THEN a 400 saying why
    assert_error_shape(status, reply, 400)
    assert "deep" in reply["error"]["message"]


def test_nesting_inside_strings_does_not_count(api):
    # GIVEN brackets only inside a string value
    status, _, reply = call(api, "POST", "/v1/sos", json.dumps({**SOS, "device_id": "[" * 5000}))
    # THEN the body parses and the string is judged by the model (422 for its pattern), not as nesting
    assert_error_shape(status, reply, 422)
    assert "device_id" in reply["error"]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"location": {"lat": True, "lon": 126.978}}, "lat"),
    ({**SOS, "cancel_window_s": False}, "cancel_window_s"),
    ({"location": {**HERE, "accuracy_m": "20"}}, "accuracy_m"),
    ({"lat": 37.5665, "lon": 126.978}, "location"),  # the former top-level coordinates
    ({**SOS, "kind": ["crime"]}, "kind"),  # a list where the former trigger values are read (was a 500)
])
def test_request_bodies_refuse_bool_and_string_numbers(api, body, field):
    status, _, reply = call(api, "POST", "/v1/sos", json.dumps(body))
    assert_error_shape(status, reply, 422)
    assert field in reply["error"]["message"]


@pytest.mark.parametrize("at", [1795500000000, "1795500000000", "2026-11-22T09:00:00", "2026-11-22", True,
                                "22/11/2026 09:00+09:00"])
def test_a_time_that_is_not_rfc_3339_with_an_offset_is_refused(api, at):
    # GIVEN a fix whose time is epoch ms, a string of digits, a time without offset, a date or a bool
    status, _, reply = call(api, "POST", "/v1/trips/trip-00/positions",
                            json.dumps({"positions": [{"at": at, "location": {"lat": 37.5, "lon": 127.0}}]}))
    # THEN a 422 naming the field
    assert_error_shape(status, reply, 422)
    assert "positions.0.at" in reply["error"]["message"]


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PATCH"])
def test_an_unknown_method_is_a_json_405(api, method):
    status, headers, reply = call(api, method, "/v1/sos")
    assert_error_shape(status, reply, 405)
    assert reply["error"]["code"] == "method_not_allowed"
    assert "POST" in {h.lower(): v for h, v in headers.items()}["allow"]


def test_an_unexpected_failure_is_a_json_500(api, aws):
    # GIVEN the store behind SOS has gone (a failure no client caused)
    aws.client("dynamodb").delete_table(TableName=aws.table("records").name)
    # WHEN an SOS is posted
    status, headers, reply = call(api, "POST", "/v1/sos", json.dumps(SOS))
    # THEN a 500 in our error shape, carrying the request id, and nothing about the internals
    assert_error_shape(status, reply, 500)
    assert reply["error"]["code"] == "internal_error"
    assert "records" not in reply["error"]["message"]
    assert "x-request-id" in {h.lower() for h in headers}


def test_an_unsupported_content_type_is_our_shape(api):
    client, headers = api
    reply = client.http.request(method="POST", path="/v1/sos", headers={**headers, "Content-Type": "text/plain"},
                                body=json.dumps(SOS).encode())
    assert_error_shape(reply.status_code, json.loads(reply.body), 415)


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/trips/9f2c1a/arrive"),  # a bare hex id: no prefix
    ("GET", "/v1/sos/trip-1a2b"),  # another kind's prefix
    ("GET", "/v1/trips/trip-XYZ"),
    ("GET", "/v1/protected/pp-1a2b%27%20OR%201=1"),
    ("GET", "/v1/devices/dev-" + "a" * 65),
])
def test_an_ill_formed_id_in_the_path_is_a_404_in_our_shape(api, method, path):
    # WHEN a path names an id that cannot exist (wrong prefix, wrong characters, too long)
    status, _, reply = call(api, method, path)
    # THEN a 404 in our error shape, answered before any lookup
    assert_error_shape(status, reply, 404)
    assert reply["error"]["code"] == "not_found" and "no such" in reply["error"]["message"]


@pytest.mark.parametrize("camera_id", ["", " ", "../C-1", "C-1\u0000", "x" * 65])
def test_a_camera_id_that_cannot_name_a_camera_is_a_422_before_any_lookup(api, aws, camera_id):
    # (found by the fuzzer: an empty id reached DynamoDB as an empty key and came back a 500)
    _, token = create_principal(PrincipalKind.ADMIN, "Admin", principal_id="admin-hostile", resources=aws)
    client, _ = api
    body = {"camera_ids": [camera_id], "start": AT, "end": "2026-11-22T10:00:00+09:00"}
    reply = client.http.request(method="POST", path="/v1/search-index/reindex", body=json.dumps(body).encode(),
                                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert_error_shape(reply.status_code, json.loads(reply.body), 422)
