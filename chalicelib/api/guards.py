"""Per-device rate limits and Idempotency-Key handling shared by the safe-return routes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar, cast

from chalice.app import Request, Response
from pydantic import BaseModel

from chalicelib.api.context import platform
from chalicelib.api.http import JSON_HEADERS, Caller
from chalicelib.clock import now_ms
from chalicelib.services.saferet.request_guard import fingerprint, valid_key

REPLAYED_HEADER = "Idempotent-Replayed"
M = TypeVar("M", bound=BaseModel)


def limit(caller: Caller, *buckets: str) -> None:
    """Count the call against the device's limits (429 with Retry-After when over)."""
    saferet = platform().saferet
    at = now_ms()
    for bucket in buckets or ("api",):
        limiter = saferet.sos_limit if bucket == "sos" else saferet.api_limit
        limiter.hit(caller.id, bucket, at)


def idempotent_create[M: BaseModel](caller: Caller, request: Request, *, scope: str, prefix: str, body: BaseModel,
                      create: Callable[[str], M], buckets: tuple[str, ...]) -> M:
    """Run ``create(new_id)`` once per Idempotency-Key: a retry gets the first answer (same id).

    ``create`` must answer the stored object when the id exists already, so a retry after a
    failed first attempt finishes the work under the same id instead of starting a second one.
    """
    keys = platform().saferet.keys
    key = valid_key(request.headers.get("idempotency-key"))
    candidate = f"{prefix}-{secrets.token_hex(8)}"
    replayed = False
    if key is None:
        limit(caller, *buckets)
        target = candidate
    else:
        digest = fingerprint(body.model_dump_json().encode())
        earlier = keys.lookup(scope, caller.id, key, digest)
        if earlier is not None:
            target, replayed = earlier, True  # a retry: never counted, never a second object
        else:
            limit(caller, *buckets)
            target, replayed = keys.claim(scope, caller.id, key, candidate, digest, now_ms())
    result = create(target)
    headers: dict[str, str | list[str]] = {**JSON_HEADERS, REPLAYED_HEADER: "true" if replayed else "false"}
    response = Response(body=result.model_dump(mode="json"), status_code=201, headers=headers)
    # The endpoint wrapper passes a Response through untouched; typing it as the model keeps the
    # view's return annotation (which the OpenAPI document reads) truthful about the body.
    return cast(M, response)
