"""API Gateway, written from AWS's documentation rather than from our gateway, to test the gateway against.

- ``documented_event``: the REST API Lambda proxy integration's input, field by field as AWS documents it
  ("Input format of a Lambda function for proxy integration", API Gateway developer guide): ``resource`` is the
  API Gateway resource that matched, ``path`` the request path, the single-value maps keep the last value,
  ``pathParameters`` / query maps are null when empty, ``requestContext.path`` carries the stage, and the body
  is base64-encoded exactly when the Content-Type matches one of the API's binary media types.
- ``template_routes``: the (resource path, method, integration type) triples a synthesised REST API serves,
  read from its ``AWS::ApiGateway::Resource`` / ``Method`` resources (``template_methods``: each one's properties).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl

# requestContext.identity keys of the documented example (no client certificate, no authorizer on our API)
IDENTITY_KEYS = ("accessKey", "accountId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
                 "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "sourceIp", "user", "userAgent",
                 "userArn")
REQUEST_CONTEXT_KEYS = ("accountId", "apiId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod",
                        "identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch", "resourceId",
                        "resourcePath", "stage")
# Values API Gateway makes up per request or per deployment: compared by presence and type, not value.
GENERATED = ("apiId", "domainName", "domainPrefix", "extendedRequestId", "requestId", "requestTime",
             "requestTimeEpoch", "resourceId")


def documented_event(*, resource: str, method: str, path: str, query: str = "",
                     headers: Sequence[tuple[str, str]] = (), body: bytes | None = None, source_ip: str,
                     stage: str, binary_media_types: Sequence[str], path_parameters: Mapping[str, str] | None = None,
                     ) -> dict[str, Any]:
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    content_type = next((v[-1] for k, v in multi_headers.items() if k.lower() == "content-type"), "")
    binary = bool(body) and any(fnmatchcase(content_type.split(";")[0].strip().lower(), t.lower())
                                for t in binary_media_types)
    identity: dict[str, Any] = dict.fromkeys(IDENTITY_KEYS)
    identity["sourceIp"] = source_ip
    identity["userAgent"] = next((v[-1] for k, v in multi_headers.items() if k.lower() == "user-agent"), None)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": "a1b2c3d4e5.execute-api.example",
            "domainPrefix": "a1b2c3d4e5", "extendedRequestId": "e", "httpMethod": method, "identity": identity,
            "path": f"/{stage}{path}", "protocol": "HTTP/1.1", "requestId": "r", "requestTime": "t",
            "requestTimeEpoch": 0, "resourceId": "abc123", "resourcePath": resource, "stage": stage,
        },
        "body": (base64.b64encode(body).decode() if binary else body.decode()) if body else None,
        "isBase64Encoded": binary,
    }


def template_routes(template: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(resource path, HTTP method, integration type) for every method of the template's REST API."""
    return {(path, method, props["Integration"]["Type"]) for (path, method), props in template_methods(template).items()}


def template_methods(template: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """(resource path, HTTP method) → the ``AWS::ApiGateway::Method``'s properties, for the template's REST API."""
    resources = {logical: r["Properties"] for logical, r in template["Resources"].items()
                 if r["Type"] == "AWS::ApiGateway::Resource"}

    def full_path(ref: Any) -> str:
        if isinstance(ref, dict) and "Ref" in ref and ref["Ref"] in resources:
            props = resources[ref["Ref"]]
            return f"{full_path(props['ParentId']).rstrip('/')}/{props['PathPart']}"
        return "/"  # Fn::GetAtt [api, RootResourceId]

    return {(full_path(r["Properties"]["ResourceId"]), r["Properties"]["HttpMethod"]): r["Properties"]
            for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Method"}


def sample_path(resource: str) -> tuple[str, dict[str, str]]:
    """A concrete request path for a resource template, and its path parameters."""
    parameters = {part[1:-1]: f"sample-{i}" for i, part in enumerate(resource.split("/")) if part.startswith("{")}
    path = "/".join(f"sample-{i}" if part.startswith("{") else part for i, part in enumerate(resource.split("/")))
    return path, parameters
