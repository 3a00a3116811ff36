"""SOS incidents, their escalation message and the 112 dispatch message."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, model_validator

from chalicelib.models.camera import NearbyCamera, NearbyCameraView
from chalicelib.models.common import EpochMs, Instant, Location, Message, Wire, record_shape
from chalicelib.models.dispatch import EvidenceLink
from chalicelib.models.trip import Position, PositionFix


class SosTrigger(StrEnum):
    """How the phone raised the SOS."""

    BUTTON = "button"
    SHAKE = "shake"
    VOICE = "voice"


class EmergencyKind(StrEnum):
    """What is happening; decides the receiving agency (crime/fall/other: 112, fire/medical: 119)."""

    CRIME = "crime"
    FIRE = "fire"
    MEDICAL = "medical"
    FALL = "fall"
    OTHER = "other"


class DistrictRef(Message):
    """The district (gu) a report happened in: its control center receives it."""

    code: str = Field(pattern=r"^[A-Z]{2}$")
    name: str


def _legacy_trigger(data: Any) -> Any:
    """Before 2026-11 ``kind`` held the trigger (button/shake/voice): read those as a trigger, kind other."""
    if isinstance(data, dict) and isinstance(data.get("kind"), str) and data["kind"] in {t.value for t in SosTrigger}:
        data = {**data, "kind": EmergencyKind.OTHER.value, "trigger": data.get("trigger", data["kind"])}
    return data


class IncidentStatus(StrEnum):
    PENDING = "pending"  # inside the cancel window
    CANCELLED = "cancelled"
    ESCALATED = "escalated"  # handed to 112


class SosRequest(Message):
    """Body of POST /v1/sos."""

    location: Location = Field(description="Where the phone is (accuracy 20 m when not given).")
    kind: EmergencyKind = Field(EmergencyKind.OTHER, description="crime, fall, other: 112; fire, medical: 119. "
                                "The former trigger values (button, shake, voice) are still read as a trigger.")
    trigger: SosTrigger = SosTrigger.BUTTON
    device_id: str | None = Field(None, pattern=r"^dev-[0-9a-f]{1,64}$", description="Whose guardians to tell.")
    trip_id: str | None = Field(None, pattern=r"^trip-[0-9a-f]{1,64}$", description="The walk in progress, if any.")
    cancel_window_s: int | None = Field(
        None, ge=0, le=900,
        description="Shorten the cancel window (0 = escalate at once); never longer than the configured window.")

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        return _legacy_trigger(data)


class TripContext(Message):
    trip_id: str
    origin: Location
    destination: Location
    started_ms: EpochMs
    expected_arrival_ms: EpochMs
    last_fix: PositionFix | None = None


class Incident(Message):
    incident_id: str
    owner_id: str
    status: IncidentStatus
    kind: EmergencyKind
    trigger: SosTrigger = SosTrigger.BUTTON
    agency: str = Field("112", description="The receiving agency's dispatch target (112, 119, disaster-room).")
    district: DistrictRef | None = Field(None, description="The district it happened in (None outside Seoul).")
    control_center: str | None = Field(None, description="Code of the district control center handling it: where "
                                       "it happened, until an operator hands it over.")
    location: PositionFix
    device_id: str | None = None
    trip: TripContext | None = None
    cameras: list[NearbyCamera]
    created_ms: EpochMs
    cancel_deadline_ms: EpochMs
    cancelled_ms: EpochMs | None = None
    escalated_ms: EpochMs | None = None
    dispatched_ms: EpochMs | None = Field(None, description="When the dispatch was queued for the agency.")
    dispatch_message_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        return _legacy_trigger(data)


class SosView(Wire):
    """An SOS incident as the citizen who raised it sees it (answer of the /v1/sos routes)."""

    incident_id: str
    status: IncidentStatus
    kind: EmergencyKind
    trigger: SosTrigger
    agency: str = Field(description="The receiving agency's dispatch target (112, 119, disaster-room).")
    district: DistrictRef | None = None
    location: Location
    trip_id: str | None = None
    cameras: list[NearbyCameraView] = Field(description="The nearest cameras, nearest first.")
    created_at: Instant
    cancel_deadline_at: Instant = Field(description="Cancel before this; after it the report goes to the agency.")
    cancelled_at: Instant | None = None
    escalated_at: Instant | None = None
    dispatched_at: Instant | None = None

    @model_validator(mode="before")
    @classmethod
    def _trip_id(cls, data: Any) -> Any:  # of the trip in progress, only its id
        if isinstance(data, Incident):
            data = {**record_shape(data, cls.model_fields), "trip_id": data.trip.trip_id if data.trip else None}
        return data


class TripContextView(Wire):
    trip_id: str
    origin: Location
    destination: Location
    started_at: Instant
    expected_arrival_at: Instant
    last_fix: Position | None = None


class IncidentView(Wire):
    """An SOS incident as the control center sees it."""

    incident_id: str
    owner_id: str
    status: IncidentStatus
    kind: EmergencyKind
    trigger: SosTrigger
    agency: str = Field(description="The receiving agency's dispatch target (112, 119, disaster-room).")
    district: DistrictRef | None = Field(None, description="The district it happened in (None outside Seoul).")
    control_center: str | None = Field(None, description="Code of the district control center handling it: where "
                                       "it happened, until an operator hands it over.")
    location: Location
    device_id: str | None = None
    trip: TripContextView | None = None
    cameras: list[NearbyCameraView]
    created_at: Instant
    cancel_deadline_at: Instant
    cancelled_at: Instant | None = None
    escalated_at: Instant | None = None
    dispatched_at: Instant | None = Field(None, description="When the dispatch message was enqueued.")


class IncidentList(Wire):
    incidents: list[IncidentView]


class IncidentQuery(Message):
    status: Literal["pending", "cancelled", "escalated"] | None = Field(None, description="Only incidents in this state.")
    district: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="Only this district's incidents (code); "
                                 "without it an operator's own district comes first.")
    limit: int = Field(100, ge=1, le=500)


class HandoverRequest(Message):
    """Body of POST /v1/incidents/{id}/handover: another district's control center takes the incident."""

    district: str = Field(pattern=r"^[A-Z]{2}$", description="Code of the receiving district (e.g. GN).")
    reason: str = Field(min_length=1, max_length=200, description="Why it is handed over (audited).")
    from_district: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="The control center the operator "
                                      "saw it with: 409 when it has moved since (two hand-overs never both win).")


class EscalationRequest(Message):
    """Body of a message on the sos-escalation queue (delivered after the cancel window)."""

    incident_id: str
    cancel_deadline_ms: EpochMs


class Dispatch112(Message):
    """The payload of an SOS dispatch (on the agency-dispatch queue, POSTed to the agency's webhook): everything
    the receiving situation room (police 112, fire 119, disaster room) needs."""

    incident_id: str = Field(description="Also the receivers' de-duplication key.")
    kind: EmergencyKind
    trigger: SosTrigger = SosTrigger.BUTTON
    agency: str = Field("112", description="Dispatch target: 112, 119 or disaster-room.")
    district: DistrictRef | None = None
    location: PositionFix
    cameras: list[NearbyCamera]
    trip: TripContext | None = None
    reported_ms: EpochMs
    escalated_ms: EpochMs
    caller_principal: str
    evidence_prefix: str = Field(description="Media-bucket prefix of photos/videos the phone uploads.")
    summary: str | None = Field(None, description="One line for the dispatcher, in the agency's language (KST).")
    evidence: list[EvidenceLink] = Field(default_factory=list, description="Added at delivery: one signed link per "
                                         "photo/video, when the agency has a registered range.")

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        return _legacy_trigger(data)


class EvidenceRequest(Message):
    """Body of POST /v1/sos/{id}/evidence: a photo, audio or video from the phone (CCTV blind spots)."""

    content_type: str = Field(pattern=r"^(image/jpeg|image/png|video/mp4|audio/mp4|audio/mpeg)$")


class EvidenceUpload(Message):
    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_s: int
