"""Missing-person search: POST /v1/searches, GET /v1/searches/{search_id} (operators and agencies)."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.search import SearchAnswerView, SearchRequest
from chalicelib.services.audit import AuditLog

searches = Blueprint(__name__)
_ALLOWED = {PrincipalKind.OPERATOR, PrincipalKind.AGENCY}


@endpoint(searches, "/v1/searches", methods=["POST"], allow=_ALLOWED, status=202)
def start_search(caller: Caller, request: Request, *, body: SearchRequest) -> SearchAnswerView:
    """Search the footage of every camera the person could have reached (photo and/or clothing colours)."""
    answer = platform().searches.start(caller.id, body)
    # Searching people in CCTV footage is audited like every other access to recorded video.
    AuditLog(platform().resources.table("audit")).append(
        "search.start", actor=caller.id, source_ip=caller.source_ip, subject=answer.search_id,
        details={"photos": str(len(body.photos)), "upper_color": body.upper_color or "-",
                 "lower_color": body.lower_color or "-", "cameras": ",".join(answer.cameras)[:1000],
                 "footage_seconds": f"{answer.footage_seconds_total:.0f}", "window_minutes": str(body.window_minutes)})
    return SearchAnswerView.model_validate(answer)


@endpoint(searches, "/v1/searches/{search_id}", allow=_ALLOWED)
def get_search(caller: Caller, request: Request, search_id: str) -> SearchAnswerView:
    """Status, progress (shards and footage seconds), hits with thumbnails, and the route."""
    return SearchAnswerView.model_validate(platform().searches.get(caller.id, search_id))
