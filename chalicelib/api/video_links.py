"""Agency video links: POST /v1/video-links, GET and DELETE /v1/video-links/{request_id}."""

from __future__ import annotations

import logging

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint, source_ip
from chalicelib.errors import ApiError
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.video_link import (
    EvidenceKey,
    ExportReceipt,
    IncidentClosed,
    VideoLinkGrantView,
    VideoLinkRequest,
)
from chalicelib.services.audit import AuditLog
from chalicelib.services.principals import principal_id_of
from chalicelib.services.video_links.edge_audit import NoiseSampler
from chalicelib.services.video_links.evidence import RECEIPT_ALGORITHM
from chalicelib.services.video_links.policy import ACTION_API_NOISE, record_denial

logger = logging.getLogger(__name__)
video_links = Blueprint(__name__)
_AGENCY = {PrincipalKind.AGENCY}


_noise: dict[int, NoiseSampler] = {}


def audit_denial(request: Request, error: ApiError) -> None:
    """A refused call of an authenticated agency (wrong address or kind) is an audit record;
    unauthenticated calls are noise: counted, and one in NOISE_SAMPLE_EVERY kept as a sample."""
    scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
    claimed = principal_id_of(token.strip()) if scheme.lower() == "bearer" else None
    audit = AuditLog(platform().resources.table("audit"))
    route = f"{request.method} {request.path}"
    if error.status == 403 and claimed:
        record_denial(audit, actor=claimed, source_ip=source_ip(request), route=route, error=error)
        return
    sampler = _noise.setdefault(id(platform()), NoiseSampler(audit, ACTION_API_NOISE))
    sampler(source_ip=source_ip(request), subject=route,
            details={"status": error.status, "code": error.code, "claimed": claimed})


@endpoint(video_links, "/v1/video-links", methods=["POST"], allow=_AGENCY, on_denied=audit_denial)
def request_links(caller: Caller, request: Request, *, body: VideoLinkRequest) -> VideoLinkGrantView:
    """Signed, IP-bound, expiring video links of the nearest cameras with video (live or a recorded window)."""
    return VideoLinkGrantView.model_validate(platform().video_links.issue(caller.principal, caller.source_ip, body))


@endpoint(video_links, "/v1/video-links/{request_id}", allow=_AGENCY, on_denied=audit_denial)
def get_links(caller: Caller, request: Request, request_id: str) -> VideoLinkGrantView:
    """One of the calling agency's own link requests (another agency's id is 404)."""
    return VideoLinkGrantView.model_validate(platform().video_links.get(caller.id, request_id))


@endpoint(video_links, "/v1/video-links/{request_id}", methods=["DELETE"], allow=_AGENCY, on_denied=audit_denial)
def revoke_links(caller: Caller, request: Request, request_id: str) -> VideoLinkGrantView:
    """Revoke every link of the request: the media edge refuses them at once."""
    revoked = platform().video_links.revoke(caller.id, request_id, source_ip=caller.source_ip)
    return VideoLinkGrantView.model_validate(revoked)


@endpoint(video_links, "/v1/video-links/incidents/{incident_number}/close", methods=["POST"], allow=_AGENCY,
          on_denied=audit_denial)
def close_incident(caller: Caller, request: Request, incident_number: str) -> IncidentClosed:
    """The incident is closed: revoke every active link request the agency made for it."""
    revoked = platform().video_links.close_incident(caller.id, incident_number, source_ip=caller.source_ip)
    return IncidentClosed(incident_number=incident_number, revoked=revoked)


@endpoint(video_links, "/v1/video-links/{request_id}/receipt", allow=_AGENCY, on_denied=audit_denial)
def export_receipt(caller: Caller, request: Request, request_id: str) -> ExportReceipt:
    """The signed receipt of a recorded export: its segments' SHA-256, verifiable with the published key."""
    return ExportReceipt.model_validate(platform().video_links.receipt(caller.id, request_id))


@endpoint(video_links, "/v1/evidence/public-key", allow=_AGENCY | {PrincipalKind.OPERATOR, PrincipalKind.ADMIN})
def evidence_public_key(caller: Caller, request: Request) -> EvidenceKey:
    """The public key that verifies export receipts."""
    return EvidenceKey(algorithm=RECEIPT_ALGORITHM, public_key_pem=platform().video_links.evidence_public_key())
