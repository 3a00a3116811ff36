"""The Chalice app called with the API Gateway proxy event from events/, as Lambda calls it."""

from __future__ import annotations

import copy
import json

from conftest import load_event

from chalicelib.api import context
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from local.lambda_runtime import LambdaContext


def test_nearby_event_through_the_real_app(aws):
    # GIVEN an operator and two cameras in the registry
    context.reset_platform()
    _, token = create_principal(PrincipalKind.OPERATOR, "Operator", principal_id="operator-1", resources=aws)
    CameraRegistry(aws.table("cameras"), aws.store("media"), index_key="indexes/cameras.npz").load_catalog([
        Camera(camera_id="C-1", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=37.5666, lon=126.9781),
        Camera(camera_id="C-2", kind=CameraKind.TRAFFIC, district="Jung-gu", lat=37.58, lon=126.99)])
    event = copy.deepcopy(load_event("apigw/nearby_cameras.json"))
    event["headers"]["Authorization"] = f"Bearer {token}"
    from app import app

    # WHEN Lambda invokes the app with the proxy event
    response = app(event, LambdaContext(function_name="api"))

    # THEN the nearest camera comes first, with its distance
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert [c["camera"]["camera_id"] for c in body["cameras"]] == ["C-1", "C-2"]
    assert body["cameras"][0]["distance_m"] < 20
    context.reset_platform()
