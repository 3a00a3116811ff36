"""The deployed API's contract, read from the synthesised template: every method API Gateway routes reaches its
Chalice view with the event AWS documents, and the local gateway sends exactly that event."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from apigw_support import GENERATED, documented_event, sample_path, template_routes
from cfn_support import shared_assembly

from local.lambda_runtime import LambdaContext

STAGE = "test"


@pytest.fixture(scope="module")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The API stack's template, from the assembly the infra tests share (synthesised here if absent)."""
    return shared_assembly(tmp_path_factory, STAGE).template("api")


@pytest.fixture(scope="module")
def chalice_app() -> Any:
    from app import app

    return app


def _proxied(template: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, method, kind in template_routes(template) if kind == "AWS_PROXY"}


def test_the_deployed_api_has_one_resource_per_route_of_the_app(api_template, chalice_app):
    # GIVEN the methods API Gateway sends to the function, read from the template
    proxied = _proxied(api_template)
    # THEN they are exactly the app's routes (no {proxy+} resource, whose events Chalice cannot route)
    assert proxied == {(path, method) for path, methods in chalice_app.routes.items() for method in methods}
    assert not any("+}" in path for path, _ in proxied)
    # AND every route's resource answers any other method with a mock 405
    mocked = {path for path, method, kind in template_routes(api_template) if method == "ANY" and kind == "MOCK"}
    assert mocked == set(chalice_app.routes)


def test_every_deployed_route_reaches_its_view_with_the_documented_event(api_template, chalice_app, aws):
    # GIVEN every (resource, method) of the deployed API, and the event AWS documents for a request to it
    for resource, method in sorted(_proxied(api_template)):
        path, parameters = sample_path(resource)
        body = b'{"x": 1}' if method in ("POST", "PUT") else None
        headers = [("Host", "a1b2c3d4e5.execute-api.example"), ("User-Agent", "contract-test")]
        if body:
            headers.append(("Content-Type", "application/json"))
        event = documented_event(resource=resource, method=method, path=path, headers=headers, body=body,
                                 source_ip="203.0.113.7", stage="api", path_parameters=parameters,
                                 binary_media_types=chalice_app.api.binary_types)
        # WHEN Lambda invokes the app with it, without a token
        response = chalice_app(event, LambdaContext(function_name="api"))
        # THEN the app routed it to the view (Chalice answers 404/405 itself otherwise), which asks for a token
        status = response["statusCode"]
        if resource == "/v1/openapi.json":
            assert status == 200, (method, resource)
        elif resource == "/v1/follow/{token}":  # the signed token is the credential: a sample one is no link
            assert status == 404, (method, resource, response["body"])
        else:
            assert status == 401, (method, resource, response["body"])
            assert json.loads(response["body"])["error"]["code"] == "unauthorized"


def test_a_proxy_resource_event_is_what_chalice_cannot_route(chalice_app, aws):
    # GIVEN the event a {proxy+} integration sends (AWS's documented sample shape), for a real route
    event = documented_event(resource="/{proxy+}", method="GET", path="/v1/openapi.json", source_ip="203.0.113.7",
                             stage="api", path_parameters={"proxy": "v1/openapi.json"},
                             binary_media_types=chalice_app.api.binary_types)
    # WHEN the app gets it THEN it cannot route it: the reason the API is per-route
    try:
        assert chalice_app(event, LambdaContext(function_name="api"))["statusCode"] == 405
    finally:  # Chalice's route table is a defaultdict: the lookup above added an empty "/{proxy+}" entry
        chalice_app.routes.pop("/{proxy+}", None)


def test_gateway_errors_come_in_the_apis_error_shape(api_template):
    responses = {r["Properties"]["ResponseType"]: r["Properties"] for r in api_template["Resources"].values()
                 if r["Type"] == "AWS::ApiGateway::GatewayResponse"}
    # THEN an unknown path is a 404 (not API Gateway's 403 "Missing Authentication Token"), and every gateway
    # answer is the API's JSON error once API Gateway substitutes its variables
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "REQUEST_TOO_LARGE"} <= set(responses)
    for props in responses.values():
        rendered = (props["ResponseTemplates"]["application/json"]
                    .replace("$context.error.messageString", '"Too Many Requests"')
                    .replace("$context.httpMethod", "GET").replace("$context.path", "/api/x"))
        assert set(json.loads(rendered)["error"]) == {"code", "message"}
        assert props["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"


# --- the local gateway sends the deployed integration's event ------------------------------------------------


@pytest.fixture
def recording_gateway(chalice_app) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    from local.gateway import ApiGateway

    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with lock:
            seen.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    gateway = ApiGateway(chalice_app, port=0, invoke=invoke)
    gateway.start()
    yield gateway, seen
    gateway.stop()


def _send(port: int, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0))
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders(body)
    status = conn.getresponse().status
    conn.close()
    return status


REQUESTS = [  # (method, target, headers, body): query repeats, path parameters, JSON and binary bodies
    ("GET", "/v1/cameras/nearby?lat=37.5&lon=126.9&k=3&k=5&tag=", [("Authorization", "Bearer t-1")], None),
    ("POST", "/v1/trips/trip-9/positions", [("Authorization", "Bearer t-2"), ("Content-Type", "application/json"),
                                             ("X-Request-Tag", "a"), ("X-Request-Tag", "b")],
     json.dumps({"positions": [], "note": "귀가"}).encode()),
    ("POST", "/v1/sos/inc-1/evidence", [("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n\x00\xff"),
    ("DELETE", "/v1/video-links/req-7", [("User-Agent", "golden-time-app/1.0")], None),
]


@pytest.mark.parametrize(("method", "target", "headers", "body"), REQUESTS, ids=[r[1] for r in REQUESTS])
def test_local_gateway_event_equals_the_deployed_integrations_event(api_template, chalice_app, recording_gateway,
                                                                    method, target, headers, body):
    gateway, seen = recording_gateway
    host = f"127.0.0.1:{gateway.port}"
    sent = [("Host", host), *headers] + ([("Content-Length", str(len(body)))] if body else [])
    # GIVEN the resource the deployed API routes this request to
    path, _, query = target.partition("?")
    resources = {p for p, m in _proxied(api_template) if m == method}
    resource = next(r for r in resources if _matches(r, path))
    # WHEN the request goes through the local gateway from 127.0.0.2
    assert _send(gateway.port, method, target, sent, body) == 200
    local = seen[-1]
    # THEN its event equals the documented event of the deployed integration, field by field; API Gateway adds
    # X-Forwarded-For (the caller), -Port, -Proto and a trace id to the headers it received
    added = [("X-Amzn-Trace-Id", local["headers"].get("X-Amzn-Trace-Id", "missing")), ("X-Forwarded-For", "127.0.0.2"),
             ("X-Forwarded-Port", str(gateway.port)), ("X-Forwarded-Proto", "http")]
    parameters = {n[1:-1]: v for n, v in zip(resource.split("/"), path.split("/"), strict=True) if n.startswith("{")}
    expected = documented_event(resource=resource, method=method, path=path, query=query,
                                headers=sent + added, body=body, source_ip="127.0.0.2", stage="api",
                                path_parameters=parameters, binary_media_types=api_template["Resources"][
                                    _rest_api(api_template)]["Properties"]["BinaryMediaTypes"])
    assert local["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    for field in expected:
        if field != "requestContext":
            assert local[field] == expected[field], field
    assert set(local) == set(expected)
    context, documented = local["requestContext"], expected["requestContext"]
    assert set(context) == set(documented) and set(context["identity"]) == set(documented["identity"])
    for key, value in documented.items():
        if key in GENERATED:
            assert isinstance(context[key], type(value)) and context[key], key
        else:
            assert context[key] == value, key


def _matches(resource: str, path: str) -> bool:
    parts, wanted = resource.split("/"), path.split("/")
    return len(parts) == len(wanted) and all(p.startswith("{") or p == w for p, w in zip(parts, wanted, strict=True))


def _rest_api(template: dict[str, Any]) -> str:
    return str(next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::ApiGateway::RestApi"))

