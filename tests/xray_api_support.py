"""Calling the real Chalice app in-process with API Gateway proxy events written from AWS's documentation."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from apigw_support import documented_event

from local.lambda_runtime import LambdaContext


def call(method: str, path: str, token: str, *, resource: str | None = None, query: dict[str, str] | None = None,
         body: bytes | None = None, headers: Sequence[tuple[str, str]] = (),
         path_parameters: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body, raw text or, for a binary answer, bytes) of one request through ``app``."""
    from app import app

    event = documented_event(resource=resource or path, method=method, path=path, query=urlencode(query or {}),
                             headers=[("Authorization", f"Bearer {token}"), *headers], body=body,
                             source_ip="203.0.113.7", stage="api", binary_media_types=app.api.binary_types,
                             path_parameters=path_parameters)
    response = app(event, LambdaContext(function_name="api"))
    text = response.get("body") or ""
    if response.get("isBase64Encoded"):  # a binary answer (a PDF): its bytes
        return int(response["statusCode"]), dict(response.get("headers") or {}), base64.b64decode(text)
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = text
    return int(response["statusCode"]), dict(response.get("headers") or {}), parsed
