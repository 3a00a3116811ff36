"""Protected persons (children, people with dementia) and their safe zones."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from chalicelib.models.common import EpochMs, Instant, Location, Message, Wire
from chalicelib.models.trip import MAX_BATCH_FIXES, Position, PositionBatch, PositionFix

_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class PersonKind(StrEnum):
    CHILD = "child"
    DEMENTIA = "dementia"
    OTHER = "other"


class ZoneHours(Message):
    """When a zone applies, in Korea Standard Time; ``start > end`` wraps past midnight."""

    start: str = Field(pattern=_HHMM, description="HH:MM, KST.")
    end: str = Field(pattern=_HHMM, description="HH:MM, KST (exclusive).")
    days: list[int] = Field(default_factory=lambda: list(range(7)), min_length=1, max_length=7,
                            description="Weekdays, Monday = 0.")

    @model_validator(mode="after")
    def _check(self) -> ZoneHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        if any(not 0 <= d <= 6 for d in self.days):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return self


class SafeZone(Message):
    """A circle (``center`` + ``radius_m``) or a polygon, optionally only during some hours."""

    name: str = Field(min_length=1, max_length=64)
    center: Location | None = None
    radius_m: float | None = Field(None, ge=20, le=20_000)
    polygon: list[Location] | None = Field(None, min_length=3, max_length=200, description="Corners, in order.")
    hours: list[ZoneHours] = Field(default_factory=list, max_length=7, description="Empty = always.")

    @model_validator(mode="after")
    def _one_shape(self) -> SafeZone:
        circle = self.center is not None and self.radius_m is not None
        if circle == (self.polygon is not None) or (self.center is None) != (self.radius_m is None):
            raise ValueError("a zone is either center + radius_m or a polygon")
        return self

    @property
    def ring(self) -> list[tuple[float, float]]:
        """The polygon's corners as (lat, lon) pairs."""
        return [(p.lat, p.lon) for p in self.polygon or ()]


class ProtectedRegistration(Message):
    """Body of POST /v1/protected (by the guardian's app)."""

    name: str = Field(min_length=1, max_length=64)
    kind: PersonKind
    description: str | None = Field(None, max_length=500, description="Height, clothing, what helps find them.")
    zones: list[SafeZone] = Field(min_length=1, max_length=20)


class PhotoUpload(Message):
    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int


class ProtectedPerson(Message):
    person_id: str
    owner_id: str
    name: str
    kind: PersonKind
    description: str | None = None
    zones: list[SafeZone]
    photo_key: str
    last_fix: PositionFix | None = None
    outside_since_ms: EpochMs | None = Field(None, description="Start of the current exit, if outside.")
    alerts: list[str] = Field(default_factory=list)
    created_ms: EpochMs


class ProtectedPersonView(Wire):
    """A protected person as their guardian sees them."""

    person_id: str
    name: str
    kind: PersonKind
    description: str | None = None
    zones: list[SafeZone]
    last_fix: Position | None = None
    outside_since_at: Instant | None = Field(None, description="Start of the current exit, if outside.")
    alerts: list[str] = Field(default_factory=list)
    created_at: Instant


class ProtectedCreated(Message):
    person: ProtectedPerson
    photo_upload: PhotoUpload


class ProtectedCreatedView(Wire):
    """Answer of POST /v1/protected: the person and where to upload their photo."""

    person: ProtectedPersonView
    photo_upload: PhotoUpload


class ProtectedPositions(Message):
    """Body of POST /v1/protected/{id}/positions (their phone or wearable)."""

    positions: list[Position] = Field(min_length=1, max_length=MAX_BATCH_FIXES)

    def batch(self) -> PositionBatch:
        return PositionBatch.model_construct(positions=[p.fix() for p in self.positions])


class SearchSeed(Message):
    """What a missing-person search needs, carried by a zone-exit alert."""

    person_id: str
    name: str
    kind: PersonKind
    description: str | None = None
    photo_key: str = Field(description="Object key of the registered photo (media bucket).")
    last_seen: PositionFix


class SearchSeedView(Wire):
    """A zone-exit alert's missing-person search seed, as the control center sees it."""

    person_id: str
    name: str
    kind: PersonKind
    description: str | None = None
    last_seen: Position
