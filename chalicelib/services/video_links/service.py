"""Agency video links: the nearest cameras with video, one signed, IP-bound, expiring link each.

Every URL an agency receives authorises exactly one object: CloudFront custom-policy
signatures whose ``Resource`` is the URL itself (no wildcard), ``IpAddress`` = the agency range
the caller used and ``DateLessThan`` = the expiry.

* recorded: a VOD playlist of the camera's segments for the window, written to the media
  bucket (``links/<request_id>/<camera>/index.m3u8``); the playlist URL and each segment URI in
  it are signed separately, so the link reaches the window's segments and nothing else.
* live: the camera's live playlist at the edge (``/live/<camera>/index.m3u8?link=…&since=…``),
  signed exactly; the playlist origin signs each live segment it lists, only those of the link's
  lifetime (:mod:`chalicelib.services.video_links.live_playlists`). The same in the cloud and locally: no
  agency ever receives a Kinesis Video URL.

The ``link=<request_id>`` query parameter names the request in every URL the edge sees, so the
edge's revocation check (the viewer-request function and its KeyValueStore) and the access log
find it without a lookup table. Requests are owner-scoped records (another agency gets 404) and
every issue, denial, rejection, revocation and edge access is an audit record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.errors import ApiError, Conflict, Forbidden, NotFound
from chalicelib.models.camera import Camera, CameraStatus
from chalicelib.models.footage import FootageSegment
from chalicelib.models.principal import Principal
from chalicelib.models.video_link import (
    LinkMode,
    LinkStatus,
    TimeWindow,
    VideoLink,
    VideoLinkGrant,
    VideoLinkRequest,
)
from chalicelib.ports import MessageQueue, ObjectStore, Table, UrlSigner
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.video_links.evidence import EvidenceLocker
from chalicelib.services.video_links.export import ExportPreserver
from chalicelib.services.video_links.live import LiveLinks
from chalicelib.services.video_links.playlists import recorded_playlist
from chalicelib.services.video_links.policy import (
    ACTION_DENIED,
    ACTION_ISSUED,
    ACTION_REJECTED,
    ACTION_REVOKED,
    MAX_PROBES,
    PLAYLIST_TYPE,
    RECORD_KIND,
    REQUEST_ID,
    agency_profile,
    binding_cidr,
    check_window,
    new_request_id,
    object_url,
)


def _moment(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


class RevocationList(Protocol):
    """Where the edge's viewer-request function looks revoked link ids up (a KeyValueStore)."""

    def revoke(self, link_id: str, reason: str) -> None: ...


class VideoLinkService:
    def __init__(self, *, cameras: CameraRegistry, footage: FootageCatalog, media: ObjectStore, records: Table,
                 audit: AuditLog, signer: UrlSigner, edge_base: str, live: LiveLinks,
                 retention_days: int, revocations: RevocationList, evidence: EvidenceLocker | None = None,
                 evidence_queue: MessageQueue | None = None, max_probes: int = MAX_PROBES,
                 clock: Callable[[], float] = time.time) -> None:
        self._revocations = revocations
        self._evidence = evidence
        self._evidence_queue = evidence_queue
        self._cameras = cameras
        self._footage = footage
        self._media = media
        self._records = OwnedRecords(records, RECORD_KIND)
        self._audit = audit
        self._signer = signer
        self._base = edge_base.rstrip("/")
        self._live = live
        self._retention_days = retention_days
        self._max_probes = max_probes
        self._clock = clock

    # ---- issuing -----------------------------------------------------------------------------

    def issue(self, principal: Principal, source_ip: str, body: VideoLinkRequest) -> VideoLinkGrant:
        """Pick the cameras, sign their links, store the request and audit every link."""
        now = self._clock()
        now_ms, now_s = int(now * 1000), int(now)
        try:
            profile = agency_profile(principal)
            if body.mode not in profile.modes:
                raise Forbidden(f"agency {principal.principal_id} may not request {body.mode.value} video",
                                code="mode_not_allowed")
            cidr = binding_cidr(principal, source_ip)
            if body.window is not None:
                check_window(body.window, now_ms, self._retention_days)
        except ApiError as exc:
            action = ACTION_DENIED if exc.status in (401, 403) else ACTION_REJECTED
            self._audit.append(action, actor=principal.principal_id, result="denied" if action == ACTION_DENIED
                               else "rejected", source_ip=source_ip, subject=body.incident_number,
                               details={**self._request_details(body), "reason": exc.message})
            raise
        lifetime = min(body.lifetime_s or profile.max_link_seconds, profile.max_link_seconds)
        expires_at = now_s + lifetime
        request_id = new_request_id()
        exported: list[FootageSegment] = []
        links = self._links(body, request_id=request_id, expires_at=expires_at, cidr=cidr, exported=exported)
        note = self._note(body, len(links))
        evidence: dict[str, str | int] = {}
        if self._evidence is not None and exported:
            # chain of custody: the hold from now on; the copies and their hashes follow from the queue
            self._evidence.register(request_id, body.incident_number, principal.principal_id)
            if self._evidence_queue is not None:
                self._evidence_queue.send(json.dumps({"request_id": request_id}))
            evidence = {"evidence": "pending", "evidence_segments": len(exported)}
        grant = VideoLinkGrant(
            request_id=request_id, agency_id=principal.principal_id, incident_number=body.incident_number,
            officer_id=body.officer_id, purpose=body.purpose, mode=body.mode, location=body.location,
            window=body.window, radius_m=body.radius_m, requested=body.camera_count, created_ms=now_ms,
            expires_at=_moment(expires_at), source_ip=source_ip, source_cidr=cidr, links=links, note=note)
        self._records.create(request_id, principal.principal_id, grant.model_dump(mode="json"), created_ms=now_ms)
        # one record per issue naming every link's camera (the links share the expiry and binding)
        self._audit.append(ACTION_ISSUED, actor=principal.principal_id, result="ok" if links else "empty",
                           source_ip=source_ip, subject=request_id,
                           details={**self._request_details(body), "cameras": [link.camera_id for link in links],
                                    "links": len(links), "cidr": cidr,
                                    "expires_at": max([grant.expires_at, *(link.expires_at for link in links)]).isoformat(),
                                    "note": note, **evidence})
        return grant

    def _links(self, body: VideoLinkRequest, *, request_id: str, expires_at: int, cidr: str,
               exported: list[FootageSegment]) -> list[VideoLink]:
        made: dict[str, VideoLink] = {}
        probes = 0

        def accept(camera: Camera) -> bool:
            nonlocal probes
            if camera.status is not CameraStatus.ACTIVE or probes >= self._max_probes:
                return False
            probes += 1
            link = (self._recorded_link(camera, body.window, request_id=request_id, expires_at=expires_at, cidr=cidr,
                                        exported=exported)
                    if body.window is not None
                    else self._live_link(camera, request_id=request_id, expires_at=expires_at, cidr=cidr))
            if link is None:
                return False
            made[camera.camera_id] = link
            return True

        nearby = self._cameras.nearest(body.location.lat, body.location.lon, k=body.camera_count,
                                       radius_m=body.radius_m, accept=accept)
        return [made[n.camera.camera_id].model_copy(update={"distance_m": n.distance_m}) for n in nearby.cameras]

    def _recorded_link(self, camera: Camera, window: TimeWindow, *, request_id: str, expires_at: int,
                       cidr: str, exported: list[FootageSegment]) -> VideoLink | None:
        segments = self._footage.segments_covering(camera.camera_id, window.start_ms, window.end_ms)
        if not segments:
            return None
        exported.extend(segments)
        def signed(path: str) -> str:
            return self._signer.sign(object_url(self._base, path, request_id), expires_at=expires_at, ip_cidr=cidr)

        playlist = recorded_playlist(segments, window, lambda segment: signed(f"/footage/{segment.key}"))
        key = f"links/{request_id}/{camera.camera_id}/index.m3u8"
        self._media.put(key, playlist.encode(), content_type=PLAYLIST_TYPE,
                        metadata={"request-id": request_id, "camera-id": camera.camera_id})
        return VideoLink(camera_id=camera.camera_id, distance_m=0.0, mode=LinkMode.RECORDED,
                         url=signed(f"/media/{key}"), expires_at=_moment(expires_at),
                         segments=len(segments), covers_from=_moment_ms(segments[0].start_ms),
                         covers_until=_moment_ms(segments[-1].end_ms))

    def _live_link(self, camera: Camera, *, request_id: str, expires_at: int, cidr: str) -> VideoLink | None:
        if not self._live.available(camera):
            return None
        made = self._live.link(camera, request_id=request_id, expires_at=expires_at, cidr=cidr)
        if made is None:
            return None
        url, until = made
        return VideoLink(camera_id=camera.camera_id, distance_m=0.0, mode=LinkMode.LIVE, url=url,
                         expires_at=_moment(until))

    def _note(self, body: VideoLinkRequest, found: int) -> str | None:
        if found == body.camera_count:
            return None
        what = ("recorded footage for the window" if body.mode is LinkMode.RECORDED else "a live stream")
        if found == 0:
            return (f"no active camera with {what} within {body.radius_m:g} m of the location "
                    f"(the nearest {self._max_probes} cameras at most are checked)")
        return f"only {found} of {body.camera_count} cameras with {what} within {body.radius_m:g} m"

    @staticmethod
    def _request_details(body: VideoLinkRequest) -> dict[str, Any]:
        return {"incident": body.incident_number, "officer": body.officer_id, "purpose": body.purpose,
                "mode": body.mode.value,
                "window_start": None if body.window is None else body.window.start.isoformat(),
                "window_end": None if body.window is None else body.window.end.isoformat()}

    # ---- reading and revoking ------------------------------------------------------------------

    def get(self, principal_id: str, request_id: str) -> VideoLinkGrant:
        """The agency's own request; another agency's id is answered like a missing one (404)."""
        if not REQUEST_ID.match(request_id):
            raise NotFound(f"no video-link request {request_id}")
        body = self._records.get(request_id, principal_id)
        return VideoLinkGrant.model_validate({k: v for k, v in body.items() if k in VideoLinkGrant.model_fields})

    def revoke(self, principal_id: str, request_id: str, *, source_ip: str | None = None,
               reason: str = "revoked by the agency") -> VideoLinkGrant:
        """Stop every link of the request at the edge now (idempotent)."""
        grant = self.get(principal_id, request_id)
        if grant.status is LinkStatus.REVOKED:
            return grant
        revoked = grant.model_copy(update={"status": LinkStatus.REVOKED, "revoked_ms": int(self._clock() * 1000),
                                           "revoked_by": principal_id})
        self._revocations.revoke(request_id, reason)  # the edge first: a failure leaves the record active
        try:
            self._records.replace(request_id, revoked.model_dump(mode="json"),
                                  expect={"status": LinkStatus.ACTIVE.value})
        except Conflict:
            return self.get(principal_id, request_id)  # revoked concurrently
        self._audit.append(ACTION_REVOKED, actor=principal_id, result="revoked", source_ip=source_ip,
                           subject=request_id, details={"incident": grant.incident_number, "reason": reason,
                                                        "cameras": [link.camera_id for link in grant.links]})
        return revoked

    def close_incident(self, principal_id: str, incident_number: str, *, source_ip: str | None = None) -> list[str]:
        """Revoke every active request of the agency for a closed incident; returns their ids."""
        closed, of_incident = [], []
        for body in self._records.owned_by(principal_id, limit=1000):
            if body.get("incident_number") != incident_number:
                continue
            of_incident.append(str(body["request_id"]))
            if body.get("status") == LinkStatus.ACTIVE.value:
                self.revoke(principal_id, str(body["request_id"]), source_ip=source_ip, reason="incident closed")
                closed.append(str(body["request_id"]))
        if self._evidence is not None:  # the legal hold now ends hold_days from today
            self._evidence.release_after_close(of_incident)
        return closed

    def receipt(self, principal_id: str, request_id: str) -> dict[str, Any]:
        """The signed export receipt of one of the agency's recorded requests."""
        grant = self.get(principal_id, request_id)
        if self._evidence is None or grant.mode is not LinkMode.RECORDED:
            raise NotFound(f"no export receipt for {request_id} (live video is not exported)")
        ExportPreserver(self._records, self._footage, self._evidence, self._audit).preserve(request_id)  # no-op once done
        return self._evidence.receipt(grant)

    def evidence_public_key(self) -> str:
        if self._evidence is None:
            raise NotFound("evidence receipts are not configured")
        return self._evidence.public_key_pem()


    def revoke_agency(self, principal_id: str, *, reason: str = "agency disabled") -> list[str]:
        """Revoke every active request of an agency (called when the principal is disabled)."""
        revoked = []
        for body in self._records.owned_by(principal_id, limit=1000):
            if body.get("status") == LinkStatus.ACTIVE.value:
                self.revoke(principal_id, str(body["request_id"]), reason=reason)
                revoked.append(str(body["request_id"]))
        return revoked


def _moment_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


