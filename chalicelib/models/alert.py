"""Alerts the control center sees (and calls the citizen back about)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from chalicelib.models.camera import NearbyCamera, NearbyCameraView
from chalicelib.models.common import EpochMs, Instant, Message, Wire
from chalicelib.models.protected import SearchSeed, SearchSeedView
from chalicelib.models.trip import Position, PositionFix


class AlertKind(StrEnum):
    OFF_ROUTE = "off-route"
    STATIONARY = "stationary"
    SILENT = "silent"
    OVERDUE = "overdue"
    SOS = "sos"
    SOS_ESCALATED = "sos-escalated"
    ZONE_EXIT = "zone-exit"
    DISPATCH_UNACKNOWLEDGED = "dispatch-unacknowledged"  # urgent: an agency has not taken a dispatch


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"  # handled: it leaves the queue, the record and its resolution stay


class Alert(Message):
    alert_id: str
    kind: AlertKind
    status: AlertStatus = AlertStatus.OPEN
    subject_owner_id: str = Field(description="The app principal the alert is about.")
    trip_id: str | None = None
    incident_id: str | None = None
    district: str | None = Field(None, description="Code of the district (gu) whose control center handles it.")
    reason: str = Field(max_length=500)
    last_position: PositionFix | None = None
    cameras: list[NearbyCamera] = Field(default_factory=list)
    raised_ms: EpochMs
    acked_ms: EpochMs | None = None
    acked_by: str | None = None
    resolved_at: AwareDatetime | None = Field(None, description="When an operator resolved it (RFC 3339).")
    resolved_by: str | None = Field(None, description="The operator who resolved it.")
    resolution_note: str | None = Field(None, max_length=500, description="What was done, in the operator's words.")
    search: SearchSeed | None = Field(None, description="Zone exits: everything a missing-person search needs.")


class AlertView(Wire):
    """An alert as the control center sees it."""

    alert_id: str
    kind: AlertKind
    status: AlertStatus
    subject_owner_id: str = Field(description="The app principal the alert is about.")
    trip_id: str | None = None
    incident_id: str | None = None
    district: str | None = Field(None, description="Code of the district (gu) whose control center handles it.")
    reason: str
    last_position: Position | None = None
    cameras: list[NearbyCameraView] = Field(default_factory=list)
    raised_at: Instant
    acked_at: Instant | None = None
    acked_by: str | None = None
    resolved_at: Instant | None = Field(None, description="When an operator resolved it.")
    resolved_by: str | None = Field(None, description="The operator who resolved it.")
    resolution_note: str | None = Field(None, description="What was done, in the operator's words.")
    search: SearchSeedView | None = Field(None, description="Zone exits: what a missing-person search starts from.")


class AlertList(Wire):
    alerts: list[AlertView]


class RaisedAlert(Wire):
    """An alert as the citizen whose report raised it sees it."""

    alert_id: str
    kind: AlertKind
    reason: str
    last_position: Position | None = None
    raised_at: Instant


class RaisedAlerts(Wire):
    alerts: list[RaisedAlert]


class AlertQuery(Message):
    status: Literal["open", "acknowledged", "resolved"] | None = Field(
        None, description="Only alerts in this state; default: open and acknowledged (resolved ones left the queue).")
    district: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="Only this district's alerts (code); "
                                 "without it an operator's own district comes first.")
    limit: int = Field(100, ge=1, le=500)


class AlertResolution(Message):
    """Body of POST /v1/alerts/{id}/resolve."""

    note: str | None = Field(None, max_length=500, description="What was done (shown in the alert's history).")
