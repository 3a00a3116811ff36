"""CORS for the deployed console: the page (S3 behind its own CloudFront) calls the API (API Gateway) cross-origin.

The page could not go through its own distribution: API Gateway would then see CloudFront's address, not the
browser's, and IP-bound principals (agencies, the control center's ranges) would stop matching. So the API lets
exactly one other origin read its answers, the console's (setting ``console_origin``). Preflight OPTIONS never
reach the app: API Gateway answers them with a mock on every resource (infra/stacks/api.py), the local gateway
likewise; both use the lists below.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.settings import get_settings

# What the console sends beside the CORS-safelisted ones, and what it must be able to read back.
ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key")
EXPOSE_HEADERS = ("X-Request-Id", "Retry-After", "Location", "Warning", "Content-Disposition")
MAX_AGE_S = 600  # Chromium caps a preflight's cache at 2 hours; 10 minutes is enough for a working session


def preflight_headers(origin: str, methods: list[str] | tuple[str, ...]) -> dict[str, str]:
    """A preflight's answer for a resource whose routes take ``methods``."""
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": ", ".join(sorted(methods)),
            "Access-Control-Allow-Headers": ", ".join(ALLOW_HEADERS), "Access-Control-Max-Age": str(MAX_AGE_S)}


def allow_console(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: every answer, errors included, is readable by the console's origin when one is set."""
    response = get_response(request)
    origin = get_settings().console_origin
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSE_HEADERS)
    return response
