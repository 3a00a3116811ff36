"""SOS: POST /v1/sos, GET /v1/sos/{id}, POST /v1/sos/{id}/cancel, POST /v1/sos/{id}/evidence (app);
GET /v1/incidents (operator)."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.guards import idempotent_create, limit
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.sos import (
    EvidenceRequest,
    EvidenceUpload,
    HandoverRequest,
    IncidentList,
    IncidentQuery,
    IncidentStatus,
    IncidentView,
    SosRequest,
    SosView,
)
from chalicelib.services.dispatch.routing import district_first
from chalicelib.services.saferet.sos import control_center

sos = Blueprint(__name__)


@endpoint(sos, "/v1/sos", methods=["POST"], allow={PrincipalKind.APP}, status=201, idempotent=True)
def report_sos(caller: Caller, request: Request, *, body: SosRequest) -> SosView:
    """Report an emergency: answers at once with the 5 nearest cameras and the cancel deadline."""
    service = platform().saferet.sos
    return idempotent_create(
        caller, request, scope="sos", prefix="inc", body=body, buckets=("sos",),
        create=lambda incident_id: SosView.model_validate(service.create(caller.id, incident_id, body, now_ms())))


@endpoint(sos, "/v1/sos/{incident_id}", allow={PrincipalKind.APP})
def get_sos(caller: Caller, request: Request, incident_id: str) -> SosView:
    """One of the caller's own SOS incidents."""
    limit(caller, "api")
    return SosView.model_validate(platform().saferet.sos.get(incident_id, caller.id))


@endpoint(sos, "/v1/sos/{incident_id}/cancel", methods=["POST"], allow={PrincipalKind.APP})
def cancel_sos(caller: Caller, request: Request, incident_id: str) -> SosView:
    """Cancel inside the window (the record stays); 409 once it has gone to 112."""
    limit(caller, "api")
    return SosView.model_validate(platform().saferet.sos.cancel(caller.id, incident_id, now_ms()))


@endpoint(sos, "/v1/sos/{incident_id}/evidence", methods=["POST"], allow={PrincipalKind.APP}, status=201)
def sos_evidence(caller: Caller, request: Request, incident_id: str, *, body: EvidenceRequest) -> EvidenceUpload:
    """A presigned, size-capped upload for a photo or video from the phone."""
    limit(caller, "api")
    return platform().saferet.sos.evidence_upload(caller.id, incident_id, body, now_ms())


@endpoint(sos, "/v1/incidents", allow={PrincipalKind.OPERATOR})
def list_incidents(caller: Caller, request: Request, *, query: IncidentQuery) -> IncidentList:
    """SOS incidents for the control center, newest first; ``district`` filters, else the operator's own
    district (principal attribute ``district``) comes first."""
    status = IncidentStatus(query.status) if query.status else None
    incidents = platform().saferet.sos.recent(status=status, limit=query.limit, district=query.district)
    ordered = district_first(incidents, caller.principal.attributes.get("district"), control_center)
    return IncidentList(incidents=[IncidentView.model_validate(incident) for incident in ordered])


@endpoint(sos, "/v1/incidents/{incident_id}/handover", methods=["POST"], allow={PrincipalKind.OPERATOR})
def hand_over_incident(caller: Caller, request: Request, incident_id: str, *, body: HandoverRequest) -> IncidentView:
    """Hand an incident to another district's control center (its operators see it first); audited with the
    reason; 409 when it was handed over meanwhile."""
    return IncidentView.model_validate(platform().saferet.sos.hand_over(
        incident_id, body, operator_id=caller.id, source_ip=caller.source_ip, now_ms=now_ms()))
