"""AI selective monitoring (선별관제): per-camera rule configuration and the events operators see.

A camera's configuration is a list of rules, each one of five kinds (a discriminated union on
``kind``). Zones are polygons in normalised image coordinates (0..1, origin top-left), so a rule
survives a change of stream resolution; a person is "in" a zone when the bottom centre of the
box (the feet) is. Every rule may be limited to local time-of-day windows.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from chalicelib.models.common import EpochMs, Instant, Location, Message, Wire

CAMERA_ID = r"^[A-Za-z0-9._-]{1,64}$"
RULE_ID = r"^[a-z0-9][a-z0-9-]{0,39}$"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
NormPoint = tuple[Unit, Unit]
Polygon = Annotated[list[NormPoint], Field(min_length=3, max_length=32,
                                           description="Vertices (x, y) in normalised image coordinates.")]


class TimeOfDayWindow(Message):
    """A local time-of-day window ``start`` ≤ t < ``end``; wraps midnight when end ≤ start."""

    start: str = Field(description="HH:MM, local time of the camera.")
    end: str = Field(description="HH:MM, local time; earlier than start means the window wraps midnight.")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("expected HH:MM (00:00..23:59)")
        return value

    def minutes(self) -> tuple[int, int]:
        (sh, sm), (eh, em) = (map(int, self.start.split(":")), map(int, self.end.split(":")))
        return sh * 60 + sm, eh * 60 + em

    def contains(self, minute_of_day: int) -> bool:
        start, end = self.minutes()
        if start == end:
            return True  # the whole day
        if start < end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end


class RuleKind(StrEnum):
    ZONE_INTRUSION = "zone_intrusion"
    LOITERING = "loitering"
    PERSON_DOWN = "person_down"
    CROWDING = "crowding"
    NIGHT_PRESENCE = "night_presence"


DEFAULT_SEVERITY = {RuleKind.PERSON_DOWN: 5, RuleKind.ZONE_INTRUSION: 3, RuleKind.LOITERING: 3,
                    RuleKind.NIGHT_PRESENCE: 3, RuleKind.CROWDING: 2}


class _Rule(Message):
    rule_id: str = Field(pattern=RULE_ID, description="Unique within the camera; names the event's rule.")
    enabled: bool = True
    windows: list[TimeOfDayWindow] = Field(default_factory=list, max_length=8,
                                      description="Local time-of-day windows the rule is active in; empty = always.")
    cooldown_s: float = Field(30.0, ge=0, le=3600, description="A firing this soon after the rule's last event is suppressed.")
    severity: int | None = Field(None, ge=1, le=5, description="1 (minor) .. 5 (life-threatening); default per kind.")
    min_score: float = Field(0.4, ge=0.05, le=1.0, description="Detections below this confidence are ignored.")
    labels: list[str] = Field(default_factory=lambda: ["person"], min_length=1, max_length=8,
                              description="Detector labels the rule looks at.")


class ZoneIntrusionRule(_Rule):
    """Someone's feet enter the polygon (fires once per tracked person per entry)."""

    kind: Literal[RuleKind.ZONE_INTRUSION] = RuleKind.ZONE_INTRUSION
    zone: Polygon


class LoiteringRule(_Rule):
    """Someone stays in the polygon for at least ``dwell_s`` seconds."""

    kind: Literal[RuleKind.LOITERING] = RuleKind.LOITERING
    zone: Polygon
    dwell_s: float = Field(30.0, ge=1, le=3600, description="Seconds inside the zone before the rule fires.")


class PersonDownRule(_Rule):
    """A person seen upright turns into a wide, low box (a fall) and stays so for ``hold_s``."""

    kind: Literal[RuleKind.PERSON_DOWN] = RuleKind.PERSON_DOWN
    upright_ratio: float = Field(1.6, ge=1.0, le=5.0, description="height/width of the person while standing.")
    down_ratio: float = Field(0.9, gt=0.1, le=1.0, description="height/width at or below which the person is down.")
    hold_s: float = Field(2.0, ge=0, le=600, description="Seconds the person must stay down.")


class CrowdingRule(_Rule):
    """At least ``threshold`` people (in ``zone`` if given) for ``hold_s`` seconds."""

    kind: Literal[RuleKind.CROWDING] = RuleKind.CROWDING
    threshold: int = Field(ge=2, le=500, description="People counted at or above which the place is crowded.")
    zone: Polygon | None = None
    hold_s: float = Field(2.0, ge=0, le=600, description="Seconds the count must stay at or above the threshold.")


class NightPresenceRule(_Rule):
    """Anyone present during the night hours (a closed park, school grounds)."""

    kind: Literal[RuleKind.NIGHT_PRESENCE] = RuleKind.NIGHT_PRESENCE
    hours: TimeOfDayWindow = Field(default_factory=lambda: TimeOfDayWindow(start="23:00", end="05:00"),
                              description="Local night hours.")
    zone: Polygon | None = None


Rule = Annotated[ZoneIntrusionRule | LoiteringRule | PersonDownRule | CrowdingRule | NightPresenceRule,
                 Field(discriminator="kind")]


class CameraRules(Message):
    """One camera's selective-monitoring configuration (body of PUT /v1/monitor/cameras/{id}/rules)."""

    rules: list[Rule] = Field(max_length=32)
    utc_offset_minutes: int = Field(540, ge=-720, le=840, description="Local time of the camera (Seoul: +540).")
    sample_fps: float = Field(2.0, ge=0.05, le=10,
                              description="Frames per second analysed from a clip; for stills, their upload rate.")
    confirm_frames: int = Field(2, ge=1, le=10,
                                description="Frames a person must be seen in before a rule counts them (drops flickers); "
                                            "1 for sparse stills.")
    review_s: float = Field(10.0, ge=1, le=300,
                            description="Camera-time an operator spends on one surfaced moment (for the surfaced share).")

    @model_validator(mode="after")
    def _unique_ids(self) -> CameraRules:
        ids = [r.rule_id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique within a camera")
        return self


class CameraRulesRecord(Message):
    camera_id: str = Field(pattern=CAMERA_ID)
    config: CameraRules
    updated_ms: EpochMs
    updated_by: str


class CameraRulesView(Wire):
    """A camera's rules as stored: who set them and when."""

    camera_id: str
    config: CameraRules
    updated_at: Instant
    updated_by: str


# -- events ---------------------------------------------------------------------------------------


class EventStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EventBox(Message):
    """One detection behind an event, normalised to the frame (0..1)."""

    x1: Unit
    y1: Unit
    x2: Unit
    y2: Unit
    score: float = Field(ge=0, le=1)
    label: str
    track_id: int | None = None


class MonitorEvent(Message):
    event_id: str
    camera_id: str = Field(pattern=CAMERA_ID)
    t_ms: EpochMs = Field(description="Time of the frame that fired the rule.")
    rule_id: str
    kind: RuleKind
    score: float = Field(ge=0, le=1, description="Confidence of the firing (mean detection score).")
    severity: int = Field(ge=1, le=5)
    priority: float = Field(ge=0, description="Queue priority; raised while an SOS incident is near the camera.")
    sos_incident_ids: list[str] = Field(default_factory=list, description="Active SOS incidents near the camera.")
    reason: str = Field(max_length=300)
    boxes: list[EventBox] = Field(max_length=64)
    snapshot_key: str | None = Field(None, description="Media-bucket key of the JPEG with the boxes drawn.")
    clip_key: str | None = Field(None, description="Media-bucket key of an MP4 of up to 4 s either side of the "
                                                   "moment, cut from the uploaded clip (none for stills).")
    source_key: str = Field(description="The uploaded frame or clip the event came from.")
    status: EventStatus = EventStatus.OPEN
    raised_ms: EpochMs
    acked_ms: EpochMs | None = None
    acked_by: str | None = None
    resolved_ms: EpochMs | None = None
    resolved_by: str | None = None
    note: str | None = Field(None, max_length=500)


class MonitorEventRecord(Wire):
    """A monitor event as the operator sees it (its media through signed links; the bucket keys stay inside)."""

    event_id: str
    camera_id: str
    at: Instant = Field(description="Time of the frame that fired the rule.")
    rule_id: str
    kind: RuleKind
    score: float = Field(description="Confidence of the firing (mean detection score).")
    severity: int
    priority: float = Field(description="Queue priority; raised while an SOS incident is near the camera.")
    sos_incident_ids: list[str] = Field(default_factory=list, description="Active SOS incidents near the camera.")
    reason: str
    boxes: list[EventBox]
    status: EventStatus
    raised_at: Instant
    acked_at: Instant | None = None
    acked_by: str | None = None
    resolved_at: Instant | None = None
    resolved_by: str | None = None
    note: str | None = None


class MonitorEventView(Wire):
    event: MonitorEventRecord
    location: Location | None = Field(None, description="The camera's position, to draw the event on the map; "
                                                        "none for a camera the registry does not know.")
    snapshot_url: str | None = None
    clip_url: str | None = Field(None, description="Signed link to the event's clip (expires with the snapshot's).")


class MonitorEventList(Wire):
    events: list[MonitorEventView]


class MonitorEventQuery(Message):
    # a Literal (not the enum) keeps the query parameter's schema inline in the OpenAPI document
    status: Literal["open", "acknowledged", "resolved"] | None = Field(
        None, description="Only events in this state; default: open and acknowledged.")
    camera_id: str | None = Field(None, pattern=CAMERA_ID)
    limit: int = Field(50, ge=1, le=500)


class ResolveBody(Message):
    note: str | None = Field(None, max_length=500)
