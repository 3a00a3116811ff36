"""The contract a client team generates from: the committed openapi.json is the served document, and
every operation carries what a generator and a reader need (operationId, tags, summary, examples,
declared headers and error statuses). Examples are checked against the models and the schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

import app as api_app
from chalicelib.api.http import ROUTES, RouteDoc
from chalicelib.models.follow import FollowView
from local.openapi import CONTRACT, render

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def served() -> dict[str, Any]:
    with Client(api_app.app) as client:
        reply = client.http.get("/v1/openapi.json")
    assert reply.status_code == 200
    document: dict[str, Any] = json.loads(reply.body)
    return document


OUTSIDE_BEARER = {"get_openapi_document", "follow_trip"}
"""Operations of plain routes (this document; a guardian's link, whose token is the credential)."""


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()
            if method in METHODS]


def _route(operation_id: str) -> RouteDoc:
    found = [route for route in ROUTES if route.operation_id == operation_id]
    assert len(found) == 1, operation_id
    return found[0]


def test_the_committed_contract_is_the_served_document(served):
    assert CONTRACT.is_file(), "openapi.json is missing: run `make openapi`"
    committed = CONTRACT.read_text(encoding="utf-8")
    assert json.loads(committed) == served, "openapi.json differs from the served document: run `make openapi`"
    assert committed == render(served)  # byte-stable, so a diff in review shows only real changes


def test_the_document_is_valid_openapi_3_1(served):
    validate(served)
    assert served["openapi"] == "3.1.0"


def test_every_operation_has_a_unique_operation_id_tags_and_a_summary(served):
    operations = _operations(served)
    declared_tags = {tag["name"] for tag in served["tags"]}
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(ids) and len(ids) == len(set(ids)), ids
    for path, method, op in operations:
        assert op.get("tags") and set(op["tags"]) <= declared_tags, (path, method)
        assert op.get("summary"), (path, method)
    assert len(operations) == len(ROUTES) + len(OUTSIDE_BEARER)  # every registered route, and the plain ones


def test_every_operation_has_examples_that_its_models_accept(served):
    for path, method, op in _operations(served):
        where = f"{method.upper()} {path}"
        for parameter in op.get("parameters", []):
            if parameter["in"] in ("path", "query"):
                assert "example" in parameter, f"{where}: parameter {parameter['name']} has no example"
        success = [r for status, r in op["responses"].items() if status.startswith("2")]
        assert success, where
        for reply in success:  # JSON answers carry an example; a binary one (a PDF) declares its media type
            media, content = next(iter(reply["content"].items()))
            assert "example" in content or not media.endswith("json"), (where, media)
        success = [r for r in success if "application/json" in r["content"]]
        if op["operationId"] == "follow_trip":
            FollowView.model_validate(success[0]["content"]["application/json"]["example"])
        if op["operationId"] in OUTSIDE_BEARER:
            assert op["security"] == [], where
            continue
        route = _route(op["operationId"])
        if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
            example = op["requestBody"]["content"]["application/json"]["example"]
            assert example is not None, f"{where}: add a request example to chalicelib/api/examples.py"
            assert route.body is not None
            route.body.model_validate(example)  # what the API itself will accept
        if route.response is not None and success:
            example = success[0]["content"]["application/json"]["example"]
            route.response.model_validate(example)
            Draft202012Validator(route.response.model_json_schema()).validate(example)
        for status, reply in op["responses"].items():
            if not status.startswith("2") and "application/json" in reply["content"]:
                error = reply["content"]["application/json"]["example"]["error"]
                assert error["code"] and error["message"], (where, status)


def test_headers_and_error_statuses_are_declared(served):
    for path, method, op in _operations(served):
        if op["operationId"] in OUTSIDE_BEARER:
            continue
        route = _route(op["operationId"])
        responses = op["responses"]
        assert {"400", "401", "403", "404", "422", "429", "500"} <= set(responses), (path, method)
        assert "Retry-After" in responses["429"]["headers"]
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert ("Idempotency-Key" in headers) is route.idempotent, (path, method)
        if route.body is not None:
            assert {"413", "415"} <= set(responses), (path, method)
    assert _route("report_sos").idempotent and _route("start_trip").idempotent


def test_two_different_models_of_one_name_cannot_share_a_component():
    from pydantic import BaseModel

    from chalicelib.api.openapi import _schema

    def window(field: type) -> type[BaseModel]:
        class Window(BaseModel):
            start: field  # type: ignore[valid-type]

        return Window

    components: dict[str, Any] = {}
    _schema(window(str), components)
    _schema(window(str), components)  # the same shape again is the same component
    with pytest.raises(ValueError, match="named Window"):
        _schema(window(int), components)


NOT_GENERATED = {"stow_studies": "DICOMweb STOW-RS is multipart/related, which openapi-python-client does not generate"}


def test_the_generated_client_has_every_operation():
    """openapi-python-client skips an operation it cannot express (and only warns): each must be there."""
    import importlib.util

    from client_support import api_client

    api_client()
    with CONTRACT.open() as handle:
        document = json.load(handle)
    modules = {op["operationId"]: f"golden_time_api_client.api.{op['tags'][0].replace('-', '_')}.{op['operationId']}"
               for _, _, op in _operations(document)}
    missing = [name for name, module in modules.items()
               if name not in NOT_GENERATED and importlib.util.find_spec(module) is None]
    assert missing == []


WEBHOOK_QUEUES = {"agency-dispatch": "agency-dispatch", "xray-study-event": "center-webhooks"}


def test_the_webhooks_we_send_are_published_with_their_signature_and_answers(served):
    # each webhook we POST is an operation an integrator can read: id, tag, summary, body, headers, answers
    assert set(served["webhooks"]) == set(WEBHOOK_QUEUES)
    declared_tags = {tag["name"] for tag in served["tags"]}
    ids = [op["operationId"] for _, _, op in _operations(served)]
    for name, item in served["webhooks"].items():
        op = item["post"]
        assert op["operationId"] not in ids and set(op["tags"]) <= declared_tags and op["summary"], name
        assert op["requestBody"]["required"] is True and "application/json" in op["requestBody"]["content"]
        headers = {p["name"]: p for p in op["parameters"] if p["in"] == "header"}
        assert {"X-GT-Timestamp", "X-GT-Signature"} <= set(headers) and all(p["required"] for p in headers.values())
        assert "HMAC-SHA256" in headers["X-GT-Signature"]["description"]
        assert set(op["responses"]) == {"2XX", "default"}
    bodies = served["webhooks"]["agency-dispatch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {ref["$ref"].rsplit("/", 1)[-1] for ref in bodies["oneOf"]} == {
        "Dispatch112", "EvidenceFollowUp", "DisasterDispatch", "VideoLinkGrant", "SearchAnswer"}
    for option in bodies["oneOf"]:  # closed, which is what makes exactly one of them match a body
        assert served["components"]["schemas"][option["$ref"].rsplit("/", 1)[-1]]["additionalProperties"] is False


def test_the_published_retries_are_what_the_consumers_do(served):
    from chalicelib.catalog import build_catalog
    from functions.agency_dispatch import handler as agency_consumer
    from functions.center_webhooks import handler as center_consumer

    consumers = {"agency-dispatch": agency_consumer.backoff_s, "xray-study-event": center_consumer.backoff_s}
    for name, queue in WEBHOOK_QUEUES.items():
        backoff_s = consumers[name]
        schedule = [backoff_s(receives) for receives in range(1, 7)]
        assert backoff_s(20) == schedule[-1]  # the cap
        said = served["webhooks"][name]["post"]["responses"]["default"]["description"]
        assert f"{', '.join(map(str, schedule[:-1]))} then {schedule[-1]} s" in said, said
        assert f"{build_catalog('test').queue(queue).max_receive_count} attempts in all" in said, said
