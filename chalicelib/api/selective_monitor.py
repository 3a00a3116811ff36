"""Selective monitoring (선별관제): the operator queue and per-camera rules.

GET /v1/monitor/events, POST /v1/monitor/events/{id}/ack, POST /v1/monitor/events/{id}/resolve
(operators); GET/PUT /v1/monitor/cameras/{id}/rules (operators and admins).
"""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.errors import NotFound
from chalicelib.models.common import Location
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.selective_monitor import (
    CameraRules,
    CameraRulesView,
    EventStatus,
    MonitorEventList,
    MonitorEventQuery,
    MonitorEventRecord,
    MonitorEventView,
    ResolveBody,
)

monitor = Blueprint(__name__)
OPERATORS = {PrincipalKind.OPERATOR}
CONFIGURERS = {PrincipalKind.OPERATOR, PrincipalKind.ADMIN}
SNAPSHOT_LINK_S = 300


@endpoint(monitor, "/v1/monitor/events", allow=OPERATORS)
def list_monitor_events(caller: Caller, request: Request, *, query: MonitorEventQuery) -> MonitorEventList:
    """The operator queue: unresolved AI-flagged camera events, each with its camera's location.

    Highest priority first, then newest."""
    p = platform()
    status = EventStatus(query.status) if query.status else None
    events = p.monitoring.events.located_queue(now_ms=now_ms(), status=status, camera_id=query.camera_id,
                                               limit=query.limit)
    media = p.resources.store("media")
    return MonitorEventList(events=[
        MonitorEventView(event=e, snapshot_url=media.presigned_get(e.snapshot_key, expires_s=SNAPSHOT_LINK_S)
                         if e.snapshot_key else None,
                         clip_url=media.presigned_get(e.clip_key, expires_s=SNAPSHOT_LINK_S) if e.clip_key else None,
                         location=Location(lat=where[0], lon=where[1]) if where else None)
        for e, where in events])


@endpoint(monitor, "/v1/monitor/events/{event_id}/ack", methods=["POST"], allow=OPERATORS)
def ack_monitor_event(caller: Caller, request: Request, event_id: str) -> MonitorEventRecord:
    """Acknowledge a monitor event (an operator is looking at it)."""
    return MonitorEventRecord.model_validate(platform().monitoring.events.ack(event_id, caller.id, now_ms()))


@endpoint(monitor, "/v1/monitor/events/{event_id}/resolve", methods=["POST"], allow=OPERATORS)
def resolve_monitor_event(caller: Caller, request: Request, event_id: str, *,
                          body: ResolveBody | None = None) -> MonitorEventRecord:
    """Resolve a monitor event, with an optional note; it leaves the queue."""
    resolved = platform().monitoring.events.resolve(event_id, caller.id, now_ms(), note=body.note if body else None)
    return MonitorEventRecord.model_validate(resolved)


@endpoint(monitor, "/v1/monitor/cameras/{camera_id}/rules", methods=["PUT"], allow=CONFIGURERS)
def put_camera_rules(caller: Caller, request: Request, camera_id: str, *, body: CameraRules) -> CameraRulesView:
    """Replace a camera's selective-monitoring rules."""
    p = platform()
    p.cameras.get(camera_id)  # 404 for a camera the registry does not know
    return CameraRulesView.model_validate(p.monitoring.rules.put(camera_id, body, by=caller.id, now_ms=now_ms()))


@endpoint(monitor, "/v1/monitor/cameras/{camera_id}/rules", allow=CONFIGURERS)
def get_camera_rules(caller: Caller, request: Request, camera_id: str) -> CameraRules:
    """A camera's selective-monitoring rules."""
    config = platform().monitoring.rules.get(camera_id)
    if config is None:
        raise NotFound(f"camera {camera_id} has no monitoring rules")
    return config
