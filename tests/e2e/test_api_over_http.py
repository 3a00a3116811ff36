"""The HTTP API on the local platform over real HTTP: auth, source address, owner scoping, errors."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from client_support import anonymous, authenticated
from golden_time_api_client.api.cameras import nearby
from golden_time_api_client.api.devices import get_device, register_device
from golden_time_api_client.api.docs import get_openapi_document
from golden_time_api_client.models import DeviceRegistration, Error, GuardianContact

from chalicelib.adapters.resources import Resources
from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.settings import get_settings
from local.http_client import session_from

pytestmark = pytest.mark.e2e
CITY_HALL = {"lat": 37.5665, "lon": 126.9780}


@pytest.fixture(scope="module")
def tokens(local_platform):
    resources = Resources(get_settings())
    made = {}
    for kind, pid, cidrs in ((PrincipalKind.APP, "e2e-alice", ()), (PrincipalKind.APP, "e2e-bob", ()),
                             (PrincipalKind.OPERATOR, "e2e-operator", ()),
                             (PrincipalKind.AGENCY, "e2e-police", ("127.0.0.2/32",))):
        _, made[pid] = create_principal(kind, pid, principal_id=pid, cidrs=cidrs, resources=resources)
    cameras = [Camera(camera_id=f"E2E-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                      lat=37.5665 + i * 0.001, lon=126.9780) for i in range(8)]
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=get_settings().camera_index_key).load_catalog(cameras)
    context.reset_platform()  # the API (same process) may hold an earlier module's snapshot: it rebuilds its registry
    return made


def api(local_platform, path):
    return f"{local_platform.api_url}{path}"


def client(local_platform, tokens, who, source="127.0.0.1"):
    """The generated client (tests/client_support.py), as ``who``."""
    return authenticated(local_platform.api_url, tokens[who], source)


def test_nearby_cameras_are_ordered_by_distance(local_platform, tokens):
    reply = nearby.sync_detailed(client=client(local_platform, tokens, "e2e-operator"), k=3, **CITY_HALL)
    assert reply.status_code == HTTPStatus.OK
    body = reply.parsed
    assert [c.camera.camera_id for c in body.cameras] == ["E2E-0", "E2E-1", "E2E-2"]
    distances = [c.distance_m for c in body.cameras]
    assert distances == sorted(distances)
    assert 100 < distances[1] < 120  # 0.001° of latitude ≈ 111 m
    assert body.cameras[0].camera.location.lat == CITY_HALL["lat"]  # the one location object
    assert b"stream_name" not in reply.content and b"recording_prefix" not in reply.content
    assert reply.headers["X-Request-Id"]


def test_fewer_than_k_within_the_radius_is_said(local_platform, tokens):
    body = nearby.sync(client=client(local_platform, tokens, "e2e-operator"), k=5, radius_m=250, **CITY_HALL)
    assert len(body.cameras) == 3
    assert body.complete is False
    assert "3" in body.note


@pytest.mark.parametrize("authorization", [None, ("Bearer", "gt.e2e-alice.this-is-not-the-secret-x"), ("Token", "abc")])
def test_missing_or_wrong_token_is_401_in_the_error_model(local_platform, tokens, authorization):
    caller = anonymous(local_platform.api_url) if authorization is None else \
        authenticated(local_platform.api_url, authorization[1], prefix=authorization[0])
    reply = nearby.sync_detailed(client=caller, **CITY_HALL)
    assert reply.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(reply.parsed, Error) and reply.parsed.error.code == "unauthorized"


def test_agency_is_bound_to_its_registered_addresses(local_platform, tokens):
    inside = nearby.sync_detailed(client=client(local_platform, tokens, "e2e-police", "127.0.0.2"), **CITY_HALL)
    outside = nearby.sync_detailed(client=client(local_platform, tokens, "e2e-police", "127.0.0.3"), **CITY_HALL)
    assert inside.status_code == HTTPStatus.OK
    assert outside.status_code == HTTPStatus.FORBIDDEN and isinstance(outside.parsed, Error)
    assert "127.0.0.3" in outside.parsed.error.message


def test_another_owner_gets_404_for_a_device(local_platform, tokens):
    alice, bob = client(local_platform, tokens, "e2e-alice"), client(local_platform, tokens, "e2e-bob")
    created = register_device.sync_detailed(client=alice, body=DeviceRegistration(
        platform="ios", guardians=[GuardianContact(name="Dad", phone="+821098765432")]))
    assert created.status_code == HTTPStatus.CREATED
    device_id = created.parsed.device_id
    assert device_id.startswith("dev-") and created.parsed.created_at.utcoffset().total_seconds() == 9 * 3600
    assert get_device.sync(device_id, client=alice).guardians[0].name == "Dad"
    missing = get_device.sync_detailed(device_id, client=bob)
    assert missing.status_code == HTTPStatus.NOT_FOUND
    unknown = get_device.sync_detailed("dev-d0e5n0", client=bob)
    ill_formed = get_device.sync_detailed("dev-doesnotexist", client=bob)  # not hex: cannot name a device
    # indistinguishable from an id that does not exist
    assert missing.parsed.error.code == unknown.parsed.error.code == ill_formed.parsed.error.code == "not_found"


def test_a_principal_of_the_wrong_kind_is_403(local_platform, tokens):
    reply = register_device.sync_detailed(client=client(local_platform, tokens, "e2e-operator"),
                                          body=DeviceRegistration(platform="ios"))
    assert reply.status_code == HTTPStatus.FORBIDDEN and isinstance(reply.parsed, Error)


@pytest.mark.parametrize(("query", "body", "status"), [
    ({"lat": 91, "lon": 126.9}, None, 422),
    ({**CITY_HALL, "k": 0}, None, 422),
    ({**CITY_HALL, "k": 1000}, None, 422),
    (None, {"platform": "ios", "guardians": [{"name": "x", "phone": "010"}]}, 422),
    (None, {"platform": "ios", "label": "x" * 2_000_000}, 413),
])
def test_bad_values_the_typed_client_can_send_are_4xx_never_500(local_platform, tokens, query, body, status):
    alice = client(local_platform, tokens, "e2e-alice")
    reply = nearby.sync_detailed(client=alice, **query) if query is not None else \
        register_device.sync_detailed(client=alice, body=DeviceRegistration.from_dict(body))
    assert reply.status_code == status, reply.content
    assert isinstance(reply.parsed, Error) and reply.parsed.error.code and reply.parsed.error.message


# Raw HTTP on purpose: what the typed client cannot send (a word for a number, a missing required parameter,
# broken or empty JSON, a wrong type, an unknown field, a path or method the contract does not have).
@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("get", "/v1/cameras/nearby", {"params": {"lat": "north", "lon": 126.9}}, 422),
    ("get", "/v1/cameras/nearby", {"params": {"lat": 37.5}}, 422),
    ("post", "/v1/devices", {"data": b"{broken", "headers": {"Content-Type": "application/json"}}, 400),
    ("post", "/v1/devices", {"data": b"", "headers": {"Content-Type": "application/json"}}, 400),
    ("post", "/v1/devices", {"json": {"platform": 7}}, 422),
    ("post", "/v1/devices", {"json": {"platform": "ios", "surprise": True}}, 422),
    ("get", "/v1/nothing-here", {}, 404),
    ("delete", "/v1/cameras/nearby", {}, 405),
])
def test_bad_input_is_4xx_never_500(local_platform, tokens, method, path, kwargs, status):
    reply = getattr(session_from(token=tokens["e2e-alice"]), method)(api(local_platform, path), **kwargs)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"]
    assert error["message"]


def test_the_openapi_document_is_published_valid_and_complete(local_platform):
    from openapi_spec_validator import validate

    from app import app

    reply = get_openapi_document.sync_detailed(client=anonymous(local_platform.api_url))
    assert reply.status_code == HTTPStatus.OK and reply.parsed is not None
    document = json.loads(reply.content)
    validate(document)
    assert set(document["paths"]) == set(app.routes)
    near = document["paths"]["/v1/cameras/nearby"]["get"]
    assert {p["name"] for p in near["parameters"]} >= {"lat", "lon", "k", "radius_m"}
    assert document["paths"]["/v1/devices"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeviceRegistration"}
