"""Golden Time HTTP API (Chalice). Routes live in chalicelib/api blueprints; this file wires them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from chalice.app import Chalice, Request, Response

from chalicelib.api.alerts import alerts
from chalicelib.api.cameras import cameras
from chalicelib.api.console import console
from chalicelib.api.cors import allow_console
from chalicelib.api.devices import devices
from chalicelib.api.disasters import disasters
from chalicelib.api.dispatches import dispatches
from chalicelib.api.follow import follow
from chalicelib.api.http import error_boundary
from chalicelib.api.link_bundles import link_bundles
from chalicelib.api.openapi import docs
from chalicelib.api.protected import protected
from chalicelib.api.searches import searches
from chalicelib.api.selective_monitor import monitor
from chalicelib.api.sos import sos
from chalicelib.api.trips import trips
from chalicelib.api.video_links import video_links
from chalicelib.api.xray import xray
from chalicelib.api.xray_webhooks import xray_webhooks

logger = Logger(service="api")
app = Chalice(app_name="golden-time")
app.api.binary_types.extend(["multipart/related", "application/pdf"])  # STOW-RS bodies in, PDF reports out
app.register_blueprint(cameras)
app.register_blueprint(devices)
app.register_blueprint(docs)
app.register_blueprint(trips)
app.register_blueprint(sos)
app.register_blueprint(alerts)
app.register_blueprint(protected)
app.register_blueprint(video_links)
app.register_blueprint(xray)
app.register_blueprint(xray_webhooks)
app.register_blueprint(monitor)
app.register_blueprint(searches)
app.register_blueprint(dispatches)
app.register_blueprint(link_bundles)
app.register_blueprint(follow)
app.register_blueprint(disasters)
app.register_blueprint(console)

# Middleware runs in the order registered, the first outermost.
app.register_middleware(allow_console, "http")  # every answer readable by the console, the error boundary's too


@app.middleware("http")
def correlate(event: Request, get_response: Any) -> Response:
    """Every log line of a request carries the API Gateway request id."""
    logger.set_correlation_id(event.context.get("requestId"))
    response: Response = get_response(event)
    response.headers.setdefault("X-Request-Id", str(event.context.get("requestId", "")))
    return response


app.register_middleware(error_boundary, "http")  # inside correlate: its answers carry the request id too
