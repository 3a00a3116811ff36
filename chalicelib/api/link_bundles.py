"""Operators push video first: POST /v1/incidents/{id}/link-bundles (operator)."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.dispatch import LinkBundleRequest
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.video_link import VideoLinkGrantView
from chalicelib.services.audit import AuditLog
from chalicelib.services.dispatch.bundles import LinkBundles

link_bundles = Blueprint(__name__)


@endpoint(link_bundles, "/v1/incidents/{incident_id}/link-bundles", methods=["POST"],
          allow={PrincipalKind.OPERATOR}, status=201)
def push_link_bundle(caller: Caller, request: Request, incident_id: str, *, body: LinkBundleRequest) -> VideoLinkGrantView:
    """Send an agency video links for an incident before it asks (purpose required; audited; delivered to the
    agency's webhook like a dispatch)."""
    services = platform()
    incident = services.saferet.sos.get(incident_id, None)
    bundles = LinkBundles(services.video_links, services.principals, services.saferet.agencies,
                          AuditLog(services.resources.table("audit")))
    return VideoLinkGrantView.model_validate(bundles.push(caller.id, caller.source_ip, incident, body, now_ms()))
