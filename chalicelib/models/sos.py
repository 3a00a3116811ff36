"""SOS incidents, their escalation message and the 112 dispatch message."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from chalicelib.models.camera import NearbyCamera
from chalicelib.models.common import EpochMs, GeoPoint, Latitude, Longitude, Message
from chalicelib.models.trip import PositionFix


class SosKind(StrEnum):
    BUTTON = "button"
    SHAKE = "shake"
    VOICE = "voice"


class IncidentStatus(StrEnum):
    PENDING = "pending"  # inside the cancel window
    CANCELLED = "cancelled"
    ESCALATED = "escalated"  # handed to 112


class SosRequest(Message):
    """Body of POST /v1/sos."""

    lat: Latitude
    lon: Longitude
    accuracy_m: float = Field(20.0, gt=0, le=5_000)
    kind: SosKind = SosKind.BUTTON
    device_id: str | None = Field(None, pattern=r"^dev-[0-9a-f]{1,64}$", description="Whose guardians to tell.")
    trip_id: str | None = Field(None, pattern=r"^trip-[0-9a-f]{1,64}$", description="The walk in progress, if any.")
    cancel_window_s: int | None = Field(
        None, ge=0, le=900,
        description="Shorten the cancel window (0 = escalate at once); never longer than the configured window.")


class TripContext(Message):
    trip_id: str
    origin: GeoPoint
    destination: GeoPoint
    started_ms: EpochMs
    expected_arrival_ms: EpochMs
    last_fix: PositionFix | None = None


class Incident(Message):
    incident_id: str
    owner_id: str
    status: IncidentStatus
    kind: SosKind
    location: PositionFix
    device_id: str | None = None
    trip: TripContext | None = None
    cameras: list[NearbyCamera]
    created_ms: EpochMs
    cancel_deadline_ms: EpochMs
    cancelled_ms: EpochMs | None = None
    escalated_ms: EpochMs | None = None
    dispatched_ms: EpochMs | None = Field(None, description="When the 112 message was enqueued.")
    dispatch_message_id: str | None = None


class IncidentList(Message):
    incidents: list[Incident]


class IncidentQuery(Message):
    status: Literal["pending", "cancelled", "escalated"] | None = Field(None, description="Only incidents in this state.")
    limit: int = Field(100, ge=1, le=500)


class EscalationRequest(Message):
    """Body of a message on the sos-escalation queue (delivered after the cancel window)."""

    incident_id: str
    cancel_deadline_ms: EpochMs


class Dispatch112(Message):
    """Body of a message on the dispatch-112 queue: everything the police situation room needs."""

    incident_id: str = Field(description="Also the receivers' de-duplication key.")
    kind: SosKind
    location: PositionFix
    cameras: list[NearbyCamera]
    trip: TripContext | None = None
    reported_ms: EpochMs
    escalated_ms: EpochMs
    caller_principal: str
    evidence_prefix: str = Field(description="Media-bucket prefix of photos/videos the phone uploads.")


class EvidenceRequest(Message):
    """Body of POST /v1/sos/{id}/evidence: a photo or video from the phone (CCTV blind spots)."""

    content_type: str = Field(pattern=r"^(image/jpeg|image/png|video/mp4)$")


class EvidenceUpload(Message):
    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_s: int
