"""Safe-return trips: POST /v1/trips, POST /v1/trips/{id}/positions, POST /v1/trips/{id}/arrive,
GET /v1/trips/{id}. App principals only; another device's trip answers 404."""

from __future__ import annotations

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.guards import idempotent_create, limit
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.trip import PositionReport, PositionsAccepted, TripStart, TripView

trips = Blueprint(__name__)


@endpoint(trips, "/v1/trips", methods=["POST"], allow={PrincipalKind.APP}, status=201, idempotent=True)
def start_trip(caller: Caller, request: Request, *, body: TripStart) -> TripView:
    """Start a monitored walk home; the guardians are told (Idempotency-Key honoured)."""
    service = platform().saferet.trips
    return idempotent_create(
        caller, request, scope="trip", prefix="trip", body=body, buckets=("api",),
        create=lambda trip_id: TripView.model_validate(service.start(caller.id, trip_id, body, now_ms())))


@endpoint(trips, "/v1/trips/{trip_id}/positions", methods=["POST"], allow={PrincipalKind.APP})
def add_positions(caller: Caller, request: Request, trip_id: str, *, body: PositionReport) -> PositionsAccepted:
    """A batch of GPS fixes (any order, repeats allowed); answers the alerts it raised."""
    limit(caller, "api")
    return platform().saferet.trips.add_positions(caller.id, trip_id, body.batch(), now_ms())


@endpoint(trips, "/v1/trips/{trip_id}/arrive", methods=["POST"], allow={PrincipalKind.APP})
def arrive(caller: Caller, request: Request, trip_id: str) -> TripView:
    """Arrived home: monitoring stops and the guardians are told."""
    limit(caller, "api")
    return TripView.model_validate(platform().saferet.trips.arrive(caller.id, trip_id, now_ms()))


@endpoint(trips, "/v1/trips/{trip_id}", allow={PrincipalKind.APP})
def get_trip(caller: Caller, request: Request, trip_id: str) -> TripView:
    """One of the caller's own trips."""
    limit(caller, "api")
    return TripView.model_validate(platform().saferet.trips.get(trip_id, caller.id))
