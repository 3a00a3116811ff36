"""Disaster-type events: POST /v1/disaster-events (operator) → the disaster situation room's webhook."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.dispatch import DisasterDispatchView, DisasterReport
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.services.dispatch.disasters import DisasterEvents

disasters = Blueprint(__name__)


@endpoint(disasters, "/v1/disaster-events", methods=["POST"], allow={PrincipalKind.OPERATOR}, status=201)
def report_disaster(caller: Caller, request: Request, *, body: DisasterReport) -> DisasterDispatchView:
    """Report a disaster-type event: dispatched to the disaster room (signed webhook, receipt), audited."""
    services = platform()
    events = DisasterEvents(services.saferet.agencies, services.cameras, AuditLog(services.resources.table("audit")))
    return DisasterDispatchView.model_validate(events.report(caller.id, caller.source_ip, body, now_ms()))
