"""Protected persons: POST /v1/protected, GET /v1/protected/{id}, POST /v1/protected/{id}/positions
(the guardian's app principal; another owner's person answers 404)."""

from __future__ import annotations

import secrets

from chalice.app import Blueprint, Request

from chalicelib.api.context import platform
from chalicelib.api.guards import limit
from chalicelib.api.http import Caller, endpoint
from chalicelib.clock import now_ms
from chalicelib.models.alert import AlertList
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.protected import ProtectedCreated, ProtectedPerson, ProtectedPositions, ProtectedRegistration

protected = Blueprint(__name__)


@endpoint(protected, "/v1/protected", methods=["POST"], allow={PrincipalKind.APP}, status=201)
def register_person(caller: Caller, request: Request, *, body: ProtectedRegistration) -> ProtectedCreated:
    """Register a protected person with safe zones; answers a presigned upload for their photo."""
    limit(caller, "api")
    return platform().saferet.protected.register(caller.id, f"pp-{secrets.token_hex(8)}", body, now_ms())


@endpoint(protected, "/v1/protected/{person_id}", allow={PrincipalKind.APP})
def get_person(caller: Caller, request: Request, person_id: str) -> ProtectedPerson:
    """One of the caller's own protected persons."""
    limit(caller, "api")
    return platform().saferet.protected.get(person_id, caller.id)


@endpoint(protected, "/v1/protected/{person_id}/positions", methods=["POST"], allow={PrincipalKind.APP})
def person_positions(caller: Caller, request: Request, person_id: str, *, body: ProtectedPositions) -> AlertList:
    """Fixes from their phone or wearable; answers the zone-exit alerts raised."""
    limit(caller, "api")
    return AlertList(alerts=platform().saferet.protected.add_positions(caller.id, person_id, body, now_ms()))
