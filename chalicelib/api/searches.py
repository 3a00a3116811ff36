"""Missing-person search: POST /v1/searches, GET /v1/searches/{search_id} (operators and agencies); which cameras
are kept out of the search index: GET /v1/search-index/cameras, PUT /v1/search-index/cameras/{camera_id}
(operators); re-index jobs: POST /v1/search-index/reindex, GET /v1/search-index/reindex/{job_id} (operators)."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.search import (
    CameraIndexing,
    CameraIndexingChange,
    CamerasIndexingOff,
    ReindexProgress,
    ReindexRequest,
    SearchAnswerView,
    SearchRequest,
)
from chalicelib.services.audit import AuditLog
from chalicelib.wiring.search import build_reindexing, index_switches

searches = Blueprint(__name__)
_ALLOWED = {PrincipalKind.OPERATOR, PrincipalKind.AGENCY}
_SWITCHERS = {PrincipalKind.OPERATOR, PrincipalKind.ADMIN}


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


@endpoint(searches, "/v1/search-index/cameras", allow=_SWITCHERS)
def cameras_indexing_off(caller: Caller, request: Request) -> CamerasIndexingOff:
    """The cameras kept out of the search index, with why and since when."""
    return CamerasIndexingOff(cameras=index_switches(platform().resources).states())


@endpoint(searches, "/v1/search-index/cameras/{camera_id}", methods=["PUT"], allow=_SWITCHERS)
def switch_camera_indexing(caller: Caller, request: Request, camera_id: str, *,
                           body: CameraIndexingChange) -> CameraIndexing:
    """Turn a camera's indexing off (a privacy zone, a broken camera: nothing of it is indexed or read from the
    index; searches decode its footage and name it) or on again."""
    platform().cameras.get(camera_id)  # a camera of the catalog (404 otherwise)
    state = index_switches(platform().resources).set(camera_id, indexing=body.indexing, reason=body.reason)
    AuditLog(platform().resources.table("audit")).append(
        "search-index.switch", actor=caller.id, source_ip=caller.source_ip, subject=camera_id,
        details={"indexing": str(body.indexing).lower(), "reason": body.reason or "-"})
    return state


@endpoint(searches, "/v1/search-index/reindex", methods=["POST"], allow=_SWITCHERS, status=202)
def start_reindex(caller: Caller, request: Request, *, body: ReindexRequest) -> ReindexProgress:
    """Re-index cameras over a time range with the current re-id model, as a batch array job (per camera-hour,
    idempotent); cameras whose indexing is off are skipped and named."""
    for camera_id in body.camera_ids:
        platform().cameras.get(camera_id)  # cameras of the catalog (404 otherwise)
    progress = build_reindexing(platform().resources).start(body)
    AuditLog(platform().resources.table("audit")).append(
        "search-index.reindex", actor=caller.id, source_ip=caller.source_ip, subject=progress.job_id,
        details={"cameras": ",".join(body.camera_ids)[:1000], "start": body.start.isoformat(),
                 "end": body.end.isoformat()})
    return progress


@endpoint(searches, "/v1/search-index/reindex/{job_id}", allow=_SWITCHERS)
def reindex_progress(caller: Caller, request: Request, job_id: str) -> ReindexProgress:
    """Camera-hours re-indexed of the plan, and the array job's tasks."""
    return build_reindexing(platform().resources).progress(job_id)
