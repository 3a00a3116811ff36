"""Missing-person search: POST /v1/searches, GET /v1/searches/{search_id} (operators and agencies)."""

from __future__ import annotations

import re

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.errors import NotFound
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.search import SearchAnswer, SearchRequest
from chalicelib.services.audit import AuditLog

searches = Blueprint(__name__)
_ALLOWED = {PrincipalKind.OPERATOR, PrincipalKind.AGENCY}
_SEARCH_ID = re.compile(r"^[0-9a-f]{32}$")


@endpoint(searches, "/v1/searches", methods=["POST"], allow=_ALLOWED, status=202)
def start_search(caller: Caller, request: Request, *, body: SearchRequest) -> SearchAnswer:
    """Search the footage of every camera the person could have reached (photo and/or clothing colours)."""
    answer = platform().searches.start(caller.id, body)
    # Searching people in CCTV footage is audited like every other access to recorded video.
    AuditLog(platform().resources.table("audit")).append(
        "search.start", actor=caller.id, source_ip=caller.source_ip, subject=answer.search_id,
        details={"photos": str(len(body.photos)), "upper_color": body.upper_color or "-",
                 "lower_color": body.lower_color or "-", "cameras": ",".join(answer.cameras)[:1000],
                 "footage_seconds": f"{answer.footage_seconds_total:.0f}", "window_minutes": str(body.window_minutes)})
    return answer


@endpoint(searches, "/v1/searches/{search_id}", allow=_ALLOWED)
def get_search(caller: Caller, request: Request, search_id: str) -> SearchAnswer:
    """Status, progress (shards and footage seconds), hits with thumbnails, and the route."""
    if not _SEARCH_ID.match(search_id):
        raise NotFound(f"no search {search_id}")
    return platform().searches.get(caller.id, search_id)
