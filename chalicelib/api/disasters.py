"""Disaster-type events: POST /v1/disaster-events (operator) → the disaster situation room's webhook."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.dispatch import DisasterDispatchView, DisasterReport
from chalicelib.models.principal import PrincipalKind

disasters = Blueprint(__name__)


@endpoint(disasters, "/v1/disaster-events", methods=["POST"], allow={PrincipalKind.OPERATOR}, status=201)
def report_disaster(caller: Caller, request: Request, *, body: DisasterReport) -> DisasterDispatchView:
    """Report a disaster-type event: dispatched to the disaster room (signed webhook, receipt), audited."""
    report = platform().saferet.disasters.report(caller.id, caller.source_ip, body, now_ms())
    return DisasterDispatchView.model_validate(report)
