"""The rules every video link obeys: ids, which window may be asked for, which address range it is bound to."""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import UTC, datetime

from pydantic import ValidationError

from chalicelib.errors import ApiError, Forbidden, ValidationFailed
from chalicelib.models.principal import Principal
from chalicelib.models.video_link import (
    AgencyProfile,
    TimeWindow,
)
from chalicelib.services.audit import AuditLog
from chalicelib.services.footage import DAY_MS

RECORD_KIND = "VIDEOLINK"
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
FUTURE_SLACK_MS = 60_000
"""Clock skew tolerated between an agency's clock and ours for the end of a recorded window."""
MAX_PROBES = 64
"""Cameras checked for video per request, nearest first, before the search gives up widening."""
REQUEST_ID = re.compile(r"^vl-[0-9a-f]{16}$")
_LINK_PARAM = re.compile(r"[?&]link=(vl-[0-9a-f]{16})(?:&|$)")
_LINK_PATH = re.compile(r"/links/(vl-[0-9a-f]{16})/")

ACTION_ISSUED = "video-link.issued"
ACTION_DENIED = "video-link.denied"
ACTION_REJECTED = "video-link.rejected"
ACTION_REVOKED = "video-link.revoked"
ACTION_PRESERVED = "video-link.evidence-preserved"
ACTION_API_NOISE = "video-link.unauthenticated"



def new_request_id() -> str:
    return f"vl-{secrets.token_hex(8)}"


def object_url(edge_base: str, path: str, request_id: str) -> str:
    """The unsigned URL of one object of a link: the exact resource its signature covers."""
    return f"{edge_base.rstrip('/')}{path}?link={request_id}"


def request_id_of(resource_or_path: str | None) -> str | None:
    """The request id a signed resource (``?link=…``) or a link path (``/links/<id>/``) names."""
    if not resource_or_path:
        return None
    found = _LINK_PARAM.search(resource_or_path) or _LINK_PATH.search(resource_or_path)
    return found.group(1) if found else None


def check_window(window: TimeWindow, now_ms: int, retention_days: int) -> None:
    """A recorded window must lie inside the retention period and not in the future."""
    if window.end_ms > now_ms + FUTURE_SLACK_MS:
        raise ValidationFailed(f"window.end {window.end.isoformat()} is in the future; recorded windows must "
                               "have ended (use mode 'live' for the present)", code="window_in_future")
    oldest = now_ms - retention_days * DAY_MS
    if window.start_ms < oldest:
        raise ValidationFailed(
            f"window.start {window.start.isoformat()} is outside the {retention_days}-day footage retention "
            f"(oldest allowed {_iso(oldest)}); footage older than that has been destroyed",
            code="window_outside_retention")


def binding_cidr(principal: Principal, source_ip: str) -> str:
    """The registered range the caller called from (links are bound to it). An agency without a
    range is refused: links are never unbound. IPv4-mapped IPv6 callers count as their IPv4 address."""
    if not principal.cidrs:
        raise Forbidden(f"agency {principal.principal_id} has no registered address range; ask an admin",
                        code="agency_unbound")
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError as exc:
        raise Forbidden(f"unusable source address {source_ip!r}") from exc
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for cidr in principal.cidrs:
        network = ipaddress.ip_network(cidr)
        if address.version == network.version and address in network:
            return str(network)
    raise Forbidden(f"source address {source_ip} is not registered for {principal.principal_id}")


def agency_profile(principal: Principal) -> AgencyProfile:
    try:
        return AgencyProfile.from_attributes(principal.attributes)
    except ValidationError as exc:
        raise Forbidden(f"agency {principal.principal_id} has an invalid registry entry; ask an admin") from exc


def record_denial(audit: AuditLog, *, actor: str, source_ip: str, route: str, error: ApiError) -> None:
    """Audit a refused call (wrong address, wrong kind, bad credential) before any view ran."""
    audit.append(ACTION_DENIED, actor=actor, result="denied", source_ip=source_ip, subject=route,
                 details={"status": error.status, "code": error.code, "reason": error.message})



def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")


