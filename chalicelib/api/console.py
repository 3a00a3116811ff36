"""Read and act routes the control-center console needs beyond the public API (operators).

GET /v1/console/map/cameras, GET /v1/console/map/districts, POST /v1/console/video-links,
POST /v1/console/alerts/{alert_id}/search.
"""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.models.console_map import CameraBox, CameraCollection, DistrictCollection
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.search import SearchAnswerView
from chalicelib.models.video_link import VideoLinkGrantView, VideoLinkRequest
from chalicelib.services.audit import AuditLog
from chalicelib.services.console_map import cameras_in_box, cameras_per_district, district_outlines
from chalicelib.services.console_search import search_from_alert

console = Blueprint(__name__)
_OPERATORS = {PrincipalKind.OPERATOR}


@endpoint(console, "/v1/console/map/cameras", allow=_OPERATORS | {PrincipalKind.AGENCY, PrincipalKind.ADMIN})
def map_cameras(caller: Caller, request: Request, *, query: CameraBox) -> CameraCollection:
    """Cameras in the map's box as GeoJSON points; grid clusters (``point_count``) past ``max_points``."""
    return cameras_in_box(platform().cameras.index(), query)


@endpoint(console, "/v1/console/map/districts", allow=_OPERATORS | {PrincipalKind.AGENCY, PrincipalKind.ADMIN})
def map_districts(caller: Caller, request: Request) -> DistrictCollection:
    """The 25 districts' outlines as GeoJSON polygons with their camera counts."""
    return district_outlines(cameras_per_district(platform().cameras.index()))


@endpoint(console, "/v1/console/video-links", methods=["POST"], allow=_OPERATORS)
def operator_links(caller: Caller, request: Request, *, body: VideoLinkRequest) -> VideoLinkGrantView:
    """Signed video links for the control center itself: the same IP-bound, expiring, audited links agencies
    get, bound to the operator's registered range (an operator without one is refused)."""
    return VideoLinkGrantView.model_validate(platform().video_links.issue(caller.principal, caller.source_ip, body))


@endpoint(console, "/v1/console/alerts/{alert_id}/search", methods=["POST"], allow=_OPERATORS, status=202)
def search_from_protected_alert(caller: Caller, request: Request, alert_id: str) -> SearchAnswerView:
    """Start a missing-person search from a protected-person alert: its registered photo, place and time."""
    p = platform()
    search = search_from_alert(p.saferet.alerts.get(alert_id), p.resources.store("media"))
    answer = p.searches.start(caller.id, search)
    AuditLog(p.resources.table("audit")).append(
        "search.start", actor=caller.id, source_ip=caller.source_ip, subject=answer.search_id,
        details={"photos": "1", "from_alert": alert_id, "cameras": ",".join(answer.cameras)[:1000],
                 "footage_seconds": f"{answer.footage_seconds_total:.0f}",
                 "window_minutes": str(search.window_minutes)})
    return SearchAnswerView.model_validate(answer)
