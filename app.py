"""Golden Time HTTP API (Chalice). Routes live in chalicelib/api blueprints; this file wires them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from chalice.app import Chalice, Request, Response

from chalicelib.api.cameras import cameras
from chalicelib.api.devices import devices

logger = Logger(service="api")
app = Chalice(app_name="golden-time")
app.register_blueprint(cameras)
app.register_blueprint(devices)


@app.middleware("http")
def correlate(event: Request, get_response: Any) -> Response:
    """Every log line of a request carries the API Gateway request id."""
    logger.set_correlation_id(event.context.get("requestId"))
    response: Response = get_response(event)
    response.headers.setdefault("X-Request-Id", str(event.context.get("requestId", "")))
    return response
