"""API Gateway (REST API, Lambda proxy integration on per-route resources): which resource a request
reaches, and the event API Gateway sends the function for it.

The cloud API has one API Gateway resource per Chalice route (``infra/stacks/api.py``), so
``resource`` and ``requestContext.resourcePath`` are the route template, as Chalice routes on them.
Matching follows API Gateway: a literal path part wins over a ``{variable}`` sibling.
"""

from __future__ import annotations

import base64
import fnmatch
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

# The methods a REST API resource can have (ANY stands for these); anything else is refused.
GATEWAY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
ACCOUNT_ID = "123456789012"


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    variable: tuple[str, _Node] | None = None
    resource: str | None = None


class ResourceTree:
    """The API's resources (route templates such as ``/v1/trips/{trip_id}``), matched as API Gateway matches."""

    def __init__(self, resources: Iterable[str]) -> None:
        self._root = _Node()
        for resource in resources:
            node = self._root
            for part in filter(None, resource.split("/")):
                if part.startswith("{") and part.endswith("}"):
                    if node.variable is None:
                        node.variable = (part[1:-1], _Node())
                    node = node.variable[1]
                else:
                    node = node.literal.setdefault(part, _Node())
            node.resource = resource

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """(resource, path parameters) for a request path, or None when no resource matches."""
        return self._match(self._root, [p for p in path.split("/") if p], {})

    def _match(self, node: _Node, parts: list[str], params: dict[str, str]) -> tuple[str, dict[str, str]] | None:
        if not parts:
            return (node.resource, params) if node.resource is not None else None
        head, rest = parts[0], parts[1:]
        if head in node.literal and (found := self._match(node.literal[head], rest, params)):
            return found
        if node.variable is not None:
            name, child = node.variable
            return self._match(child, rest, {**params, name: unquote(head)})
        return None


def is_binary(content_type: str | None, binary_media_types: Sequence[str]) -> bool:
    """API Gateway base64-encodes a request body whose Content-Type matches one of the API's binary media types."""
    if not content_type:
        return False
    media = content_type.split(";")[0].strip().lower()
    return any(fnmatch.fnmatchcase(media, pattern.lower()) for pattern in binary_media_types)


def _single(multi: dict[str, list[str]]) -> dict[str, str] | None:
    return {k: v[-1] for k, v in multi.items()} or None  # the last value, as API Gateway keeps


def proxy_event(*, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes | None,
                source_ip: str, resource: str, path_parameters: dict[str, str], stage: str,
                binary_media_types: Sequence[str], api_id: str = "local", host: str = "localhost",
                now: float | None = None) -> dict[str, Any]:
    """The Lambda proxy integration's input event (AWS: "Input format of a Lambda function for proxy integration")."""
    now = time.time() if now is None else now
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    content_type = next((v[-1] for k, v in multi_headers.items() if k.lower() == "content-type"), None)
    encoded = bool(body) and is_binary(content_type, binary_media_types)
    text: str | None = None
    if body:
        text = base64.b64encode(body).decode("ascii") if encoded else body.decode("utf-8", errors="replace")
    user_agent = next((v[-1] for k, v in multi_headers.items() if k.lower() == "user-agent"), None)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": _single(multi_headers),
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": _single(multi_query),
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID, "apiId": api_id, "domainName": host, "domainPrefix": host.split(".")[0],
            "extendedRequestId": request_id, "httpMethod": method,
            "identity": {"accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                         "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                         "principalOrgId": None, "sourceIp": source_ip, "user": None, "userAgent": user_agent,
                         "userArn": None},
            "path": f"/{stage}{path}", "protocol": "HTTP/1.1", "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000), "resourceId": resource_id(resource), "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def resource_id(resource: str) -> str:
    """A stable stand-in for API Gateway's generated resource id."""
    return uuid.uuid5(uuid.NAMESPACE_URL, resource).hex[:10]
