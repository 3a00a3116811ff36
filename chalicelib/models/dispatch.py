"""Agency dispatch: the receiving situation rooms, their webhooks, and each dispatch's delivery and receipt."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from chalicelib.models.camera import NearbyCamera, NearbyCameraView
from chalicelib.models.common import EpochMs, Instant, Location, Message, Wire
from chalicelib.models.video_link import LinkMode, TimeWindow

Locale = str  # "ko" (default) or "en"
LOCALE_FIELD = Field("ko", pattern=r"^(ko|en)$", description="Language of human-facing text: ko (default) or en.")


class AgencyTarget(StrEnum):
    """Who receives a dispatch."""

    POLICE = "112"
    FIRE = "119"
    DISASTER_ROOM = "disaster-room"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # on the dispatch queue, not yet taken by the agency's webhook
    DELIVERED = "delivered"  # the webhook answered 2xx: their system has it
    ACKNOWLEDGED = "acknowledged"  # a person in the situation room took the case (the receipt)


class AgencyEndpoint(Message):
    """One agency's webhook (set with the admin CLI). Its signing secret is derived from the platform's agency
    webhook key and ``key_version``, never stored (``services.dispatch.secrets``)."""

    target: AgencyTarget
    url: str = Field(pattern=r"^https?://", max_length=2048)
    key_version: int = Field(ge=1, description="Version of the derived signing secret; rotating bumps it.")
    principal_id: str = Field(description="The agency principal allowed to acknowledge this target's dispatches.")
    locale: Locale = LOCALE_FIELD
    cidr: str | None = Field(None, description="The agency's range that evidence links are bound to (from its "
                             "principal); no evidence links without one.")
    server_ca: str | None = Field(None, max_length=64_000, pattern=r"-----BEGIN CERTIFICATE-----",
                                  description="PEM of the CAs the webhook server's certificate must chain to, "
                                  "where the agency runs a private PKI (GPKI); unset: the system's public CAs.")


class AgencySecretIssued(Message):
    """What registering or rotating an agency's webhook answers, once: the secret is not kept anywhere."""

    target: AgencyTarget
    url: str
    key_version: int
    secret: str = Field(description="HMAC-SHA256 signing secret (hex); shown this once.")
    signature: str = Field(description="How to verify a delivery.")


class DispatchRecord(Message):
    """The delivery state of one dispatch (id = the incident id, the receivers' de-duplication key)."""

    dispatch_id: str
    target: AgencyTarget
    district: str | None = None
    status: DeliveryStatus
    queued_ms: EpochMs
    ack_deadline_ms: EpochMs
    round: int = Field(1, ge=1, description="Raised each time an unacknowledged dispatch is sent again.")
    attempts: int = Field(0, ge=0, description="Webhook calls made, successful or not.")
    delivered_ms: EpochMs | None = None
    acked_ms: EpochMs | None = None
    acked_by: str | None = None
    receipt_id: str | None = None
    last_error: str | None = Field(None, max_length=300)


class DispatchView(Wire):
    """The delivery and receipt state of one dispatch, as the agency or an operator sees it."""

    dispatch_id: str
    target: AgencyTarget
    district: str | None = None
    status: DeliveryStatus
    queued_at: Instant
    ack_deadline_at: Instant
    round: int = Field(description="Raised each time an unacknowledged dispatch is sent again.")
    attempts: int = Field(description="Webhook calls made, successful or not.")
    delivered_at: Instant | None = None
    acked_at: Instant | None = None
    acked_by: str | None = None
    receipt_id: str | None = None
    last_error: str | None = None


class DispatchEnvelope(Message):
    """Body of a message on the dispatch queue: the payload the agency receives, and the round it belongs to."""

    dispatch_id: str
    target: AgencyTarget
    round: int = Field(1, ge=1)
    payload: str = Field(description="The JSON document POSTed to the agency, byte for byte.")


class DispatchAck(Message):
    """Body of POST /v1/dispatches/{id}/ack: the agency's receipt."""

    receipt_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                            description="The agency's own case number for this dispatch.")
    officer_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class LinkBundleRequest(Message):
    """Body of POST /v1/incidents/{id}/link-bundles: an operator sends video to an agency before it asks."""

    agency: AgencyTarget
    mode: LinkMode
    window: TimeWindow | None = Field(None, description="Recorded only, as in POST /v1/video-links.")
    purpose: str = Field(pattern=r"^[A-Z0-9][A-Z0-9._-]{1,31}$", description="Purpose / legal-basis code (required).")
    camera_count: int = Field(5, ge=1, le=10)


class EvidenceLink(Message):
    """One photo, audio or video of an SOS, as the agency receives it (``evidence`` of a dispatch)."""

    key: str = Field(description="Object key under the incident's evidence prefix.")
    url: str = Field(description="Signed edge URL: opens only from the agency's range, until expires_ms.")
    expires_ms: EpochMs


class EvidenceFollowUp(Message):
    """A follow-up dispatch: evidence the phone uploaded after the first dispatch, to the same agency (signed,
    IP-bound, expiring links are added at delivery, as in the first dispatch)."""

    type: Literal["evidence-follow-up"] = "evidence-follow-up"
    incident_id: str = Field(description="The incident (and first dispatch) this follows.")
    agency: AgencyTarget
    district: str | None = Field(None, description="Code of the district the incident happened in.")
    evidence_keys: list[str] = Field(min_length=1, description="The new objects; one link each.")
    content_type: str = Field(description="photo, audio or video, as the phone uploaded it.")
    uploaded_at: AwareDatetime
    summary: str = Field(description="One line in the agency's language, KST.")
    evidence: list[EvidenceLink] = Field(default_factory=list, description="Added at delivery: one signed link "
                                         "per key, when the agency has a registered range.")


DisasterType = Literal["flood", "landslide", "earthquake", "collapse", "crowd-crush", "heavy-snow"]


class DisasterReport(Message):
    """Body of POST /v1/disaster-events: an operator reports a disaster-type event (from the disaster room's
    feed, a camera, a call) and it goes to the disaster situation room through the dispatch path."""

    event_type: DisasterType
    location: Location
    note: str = Field("", max_length=500, description="What the operator sees (goes to the disaster room).")
    occurred_at: Instant | None = Field(None, description="When it happened; default: now.")


class DisasterDispatch(Message):
    """What the disaster room's webhook receives (and the answer to the report)."""

    type: Literal["disaster"] = "disaster"
    event_id: str = Field(description="dis-<16 hex>; also the dispatch id (receipt, de-duplication).")
    event_type: DisasterType
    agency: AgencyTarget
    district: str | None = Field(None, description="Code of the district (gu) it is in; None outside Seoul.")
    location: Location
    cameras: list[NearbyCamera]
    occurred_at: AwareDatetime
    reported_at: AwareDatetime
    reported_by: str
    note: str
    summary: str = Field(description="One line in the agency's language, KST.")



class DisasterDispatchView(Wire):
    """The answer to a disaster report: what was sent to the disaster room."""

    event_id: str = Field(description="dis-<16 hex>; also the dispatch id.")
    event_type: DisasterType
    agency: AgencyTarget
    district: str | None = None
    location: Location
    cameras: list[NearbyCameraView]
    occurred_at: Instant
    reported_at: Instant
    reported_by: str
    note: str
    summary: str
