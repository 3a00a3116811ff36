"""Monitored walks home (safe-return trips) and the position fixes the app streams."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from chalicelib.models.common import EpochMs, Instant, Latitude, Location, Longitude, Message, Wire, epoch_ms

MAX_ROUTE_POINTS = 500
MAX_BATCH_FIXES = 500
RECENT_FIXES = 12


class TripStatus(StrEnum):
    ACTIVE = "active"
    ARRIVED = "arrived"


class PositionFix(Message):
    """One GNSS fix as the phone reports it."""

    t_ms: EpochMs = Field(description="When the fix was taken (device clock, ms since epoch).")
    lat: Latitude
    lon: Longitude
    accuracy_m: float = Field(20.0, gt=0, le=5_000, description="Horizontal accuracy radius (68%), metres.")


class Position(Wire):
    """Where a phone was, and when: one GNSS fix on the API."""

    at: Instant = Field(description="When the fix was taken (device clock).")
    location: Location

    def fix(self) -> PositionFix:
        """The stored fix (already validated: built without a second validation)."""
        accuracy = self.location.accuracy_m
        return PositionFix.model_construct(t_ms=epoch_ms(self.at), lat=self.location.lat, lon=self.location.lon,
                                           accuracy_m=20.0 if accuracy is None else accuracy)


class TripStart(Message):
    """Body of POST /v1/trips."""

    device_id: str = Field(pattern=r"^dev-[0-9a-f]{1,64}$", description="A device registered by this caller.")
    origin: Location
    destination: Location
    route: list[Location] | None = Field(
        None, min_length=2, max_length=MAX_ROUTE_POINTS, description="Planned walking route, origin first.")
    expected_arrival: Instant | None = Field(None, description="Omit to compute it from walking speed.")

    @property
    def expected_arrival_ms(self) -> int | None:
        return None if self.expected_arrival is None else epoch_ms(self.expected_arrival)

    @property
    def route_points(self) -> list[tuple[float, float]] | None:
        return None if self.route is None else [(p.lat, p.lon) for p in self.route]


class PositionBatch(Message):
    """The fixes of one report, as the trip service takes them (any order, duplicates allowed)."""

    positions: list[PositionFix] = Field(min_length=1, max_length=MAX_BATCH_FIXES)


class PositionReport(Message):
    """Body of POST /v1/trips/{id}/positions: fixes in any order, duplicates allowed."""

    positions: list[Position] = Field(min_length=1, max_length=MAX_BATCH_FIXES)

    def batch(self) -> PositionBatch:
        return PositionBatch.model_construct(positions=[p.fix() for p in self.positions])


class Trip(Message):
    trip_id: str
    owner_id: str
    device_id: str
    status: TripStatus
    origin: Location
    destination: Location
    route: list[tuple[float, float]] = Field(description="Planned route; origin → destination when none was given.")
    route_given: bool
    route_length_m: float
    started_ms: EpochMs
    expected_arrival_ms: EpochMs
    arrived_ms: EpochMs | None = None
    last_fix: PositionFix | None = None
    last_seen_ms: EpochMs = Field(description="Server time of the last position batch (or the start).")
    fixes: int = Field(0, description="Fixes received, repeats included.")
    recent_fixes: list[PositionFix] = Field(default_factory=list, max_length=RECENT_FIXES,
                                            description="The newest fixes by time (what the route rule judges).")
    alerts: list[str] = Field(default_factory=list, description="Ids of the alerts this trip raised.")
    created_ms: EpochMs


class PositionsAccepted(Message):
    trip_id: str
    accepted: int
    alerts: list[str] = Field(default_factory=list, description="Alerts raised by this batch.")


class Movement(Message):
    """What a trip's position batches proved about movement, stored beside the trip and never shown to
    its owner: lets the watchdog skip reading the fixes of a trip that is certainly moving."""

    anchor: PositionFix | None = Field(None, description="The usable fix the next ones are measured from.")
    moved_ms: EpochMs | None = Field(None, description="Time of the older fix of the newest pair of usable fixes "
                                                       "too far apart for both to lie in one stationary circle.")
class TripView(Wire):
    """A trip as its owner sees it (answer of the trip routes)."""

    trip_id: str
    device_id: str
    status: TripStatus
    origin: Location
    destination: Location
    route: list[Location] = Field(description="Planned route; origin → destination when none was given.")
    route_given: bool
    route_length_m: float
    started_at: Instant
    expected_arrival_at: Instant
    arrived_at: Instant | None = None
    last_fix: Position | None = None
    last_seen_at: Instant = Field(description="Server time of the last position report (or the start).")
    fixes: int = Field(0, description="Fixes received, repeats included.")
    alerts: list[str] = Field(default_factory=list, description="Ids of the alerts this trip raised.")

    @field_validator("route", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:  # the stored route is (lat, lon) pairs
        return [Location(lat=p[0], lon=p[1]) if isinstance(p, tuple | list) else p for p in value]
