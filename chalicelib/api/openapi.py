"""GET /v1/openapi.json: the published contract, built from the registered routes and their models."""

from __future__ import annotations

import re
import sys
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.examples import MEDIA_EXAMPLES, REQUEST_EXAMPLES, example_from_schema, value_for
from chalicelib.api.http import JSON_HEADERS, ROUTES, RouteDoc
from chalicelib.api.path_ids import PATH_IDS
from chalicelib.api.webhook_contract import TAG as WEBHOOKS_TAG
from chalicelib.api.webhook_contract import TAG_DESCRIPTION as WEBHOOKS_TAG_DESCRIPTION
from chalicelib.api.webhook_contract import webhooks
from chalicelib.models.follow import FollowView
from chalicelib.services.saferet.request_guard import KEY_PATTERN

docs = Blueprint(__name__)
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}


_ERRORS = (("400", "malformed request"), ("401", "missing or invalid token"),
           ("403", "principal kind or source address not allowed"), ("404", "not found"),
           ("405", "method not allowed on this path"), ("409", "the object's state does not allow this"),
           ("413", "body too large"), ("415", "body is not application/json"), ("422", "invalid values"),
           ("429", "rate limited"), ("500", "unexpected server error (a bug: report the X-Request-Id)"))
_BODY_ERRORS = {"413", "415"}
_ERROR_CODES = {"400": "bad_request", "401": "unauthorized", "403": "forbidden", "404": "not_found",
                "405": "method_not_allowed", "409": "conflict", "413": "payload_too_large",
                "415": "unsupported_media_type", "422": "validation_failed", "429": "rate_limited",
                "500": "internal_error"}


def _path_schema(name: str) -> dict[str, str]:
    return {"type": "string", "pattern": PATH_IDS[name]} if name in PATH_IDS else {"type": "string"}


def _path_example(name: str) -> Any:
    return value_for(name, _path_schema(name), {}, 0)


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    _register(components, schema.pop("$defs", {}))
    _register(components, {model.__name__: schema})
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _register(components: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Components are named by model: two different models of one name would silently share a schema."""
    for name, definition in schemas.items():
        if components.setdefault(name, definition) != definition:
            raise ValueError(f"two different models are named {name} in the contract: rename one")


def _operation(route: RouteDoc, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.tag],
        "summary": route.summary,
        "description": "Principal kinds allowed: " + ", ".join(k.value for k in route.allow),
        "security": [{"bearer": []}],
        "parameters": [{"name": name, "in": "path", "required": True, "schema": _path_schema(name),
                        "example": _path_example(name)}
                       for name in re.findall(r"{(\w+)}", route.path)],
        "responses": {str(route.status): {"description": "success", "content": {"application/json": {
            "schema": _schema(route.response, components) if route.response else {"type": "object"},
            "example": _response_example(route)}}}},
    }
    for status, why in _ERRORS:
        if status in _BODY_ERRORS and route.body is None and route.raw_media is None:
            continue
        operation["responses"][status] = {"description": why, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "example": {"error": {"code": _ERROR_CODES.get(status, "error"), "message": why}}}}}
    operation["responses"]["429"]["headers"] = {"Retry-After": {
        "description": "Seconds to wait before retrying.", "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
    if route.idempotent:
        operation["parameters"].append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "A retry with the same key (and body) answers the first result instead of acting twice.",
            "schema": {"type": "string", "pattern": KEY_PATTERN}})
        operation["responses"][str(route.status)]["headers"] = {"Idempotent-Replayed": {
            "description": "true when this answer replays an earlier request with the same key.", "required": True,
            "schema": {"type": "string", "enum": ["true", "false"]}}}
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = schema.pop("$defs", {})
        _register(components, defs)  # an enum parameter refers to its component, as bodies do
        for name, field in route.query.model_fields.items():
            operation["parameters"].append({"name": name, "in": "query", "required": field.is_required(),
                                            "schema": schema["properties"][name],
                                            "example": value_for(name, schema["properties"][name], defs, 0)})
    if route.body is not None:
        operation["requestBody"] = {"required": route.body_required, "content": {"application/json": {
            "schema": _schema(route.body, components), "example": REQUEST_EXAMPLES.get(route.operation_id)}}}
    if route.raw_media is not None:
        operation["requestBody"] = {"required": True, "content": {route.raw_media: {
            "schema": {"type": "string", "format": "binary"}}}}
    for status, why, media in route.media_responses:
        # a JSON-based media type is an object; any other (a PDF) is bytes, which a generated client reads as a file
        content: dict[str, Any] = {"schema": {"type": "object"} if media.endswith("+json") else
                                   {"type": "string", "format": "binary"}}
        if media in MEDIA_EXAMPLES:
            content["example"] = MEDIA_EXAMPLES[media]
        operation["responses"][status] = {"description": why, "content": {media: content}}
    return operation


def _response_example(route: RouteDoc) -> dict[str, Any]:
    if route.response is None:
        return {}
    schema = route.response.model_json_schema()
    return example_from_schema(schema, schema.get("$defs", {}))


def _tags() -> list[dict[str, str]]:
    """One tag per API module, described by its docstring's first line."""
    tags = {}
    for route in ROUTES:
        module = sys.modules.get(route.module)
        doc = (module.__doc__ if module else None) or route.tag
        tags[route.tag] = doc.strip().splitlines()[0]
    tags["docs"] = "This document."
    tags["follow"] = "A guardian's live-follow link: the signed, expiring token in the path is the credential."
    tags[WEBHOOKS_TAG] = WEBHOOKS_TAG_DESCRIPTION
    return [{"name": name, "description": tags[name]} for name in sorted(tags)]


def _follow_operation(components: dict[str, Any]) -> dict[str, Any]:
    """The guardian's link (chalicelib/api/follow.py) is outside the bearer contract: its token is the credential."""
    schema = FollowView.model_json_schema()
    answers = {"404": "a forged or malformed link", "410": "the walk arrived or the link expired"}
    return {"operationId": "follow_trip", "tags": ["follow"], "security": [],
            "summary": "The walk's live position and status, until arrival (the link in the trip-started SMS)",
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": _path_schema("token"),
                            "example": _path_example("token")}],
            "responses": {"200": {"description": "success", "content": {"application/json": {
                "schema": _schema(FollowView, components),
                "example": example_from_schema(schema, schema.get("$defs", {}))}}},
                **{status: {"description": why, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "example": {"error": {"code": "not_found" if status == "404" else "link_gone", "message": why}}}}}
                   for status, why in answers.items()}}}


def openapi_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        for method in route.methods:
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, components)
    paths["/v1/openapi.json"] = {"get": {
        "operationId": "get_openapi_document", "tags": ["docs"], "summary": "this document", "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {
            "schema": {"type": "object"}, "example": {"openapi": "3.1.0", "info": {"title": "Golden Time API"}}}}}}}}
    paths["/v1/follow/{token}"] = {"get": _follow_operation(components)}
    sent = webhooks(lambda model: _schema(model, components))
    return {"openapi": "3.1.0",
            "info": {"title": "Golden Time API", "version": "1.0.0",
                     "description": "Integrated safety control center: cameras, safe return, SOS, X-ray, "
                                    "agency video links, missing-person search."},
            "servers": [{"url": "/"}], "tags": _tags(), "paths": dict(sorted(paths.items())), "webhooks": sent,
            "components": {"schemas": components,
                           "securitySchemes": {"bearer": {
                               "type": "http", "scheme": "bearer",
                               "description": "An API token issued by the admin CLI (gt.<principal>.<secret>), or "
                                              "for people an ID token of the console's Cognito user pool: it acts "
                                              "as the principal its custom:principal_id names, when the user is "
                                              "in that principal kind's group."}}}}


@docs.route("/v1/openapi.json", methods=["GET"])
def openapi() -> Response:
    return Response(body=openapi_document(), status_code=200, headers=dict(JSON_HEADERS))
