"""GET /v1/openapi.json: the published contract, built from the registered routes and their models."""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.http import JSON_HEADERS, ROUTES, RouteDoc
from chalicelib.services.request_guard import KEY_PATTERN

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


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(route: RouteDoc, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary,
        "description": "Principal kinds allowed: " + ", ".join(k.value for k in route.allow),
        "security": [{"bearer": []}],
        "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                       for name in re.findall(r"{(\w+)}", route.path)],
        "responses": {str(route.status): {"description": "success", "content": {"application/json": {
            "schema": _schema(route.response, components) if route.response else {"type": "object"}}}}},
    }
    for status, why in _ERRORS:
        if status in _BODY_ERRORS and route.body is None and route.raw_media is None:
            continue
        operation["responses"][status] = {"description": why, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
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
        for name, field in route.query.model_fields.items():
            operation["parameters"].append({"name": name, "in": "query", "required": field.is_required(),
                                            "schema": route.query.model_json_schema()["properties"][name]})
    if route.body is not None:
        operation["requestBody"] = {"required": route.body_required, "content": {"application/json": {
            "schema": _schema(route.body, components)}}}
    if route.raw_media is not None:
        operation["requestBody"] = {"required": True, "content": {route.raw_media: {
            "schema": {"type": "string", "format": "binary"}}}}
    for status, why, media in route.media_responses:
        operation["responses"][status] = {"description": why, "content": {media: {"schema": {}}}}
    return operation


def openapi_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        for method in route.methods:
            paths.setdefault(route.path, {})[method.lower()] = _operation(route, components)
    paths["/v1/openapi.json"] = {"get": {"summary": "this document", "security": [],
                                         "responses": {"200": {"description": "OpenAPI 3.1 document"}}}}
    return {"openapi": "3.1.0",
            "info": {"title": "Golden Time API", "version": "1.0.0",
                     "description": "Integrated safety control center: cameras, safe return, SOS, X-ray, "
                                    "agency video links, missing-person search."},
            "servers": [{"url": "/"}], "paths": dict(sorted(paths.items())),
            "components": {"schemas": components,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}


@docs.route("/v1/openapi.json", methods=["GET"])
def openapi() -> Response:
    return Response(body=openapi_document(), status_code=200, headers=dict(JSON_HEADERS))
