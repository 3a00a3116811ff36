"""Control-center alerts: GET /v1/alerts, POST /v1/alerts/{id}/ack, POST /v1/alerts/{id}/resolve (operator)."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.alert import AlertList, AlertQuery, AlertResolution, AlertStatus, AlertView
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.dispatch.routing import district_first

alerts = Blueprint(__name__)


@endpoint(alerts, "/v1/alerts", allow={PrincipalKind.OPERATOR})
def list_alerts(caller: Caller, request: Request, *, query: AlertQuery) -> AlertList:
    """Control-center alerts (trips, SOS, safe zones), newest first, with position and cameras; without
    ``status``, the queue: open and acknowledged alerts (resolved ones are listed with ``status=resolved``)."""
    status = AlertStatus(query.status) if query.status else None
    found = platform().saferet.alerts.recent(status=status, limit=query.limit, district=query.district)
    return AlertList(alerts=district_first(found, caller.principal.attributes.get("district"), lambda a: a.district))


@endpoint(alerts, "/v1/alerts/{alert_id}/ack", methods=["POST"], allow={PrincipalKind.OPERATOR})
def ack_alert(caller: Caller, request: Request, alert_id: str) -> AlertView:
    """Acknowledge an alert (an operator is handling it); acknowledging twice is harmless."""
    return AlertView.model_validate(platform().saferet.alerts.ack(alert_id, caller.id, now_ms()))


@endpoint(alerts, "/v1/alerts/{alert_id}/resolve", methods=["POST"], allow={PrincipalKind.OPERATOR})
def resolve_alert(caller: Caller, request: Request, alert_id: str, *,
                  body: AlertResolution | None = None) -> AlertView:
    """Resolve an alert with an optional note; it leaves the queue, and who resolved it and when are kept.

    The resolution is audited; resolving again answers the first resolution."""
    return AlertView.model_validate(platform().saferet.alerts.resolve(
        alert_id, caller.id, now_ms(), note=body.note if body else None, source_ip=caller.source_ip))
