"""GET /v1/follow/{token}: a guardian's live-follow link (from the trip-started SMS). No principal: the signed,
expiring token is the credential, and it grants this one trip's position and status only, until arrival.
Like /v1/openapi.json it sits outside the bearer-authenticated contract."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api.context import platform
from chalicelib.api.http import JSON_HEADERS, error_response
from chalicelib.clock import now_ms
from chalicelib.errors import ApiError

follow = Blueprint(__name__)


@follow.route("/v1/follow/{token}", methods=["GET"])
def follow_trip(token: str) -> Response:
    saferet = platform().saferet
    try:
        if saferet.follow is None:
            raise ApiError("live-follow links are not configured", code="not_found", status=404)
        trip_id, expires_ms = saferet.follow.open(token, now_ms())
        view = saferet.follow.view(saferet.trips.get(trip_id, None), expires_ms)
    except ApiError as exc:
        return error_response(exc)
    return Response(body=view.model_dump(mode="json"), status_code=200,
                    headers={**JSON_HEADERS, "Cache-Control": "no-store"})
