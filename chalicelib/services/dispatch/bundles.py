"""Operators push video first: a link bundle issued to an agency for an incident, on the operator's word.

The links are issued by the agency video-link service exactly as for a request by the agency itself (its
profile, its modes, its range, its lifetime, the same audit record), then the operator's push is audited
with the operator as actor and the bundle is delivered to the agency's webhook as a dispatch (signed,
acknowledged, alerted on when not)."""

from __future__ import annotations

import ipaddress
from typing import Protocol

from pydantic import ValidationError

from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.models.dispatch import LinkBundleRequest
from chalicelib.models.principal import Principal
from chalicelib.models.sos import Incident
from chalicelib.models.video_link import VideoLinkGrant, VideoLinkRequest
from chalicelib.services.audit import AuditLog
from chalicelib.services.dispatch.service import DispatchService

ACTION_PUSHED = "video-link.pushed"


class LinkIssuer(Protocol):
    def issue(self, principal: Principal, source_ip: str, body: VideoLinkRequest) -> VideoLinkGrant: ...


class Principals(Protocol):
    def get(self, principal_id: str) -> Principal | None: ...


class LinkBundles:
    def __init__(self, links: LinkIssuer, principals: Principals, agencies: DispatchService, audit: AuditLog) -> None:
        self._links = links
        self._principals = principals
        self._agencies = agencies
        self._audit = audit

    def push(self, operator_id: str, source_ip: str, incident: Incident, request: LinkBundleRequest,
             now_ms: int) -> VideoLinkGrant:
        endpoint = self._agencies.endpoint(request.agency)
        agency = None if endpoint is None else self._principals.get(endpoint.principal_id)
        if endpoint is None or agency is None:
            raise NotFound(f"no agency registered for {request.agency.value}")
        if not agency.cidrs:
            raise Conflict(f"agency {agency.principal_id} has no registered range to bind links to")
        # as if the agency called from its own range: the links are bound to it and to nothing wider
        inside = str(ipaddress.ip_network(agency.cidrs[0]).network_address)
        try:
            body = self._request(incident, request, operator_id)
        except ValidationError as exc:
            raise ValidationFailed(f"link bundle: {exc.errors()[0]['msg']}") from exc
        grant = self._links.issue(agency, inside, body)
        self._audit.append(ACTION_PUSHED, actor=operator_id, source_ip=source_ip, subject=grant.request_id,
                           details={"agency": agency.principal_id, "incident": incident.incident_id,
                                    "purpose": request.purpose, "mode": request.mode.value, "links": len(grant.links)})
        self._agencies.submit(f"{incident.incident_id}.{grant.request_id}", request.agency, grant,
                              subject_owner_id=incident.owner_id,
                              district=incident.district.code if incident.district else None, now_ms=now_ms)
        return grant

    @staticmethod
    def _request(incident: Incident, request: LinkBundleRequest, operator_id: str) -> VideoLinkRequest:
        return VideoLinkRequest.model_validate({
            "incident_number": incident.incident_id,
            "location": {"lat": incident.location.lat, "lon": incident.location.lon},
            "mode": request.mode.value,
            "window": None if request.window is None else request.window.model_dump(mode="json"),
            "purpose": request.purpose, "officer_id": operator_id, "camera_count": request.camera_count})
