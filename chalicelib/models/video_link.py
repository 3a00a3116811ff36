"""Agency video links (the 112/119 "real-time video request button"): request, grant, agency facts."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, model_validator

from chalicelib.models.common import EpochMs, Instant, Location, Message, Wire, epoch_ms

MAX_WINDOW = timedelta(hours=2)
MAX_CAMERAS = 10
MAX_RADIUS_M = 3000.0
DEFAULT_LINK_SECONDS = 600
MIN_LINK_SECONDS = 60
MAX_LINK_SECONDS = 12 * 3600  # Kinesis Video HLS sessions last at most 12 h


class LinkMode(StrEnum):
    LIVE = "live"
    RECORDED = "recorded"


class AgencyKind(StrEnum):
    POLICE = "police"  # 112
    FIRE = "fire"  # 119
    DISASTER = "disaster"  # disaster situation room


class LinkStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class TimeWindow(Message):
    """A recorded window, ``[start, end)``, at most two hours long."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _ordered_and_short(self) -> Self:
        if self.end <= self.start:
            raise ValueError("window.end must be after window.start")
        if self.end - self.start > MAX_WINDOW:
            raise ValueError("a recorded window may be at most 2 hours long")
        return self

    @property
    def start_ms(self) -> int:
        return epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return epoch_ms(self.end)


class VideoLinkRequest(Message):
    """Body of ``POST /v1/video-links``."""

    incident_number: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
                                 description="The agency's incident / case number.")
    location: Location
    mode: LinkMode
    window: TimeWindow | None = Field(None, description="Required for recorded links; not allowed for live.")
    purpose: str = Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{1,31}$",
                         description="Purpose / legal-basis code, e.g. PIPA-18-2-7 or CRIME-INVESTIGATION.")
    officer_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="The requesting officer.")
    camera_count: int = Field(5, ge=1, le=MAX_CAMERAS)
    radius_m: float = Field(MAX_RADIUS_M, gt=0, le=MAX_RADIUS_M)
    lifetime_s: int | None = Field(None, ge=MIN_LINK_SECONDS, le=MAX_LINK_SECONDS,
                                   description="Requested link lifetime; capped by the agency's maximum.")

    @model_validator(mode="after")
    def _window_matches_mode(self) -> Self:
        if self.mode is LinkMode.RECORDED and self.window is None:
            raise ValueError("a recorded request needs a window")
        if self.mode is LinkMode.LIVE and self.window is not None:
            raise ValueError("a live request takes no window")
        return self


class VideoLink(Message):
    camera_id: str
    distance_m: float = Field(ge=0)
    mode: LinkMode
    url: str
    expires_at: Instant
    segments: int | None = Field(None, description="Recorded: segments in the playlist.")
    covers_from: Instant | None = Field(None, description="Recorded: wall time of the first segment's start.")
    covers_until: Instant | None = Field(None, description="Recorded: wall time of the last segment's end.")


class VideoLinkGrant(Message):
    """A stored link request and its links (``GET /v1/video-links/{id}``)."""

    request_id: str
    agency_id: str
    incident_number: str
    officer_id: str
    purpose: str
    mode: LinkMode
    location: Location
    window: TimeWindow | None = None
    radius_m: float
    requested: int
    status: LinkStatus = LinkStatus.ACTIVE
    created_ms: EpochMs
    expires_at: Instant
    source_ip: str
    source_cidr: str = Field(description="The agency range every link is bound to.")
    links: list[VideoLink]
    note: str | None = None
    revoked_ms: EpochMs | None = None
    revoked_by: str | None = None


class VideoLinkGrantView(Wire):
    """A link request and its links, as the agency (or operator) that asked sees it."""

    request_id: str
    agency_id: str
    incident_number: str
    officer_id: str
    purpose: str
    mode: LinkMode
    location: Location
    window: TimeWindow | None = None
    radius_m: float
    requested: int
    status: LinkStatus
    created_at: Instant
    expires_at: Instant
    source_ip: str
    source_cidr: str = Field(description="The agency range every link is bound to.")
    links: list[VideoLink]
    note: str | None = None
    revoked_at: Instant | None = None
    revoked_by: str | None = None


class AgencyProfile(Message):
    """Agency facts kept in the principal's ``attributes`` (all strings there)."""

    kind: AgencyKind | None = None
    max_link_seconds: int = Field(DEFAULT_LINK_SECONDS, ge=MIN_LINK_SECONDS, le=MAX_LINK_SECONDS)
    modes: frozenset[LinkMode] = frozenset(LinkMode)

    @classmethod
    def from_attributes(cls, attributes: dict[str, str]) -> AgencyProfile:
        modes = attributes.get("modes")
        return cls.model_validate({
            "kind": attributes.get("agency_kind"),
            "max_link_seconds": attributes.get("max_link_seconds", DEFAULT_LINK_SECONDS),
            "modes": frozenset(LinkMode) if modes is None else [m.strip() for m in modes.split(",") if m.strip()],
        })

    def to_attributes(self) -> dict[str, str]:
        facts = {"max_link_seconds": str(self.max_link_seconds), "modes": ",".join(sorted(self.modes))}
        if self.kind is not None:
            facts["agency_kind"] = self.kind.value
        return facts


class IncidentClosed(Message):
    """Answer of ``POST /v1/video-links/incidents/{incident_number}/close``."""

    incident_number: str
    revoked: list[str] = Field(description="Ids of the requests whose links stopped working.")


class ExportReceipt(Message):
    """``GET /v1/video-links/{id}/receipt``: the signed chain-of-custody receipt of a recorded export."""

    document: dict[str, Any] = Field(description="incident, cameras, window, segments with SHA-256, issued/expiry, "
                                     "issuer; the signature covers its canonical JSON (sorted keys, no white space)")
    algorithm: str = Field(description="RSASSA-PSS-SHA256 (MGF1 SHA-256, salt = digest length)")
    signature: str = Field(description="base64 of the signature")


class EvidenceKey(Message):
    """``GET /v1/evidence/public-key``: the key that verifies export receipts."""

    algorithm: str
    public_key_pem: str
